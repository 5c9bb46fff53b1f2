"""vaesvm performance benchmark: ratios against references measured in the same run.

1. One 60k-image training epoch of the plain M1 VAE: ``VAETransformer.fit`` vs. a bare
   PyTorch loop of the identical model, loss and optimizer (Adam, fused where torch has
   the kernel, as ``fit`` runs it) at the same batch size (and skorch's default
   DataLoader as the "before" reference; at batch 256 also the bare loop with plain
   unfused Adam, earlier releases' reference). Interleaved repeats, medians.
1d. One 60k-image epoch of the default ``VAETransformer`` (100 labels + 59,900
   unlabeled: conv encoder, 64 labeled rows added to every batch, shifts and flips,
   denoising target, classifier head) vs. a bare loop of the identical model,
   augmentation and loss, in float32 and under bfloat16 autocast; and each as a
   multiple of the bare float32 M1 epoch of item 1 (batch 256), timed again in the
   same interleaved loop.
2. Achieved training FLOP/s (matmul and convolution FLOPs of the model) as a fraction
   of this machine's float32 ``torch.mm`` rate, measured here.
3. ``transform`` throughput (without propagation) vs. a bare ``torch.no_grad()``
   encoder pass; 3b. what embedding propagation adds to ``fit`` (the graph of 60k codes)
   and to ``transform`` (10,000 new codes), as multiples of that encoder pass; the graph
   also as a fraction of the default epoch of item 1d (at the default precision).
4. Peak memory of ``fit`` on 70,000 x 784 float32, in a fresh subprocess: the M1 model
   and the default model (100 labels, propagation graph included; and without it); and
   the same first fit on 3,000 images (what a process pays once, for torch's kernels
   and buffers, whatever the data).
5. ``GridSearchCV``: 2 VAE settings x 4 SVC settings x 3 folds with and without
   ``Pipeline(memory=...)`` (VAE fits counted), and ``n_jobs=1`` vs ``n_jobs=2``.

Usage: python benchmarks/bench.py [--repeats 3] [--skip-grid] [--threads N]
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
from vaesvm._augment import ImageAugment
from vaesvm._callbacks import KLWarmup
from vaesvm._model import VAE, ELBOLoss
from vaesvm._net import VAENet, fit_seeded, has_fused_adam
from vaesvm._options import (bfloat16_is_native, max_shift, resolve_label_weight,
                             resolve_precision)
from vaesvm._propagation import nearest_neighbors, propagate, smooth
from vaesvm.study.experiments import M1_PARAMS


#: Adam as ``fit`` runs it on this machine's CPU: fused where torch has the kernel.
FUSED = has_fused_adam("cpu")


def bare_epoch(X: torch.Tensor, batch_size: int, seed: int, fused: bool = FUSED) -> float:
    """Time one epoch of a hand-written loop over shuffled tensor slices.

    ``fused=False``: plain ``torch.optim.Adam``, the reference of releases before
    ``fit`` used the fused kernel.
    """
    torch.manual_seed(seed)
    model = VAE(X.shape[1])
    criterion = ELBOLoss(1.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
    model.train()
    start = time.perf_counter()
    perm = torch.randperm(len(X))
    for a in range(0, len(X), batch_size):
        xb = X.index_select(0, perm[a:a + batch_size])  # as fit gathers a batch
        optimizer.zero_grad()
        loss = criterion(*model.elbo_terms(xb, model(xb)))
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def vaesvm_epoch(X: np.ndarray, batch_size: int, seed: int) -> float:
    """Time ``VAETransformer.fit`` for one epoch (validation and set-up included)."""
    # the plain M1 VAE in float32: the bare loop it is compared with is that model
    vae = VAETransformer(max_epochs=1, kl_warmup_epochs=0, batch_size=batch_size,
                         device="cpu", random_state=seed, precision="float32", **M1_PARAMS)
    start = time.perf_counter()
    vae.fit(X)
    return time.perf_counter() - start


def dataloader_epoch(X: np.ndarray, batch_size: int, seed: int) -> float:
    """Time the same net with skorch's default Dataset + DataLoader (the 'before')."""
    torch.manual_seed(seed)
    net = VAENet(VAE, ELBOLoss, module__n_features=X.shape[1], optimizer=torch.optim.Adam,
                 optimizer__fused=FUSED, lr=1e-3, max_epochs=1, batch_size=batch_size,
                 iterator_train=DataLoader,
                 iterator_train__shuffle=True, dataset=Dataset, train_split=None, verbose=0)
    net.get_dataset = lambda X, y=None: Dataset(X, y)  # undo the tensor dataset
    start = time.perf_counter()
    net.fit(X)
    return time.perf_counter() - start


#: The default model's training data: this many labels, the other rows unlabeled.
DEFAULT_LABELS = 100

#: The default estimator's parameters (batch sizes, learning rate, warm-up), read
#: by the bare loop so that it trains what ``VAETransformer()`` trains.
DEFAULTS = VAETransformer().get_params()

#: Fashion-MNIST's image shape, and the shift the rules give it.
IMAGE_SHAPE = (1, 28, 28)


def default_targets(y_all: np.ndarray) -> np.ndarray:
    """``y_all`` with :data:`DEFAULT_LABELS` labels kept (a stratified draw) and -1 elsewhere."""
    labeled = make_semi_supervised_split(y_all, DEFAULT_LABELS, random_state=0)[0]
    y = np.full(len(y_all), -1)
    y[labeled] = y_all[labeled]
    return y


def encoder_vae(X: np.ndarray) -> VAETransformer:
    """The M1 VAE of items 3 and 3b: one epoch on 2,048 images, propagation off."""
    return VAETransformer(max_epochs=1, device="cpu", random_state=0,
                          propagation_alpha=0.0).fit(X[:2048])


def default_vae(seed: int, precision: str) -> VAETransformer:
    """The default ``VAETransformer`` for one epoch, propagation off (timed in [3b])."""
    return VAETransformer(max_epochs=1, device="cpu", random_state=seed, precision=precision,
                          propagation_alpha=0.0)


def bare_default_epoch(X: torch.Tensor, y: torch.Tensor, seed: int, precision: str,
                       label_weight: float, kl_weight: float) -> float:
    """Time one epoch of a hand-written loop of the default model, as ``fit`` trains it.

    The same module (conv encoder, classifier head), each batch ``batch_size``
    shuffled rows plus ``labeled_batch_size`` rows drawn from the labeled ones
    (the estimator's defaults), shifted as the rules shift 28 x 28 images and
    flipped (as for clothes), the loss scoring the un-augmented images, Adam.
    """
    gen = torch.Generator().manual_seed(seed)
    model = VAE(X.shape[1], n_classes=10, encoder="conv", image_shape=IMAGE_SHAPE,
                generator=gen)
    model.noise_generator = gen
    criterion = ELBOLoss(kl_weight, label_weight)
    augment = ImageAugment(IMAGE_SHAPE, flip=True, max_shift=max_shift(IMAGE_SHAPE))
    optimizer = torch.optim.Adam(model.parameters(), lr=DEFAULTS["learning_rate"], fused=FUSED)
    labeled = torch.nonzero(y >= 0).flatten()
    batch, extra = DEFAULTS["batch_size"], DEFAULTS["labeled_batch_size"]
    model.train()
    start = time.perf_counter()
    perm = torch.randperm(len(X), generator=gen)
    for a in range(0, len(X), batch):
        idx = torch.cat([perm[a:a + batch], labeled[torch.randint(0, len(labeled), (extra,),
                                                                  generator=gen)]])
        xb, yb = X.index_select(0, idx), y.index_select(0, idx)
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            outputs = model(augment(xb, gen))
        outputs = tuple(out.float() for out in outputs)
        classification = torch.nn.functional.cross_entropy(model.classify(outputs[1]), yb,
                                                           ignore_index=-1)
        loss = criterion(*model.elbo_terms(xb, outputs), classification)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def vaesvm_default_epoch(X: np.ndarray, y: np.ndarray, seed: int, precision: str) -> float:
    """Time ``fit`` of the default model for one epoch (validation and rules included)."""
    vae = default_vae(seed, precision)
    start = time.perf_counter()
    vae.fit(X, y)
    return time.perf_counter() - start


def train_flops_per_sample(model: VAE, image_shape: tuple[int, int, int] | None = None) -> int:
    """Matmul and convolution FLOPs of one forward + backward pass per sample.

    Forward 2 * multiply-adds per linear or convolution layer; backward the same
    for the weight gradient and again for the input gradient, except at the first
    layer (the data need none). Convolution sizes are read from a forward pass of
    one image of ``image_shape``.
    """
    macs: dict[torch.nn.Module, int] = {}

    def count(module, inputs, output):
        if isinstance(module, torch.nn.Linear):
            macs[module] = module.in_features * module.out_features
        else:
            kernel = module.weight[0].numel()  # c_in * kh * kw
            macs[module] = output[0].numel() * kernel

    layers = [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    hooks = [m.register_forward_hook(count) for m in layers]
    model.eval()
    with torch.no_grad():
        x = torch.zeros(1, model.output.out_features)
        model.classify(model(x)[1]) if model.n_classes else model(x)
    for hook in hooks:
        hook.remove()
    first = layers[0]
    return sum((4 if m is first else 6) * n for m, n in macs.items())


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
import sys
import numpy as np
import torch
import vaesvm._transformer as transformer
from vaesvm import VAETransformer, load_fashion_mnist
from vaesvm.study.experiments import M1_PARAMS
def mib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
d = load_fashion_mnist()
X = np.concatenate([d.X_train, d.X_test])
y = np.full(len(X), -1)
y[:100] = d.y_train[:100]  # 100 labels (the default model's semi-supervised fit)
del d
model, rows, warm = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "warm"
params = {"M1": dict(M1_PARAMS), "default": {},
          "default, propagation off": {"propagation_alpha": 0.0}}[model]
y = None if model == "M1" else y
if warm:  # torch.optim's first use, as in any process that has trained a torch model
    weight = torch.zeros(1, requires_grad=True)
    weight.grad = torch.zeros_like(weight)
    torch.optim.Adam([weight]).step()
train = {}  # the peak when training starts (validation and the net built) and ends
fit_seeded = transformer.fit_seeded
def traced_fit_seeded(*args, **kwargs):
    train["start"] = mib("VmHWM")
    net = fit_seeded(*args, **kwargs)
    train["end"] = mib("VmHWM")
    return net
transformer.fit_seeded = traced_fit_seeded
vae = VAETransformer(max_epochs=1, device="cpu", random_state=0, **params)
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to now
before = mib("VmRSS")
vae.fit(X[:rows], None if y is None else y[:rows])
peak = mib("VmHWM")
print(X[:rows].nbytes / 2**20, before, train["start"], train["end"], peak)
"""


def fit_memory(model: str, rows: int = 70000, warm: bool = False) -> dict[str, float]:
    """What ``fit`` adds to a fresh process's peak resident memory, in MiB, by phase.

    ``model``: ``"M1"`` (the plain VAE, no labels), ``"default"`` (the default
    ``VAETransformer`` with 100 labels, propagation graph included) or
    ``"default, propagation off"`` (the same without the graph). ``rows``: the
    first rows of the 70,000 Fashion-MNIST images. ``warm``: one step of a torch
    optimizer first, whose first use imports ``torch._dynamo`` and sympy (paid
    once per process by any torch training code).

    Returns ``data`` (MiB of the images), ``before`` (RSS before ``fit``) and the
    peak above ``before`` at the end of ``build`` (validation and the net; for a
    cold process it includes that import), ``train`` (the end of training) and
    ``fit`` (the end of ``fit``: the graph's encoding and search).
    """
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, model, str(rows),
                          "warm" if warm else "cold"],
                         capture_output=True, text=True, check=True).stdout.split()
    data, before, built, trained, peak = (float(v) for v in out)
    return {"data": data, "before": before, "build": built - before,
            "train": trained - before, "fit": peak - before}


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


def default_epochs(X: np.ndarray, y_all: np.ndarray, repeats: int, peak: float
                   ) -> dict[str, float]:
    """Item 1d (and its FLOP/s, item 2d): the default model, float32 and bfloat16.

    Every repeat also times the bare float32 M1 loop of item 1 at the default
    batch size (with Adam as ``fit`` runs it and, where that is the fused kernel,
    with plain Adam), so the default epoch is compared with M1 epochs measured
    next to it rather than minutes earlier. Returns the median ``VAETransformer``
    epoch per precision.
    """
    y = default_targets(y_all)
    n_labeled = int((y >= 0).sum())
    label_weight = resolve_label_weight("auto", n_labeled)
    kl_weight = KLWarmup(1.0, DEFAULTS["kl_warmup_epochs"]).weight_at(0)  # first epoch
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    model = VAE(X.shape[1], n_classes=10, encoder="conv", image_shape=IMAGE_SHAPE)
    # every batch gets labeled_batch_size extra labeled rows
    rows = len(X) + DEFAULTS["labeled_batch_size"] * -(-len(X) // DEFAULTS["batch_size"])
    flops = train_flops_per_sample(model) * rows
    print(f"[1d] default model: {n_labeled} labels + {len(X) - n_labeled} unlabeled, "
          f"{rows} rows per epoch, {flops / 1e9:.1f} GFLOP per epoch", flush=True)
    precisions = ["float32", "bfloat16"]
    times: dict[tuple[str, str], list[float]] = {(p, k): [] for p in precisions
                                                 for k in ("bare", "vaesvm")}
    m1: dict[bool, list[float]] = {FUSED: [], False: []}
    for rep in range(repeats):
        for fused in m1:
            m1[fused].append(bare_epoch(X_t, DEFAULTS["batch_size"], rep, fused=fused))
        for p in precisions:
            times[p, "bare"].append(bare_default_epoch(X_t, y_t, rep, p, label_weight,
                                                       kl_weight))
            times[p, "vaesvm"].append(vaesvm_default_epoch(X, y, rep, p))
    m1_bare, m1_unfused = statistics.median(m1[FUSED]), statistics.median(m1[False])
    print(f"[1d] bare float32 M1 epoch in the same loop: {m1_bare:6.2f} s"
          + (f" (plain Adam {m1_unfused:6.2f} s)" if FUSED else ""), flush=True)
    epochs = {}
    for p in precisions:
        b, o = statistics.median(times[p, "bare"]), statistics.median(times[p, "vaesvm"])
        epochs[p] = o
        versus = f" | {o / m1_bare:.2f}x the bare float32 M1 epoch"
        if FUSED:
            versus += f" ({o / m1_unfused:.2f}x with plain Adam)"
        print(f"[1d] default epoch, {p:8s}: bare loop {b:6.2f} s | VAETransformer {o:6.2f} s, "
              f"ratio {o / b:.3f}{versus}")
        print(f"[2d] default, {p:8s}: VAETransformer {flops / o / 1e9:6.1f} GFLOP/s = "
              f"{flops / o / peak:.0%} of float32 torch.mm (bare loop {flops / b / peak:.0%})",
              flush=True)
    return epochs


def main() -> None:
    """Run every benchmark and print one line per measurement plus the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument("--skip-grid", action="store_true", help="skip item 5")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's, all cores)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    data = load_fashion_mnist()
    X = data.X_train
    X_t = torch.from_numpy(X)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, X {X.shape} "
          f"{X.dtype}; medians of {args.repeats} interleaved runs; bfloat16 in hardware: "
          f"{bfloat16_is_native('cpu')}", flush=True)

    peak = peak_mm_flops()
    flops = train_flops_per_sample(VAE(X.shape[1])) * len(X)
    print(f"[2] float32 torch.mm 4096^3: {peak / 1e9:.1f} GFLOP/s; M1 model: "
          f"{flops / 1e9:.1f} GFLOP per 60k-image training epoch")
    for bs in args.batch_sizes:
        # plain Adam's bare loop too, at the default batch size, when fit runs the fused one
        unfused = FUSED and bs == DEFAULTS["batch_size"]
        times = {"bare": [], "vaesvm": [], "dataloader": [], "unfused": []}
        for rep in range(args.repeats):
            times["bare"].append(bare_epoch(X_t, bs, rep))
            times["vaesvm"].append(vaesvm_epoch(X, bs, rep))
            times["dataloader"].append(dataloader_epoch(X, bs, rep))
            if unfused:
                times["unfused"].append(bare_epoch(X_t, bs, rep, fused=False))
        b, o, d = (statistics.median(times[k]) for k in ("bare", "vaesvm", "dataloader"))
        print(f"[1] epoch, batch {bs:5d}: bare loop {b:6.2f} s | VAETransformer {o:6.2f} s, "
              f"ratio {o / b:.3f} | skorch DataLoader {d:6.2f} s, ratio {d / b:.3f}")
        if unfused:
            plain = statistics.median(times["unfused"])
            print(f"[1] epoch, batch {bs:5d}: bare loop with plain (unfused) Adam "
                  f"{plain:6.2f} s, {plain / b:.3f}x the bare loop above")
        print(f"[2] batch {bs:5d}: VAETransformer {flops / o / 1e9:6.1f} GFLOP/s = "
              f"{flops / o / peak:.0%} of torch.mm (bare loop {flops / b / peak:.0%})",
              flush=True)
    epochs = default_epochs(X, data.y_train, args.repeats, peak)

    # the encoder pass itself: embedding propagation is timed separately ([3b])
    vae = encoder_vae(X)
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
    precision = resolve_precision(DEFAULTS["precision"], "cpu")
    print(f"[3b] the graph = {graph / epochs[precision]:.2f} of one default epoch "
          f"({precision}, item 1d: {epochs[precision]:.2f} s)", flush=True)

    for model in ("M1", "default", "default, propagation off"):
        cold, small, warm = (fit_memory(model), fit_memory(model, rows=3000),
                             fit_memory(model, warm=True))
        print(f"[4] {model} fit on 70000 x 784 float32 ({cold['data']:.0f} MiB): RSS before "
              f"fit {cold['before']:.0f} MiB, added by fit {cold['fit']:.0f} MiB (by the end "
              f"of the net's set-up {cold['build']:.0f}, of training {cold['train']:.0f}) | "
              f"on 3000 images {small['fit']:.0f} MiB | after a torch optimizer's first use "
              f"{warm['fit']:.0f} MiB (training {warm['train']:.0f})", flush=True)

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
