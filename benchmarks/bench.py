"""vaesvm performance benchmark: ratios against references measured in the same run.

1. One 60k-image training epoch: ``VAETransformer.fit`` vs. a bare PyTorch loop of the
   identical model, loss and optimizer at the same batch size (and skorch's default
   DataLoader as the "before" reference). Interleaved repeats, medians.
2. Achieved training FLOP/s (matmul FLOPs of the model) as a fraction of this machine's
   float32 ``torch.mm`` rate, measured here.
3. ``transform`` throughput (without propagation) vs. a bare ``torch.no_grad()``
   encoder pass; 3b. what embedding propagation adds to ``fit`` (the graph of 60k codes)
   and to ``transform`` (10,000 new codes), as multiples of that encoder pass.
4. Peak memory of ``fit`` on 70,000 x 784 float32, in a fresh subprocess.
5. ``GridSearchCV``: 2 VAE settings x 4 SVC settings x 3 folds with and without
   ``Pipeline(memory=...)`` (VAE fits counted), and ``n_jobs=1`` vs ``n_jobs=2``.

Usage: python benchmarks/bench.py [--repeats 3] [--skip-grid]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from unittest import mock

import numpy as np
import torch
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from skorch.dataset import Dataset
from torch.utils.data import DataLoader

from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm._model import VAE, ELBOLoss
from vaesvm._net import VAENet, fit_seeded
from vaesvm._propagation import nearest_neighbors, propagate, smooth
from vaesvm.study.experiments import M1_PARAMS


def bare_epoch(X: torch.Tensor, batch_size: int, seed: int) -> float:
    """Time one epoch of a hand-written loop over shuffled tensor slices."""
    torch.manual_seed(seed)
    model = VAE(X.shape[1])
    criterion = ELBOLoss(1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    perm = torch.randperm(len(X))
    for a in range(0, len(X), batch_size):
        xb = X[perm[a:a + batch_size]]
        optimizer.zero_grad()
        loss = criterion(*model.elbo_terms(xb, model(xb)))
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def vaesvm_epoch(X: np.ndarray, batch_size: int, seed: int) -> float:
    """Time ``VAETransformer.fit`` for one epoch (validation and set-up included)."""
    # the plain M1 VAE: the bare loop it is compared with is that model
    vae = VAETransformer(max_epochs=1, kl_warmup_epochs=0, batch_size=batch_size,
                         device="cpu", random_state=seed, **M1_PARAMS)
    start = time.perf_counter()
    vae.fit(X)
    return time.perf_counter() - start


def dataloader_epoch(X: np.ndarray, batch_size: int, seed: int) -> float:
    """Time the same net with skorch's default Dataset + DataLoader (the 'before')."""
    torch.manual_seed(seed)
    net = VAENet(VAE, ELBOLoss, module__n_features=X.shape[1], optimizer=torch.optim.Adam,
                 lr=1e-3, max_epochs=1, batch_size=batch_size, iterator_train=DataLoader,
                 iterator_train__shuffle=True, dataset=Dataset, train_split=None, verbose=0)
    net.get_dataset = lambda X, y=None: Dataset(X, y)  # undo the tensor dataset
    start = time.perf_counter()
    net.fit(X)
    return time.perf_counter() - start


def train_flops_per_sample(model: VAE) -> int:
    """Matmul FLOPs of one forward + backward pass per sample.

    Forward 2*in*out per linear layer; backward the same for the weight gradient and
    again for the input gradient, except at the first layer (the data needs none).
    """
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    first = model.encoder[0]
    return sum((4 if m is first else 6) * m.in_features * m.out_features for m in linears)


def peak_mm_flops(n: int = 4096, repeats: int = 5) -> float:
    """Measured float32 ``torch.mm`` rate in FLOP/s on square n x n matrices."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def propagation_seconds(vae: VAETransformer, X: np.ndarray, repeats: int) -> tuple[float, float]:
    """Median seconds of what propagation adds to ``fit`` and to ``transform``.

    ``fit``: the 10-nearest-neighbour graph of the codes of ``X`` and 10 steps;
    ``transform``: the neighbours of 10,000 new codes and one step.
    """
    codes = torch.from_numpy(vae.encode(X))
    graph, new = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        F = propagate(codes, nearest_neighbors(codes, codes, 10), 0.9, 10)
        graph.append(time.perf_counter() - start)
        start = time.perf_counter()
        smooth(codes[:10000], nearest_neighbors(codes[:10000], codes, 10), F, 0.9)
        new.append(time.perf_counter() - start)
    return statistics.median(graph), statistics.median(new)


def bare_transform(model: torch.nn.Module, X: torch.Tensor, batch_size: int) -> float:
    """Time a bare no-grad encoder pass returning the latent means as numpy."""
    start = time.perf_counter()
    model.eval()
    with torch.no_grad():
        out = [model.encode(X[a:a + batch_size])[0] for a in range(0, len(X), batch_size)]
    torch.cat(out).numpy()
    return time.perf_counter() - start


_MEMORY_SCRIPT = """
import numpy as np
from vaesvm import VAETransformer, load_fashion_mnist
from vaesvm.study.experiments import M1_PARAMS
def kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
d = load_fashion_mnist()
X = np.concatenate([d.X_train, d.X_test]); del d
vae = VAETransformer(max_epochs=1, device="cpu", random_state=0, **M1_PARAMS)
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to now
before = kib("VmRSS")
vae.fit(X)
print(X.nbytes / 2**20, before / 1024, kib("VmHWM") / 1024)
"""


def fit_memory() -> tuple[float, float, float]:
    """Data MiB, RSS before fit MiB, peak RSS during fit MiB (fresh process)."""
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT], capture_output=True,
                         text=True, check=True).stdout.split()
    return tuple(float(v) for v in out)


def grid_search(X_lab, y_lab, X_unl, *, memory=None, n_jobs=None
                ) -> tuple[int | None, float]:
    """Run the 2 x 4 x 3 grid search; return (VAE trainings, seconds).

    Trainings are counted as calls of the one training entry point,
    ``vaesvm._net.fit_seeded`` (a cache hit of ``Pipeline(memory=...)`` trains
    nothing); only in this process, so the count is None when ``n_jobs`` runs
    workers.
    """
    pipe = Pipeline([("vae", VAETransformer(max_epochs=5, kl_warmup_epochs=2, random_state=0)),
                     ("svc", SVC())], memory=memory)
    grid = {"vae__n_components": [20, 50], "svc__C": [1, 10], "svc__gamma": ["scale", 0.01]}
    search = GridSearchCV(pipe, grid, cv=3, refit=False, n_jobs=n_jobs)
    in_process = n_jobs in (None, 1)
    start = time.perf_counter()
    with mock.patch("vaesvm._transformer.fit_seeded", wraps=fit_seeded) as trainings:
        search.fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
    seconds = time.perf_counter() - start
    return (trainings.call_count if in_process else None), seconds


def main() -> None:
    """Run every benchmark and print one line per measurement plus the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--skip-grid", action="store_true", help="skip item 5")
    args = parser.parse_args()

    data = load_fashion_mnist()
    X = data.X_train
    X_t = torch.from_numpy(X)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, X {X.shape} "
          f"{X.dtype}; medians of {args.repeats} interleaved runs", flush=True)

    peak = peak_mm_flops()
    flops = train_flops_per_sample(VAE(X.shape[1])) * len(X)
    print(f"[2] float32 torch.mm 4096^3: {peak / 1e9:.1f} GFLOP/s; model: "
          f"{flops / 1e9:.1f} GFLOP per 60k-image training epoch")
    for bs in args.batch_sizes:
        times = {"bare": [], "vaesvm": [], "dataloader": []}
        for rep in range(args.repeats):
            times["bare"].append(bare_epoch(X_t, bs, rep))
            times["vaesvm"].append(vaesvm_epoch(X, bs, rep))
            times["dataloader"].append(dataloader_epoch(X, bs, rep))
        b, o, d = (statistics.median(times[k]) for k in ("bare", "vaesvm", "dataloader"))
        print(f"[1] epoch, batch {bs:5d}: bare loop {b:6.2f} s | VAETransformer {o:6.2f} s, "
              f"ratio {o / b:.3f} | skorch DataLoader {d:6.2f} s, ratio {d / b:.3f}")
        print(f"[2] batch {bs:5d}: VAETransformer {flops / o / 1e9:6.1f} GFLOP/s = "
              f"{flops / o / peak:.0%} of torch.mm (bare loop {flops / b / peak:.0%})",
              flush=True)

    # the encoder pass itself: embedding propagation is timed separately ([3b])
    vae = VAETransformer(max_epochs=1, device="cpu", random_state=0,
                         propagation_alpha=0.0).fit(X[:2048])
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_transform(vae.net_.module_, X_t, 4096))
        start = time.perf_counter()
        vae.transform(X)
        ours.append(time.perf_counter() - start)
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"[3] transform 60k: bare encoder {len(X) / b:8.0f} img/s | VAETransformer "
          f"{len(X) / o:8.0f} img/s, time ratio {o / b:.3f}", flush=True)
    graph, new = propagation_seconds(vae, X, args.repeats)
    print(f"[3b] embedding propagation: graph of {len(X)} codes {graph:.2f} s = "
          f"{graph / b:.2f}x the bare encoder pass over them; mapping 10,000 new codes "
          f"{new:.2f} s = {new / b:.2f}x", flush=True)

    data_mib, before, peak_rss = fit_memory()
    print(f"[4] fit on 70000 x 784 float32 ({data_mib:.0f} MiB): RSS before fit "
          f"{before:.0f} MiB, peak during fit {peak_rss:.0f} MiB, added by fit "
          f"{peak_rss - before:.0f} MiB", flush=True)

    if args.skip_grid:
        return
    lab, unl = make_semi_supervised_split(data.y_train[:10000], 1000, random_state=0)
    X_lab, y_lab, X_unl = X[lab], data.y_train[lab], X[unl]
    print(f"[5] grid: 2 VAE x 4 SVC settings x 3 folds, {len(lab)} labeled + {len(unl)} "
          "unlabeled images, 5 epochs", flush=True)
    with tempfile.TemporaryDirectory() as cache:
        fits_mem, t_mem = grid_search(X_lab, y_lab, X_unl, memory=cache)
    fits_plain, t_plain = grid_search(X_lab, y_lab, X_unl)
    print(f"[5] with memory: {fits_mem} VAE fits, {t_mem:.1f} s | without: {fits_plain} "
          f"VAE fits, {t_plain:.1f} s | time ratio {t_mem / t_plain:.2f}", flush=True)
    _, t2 = grid_search(X_lab, y_lab, X_unl, n_jobs=2)
    print(f"[5] without memory, n_jobs=2: {t2:.1f} s vs n_jobs=1 {t_plain:.1f} s, "
          f"speed-up {t_plain / t2:.2f}x")


if __name__ == "__main__":
    main()
