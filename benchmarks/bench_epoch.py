"""One 60k-image training epoch: VAETransformer.fit vs. a bare PyTorch loop.

Both train the identical model (vaesvm._model.VAE), loss (negative ELBO, KL weight 1)
and optimizer (Adam, lr 1e-3) at the same batch size on the same data, in the same
process, interleaved, so the ratio holds on a noisy machine. Also compares
``transform`` with a bare ``torch.no_grad()`` encoder pass.

Usage: python benchmarks/bench_epoch.py [--repeats 3] [--batch-sizes 256 1024]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from vaesvm import VAETransformer, load_fashion_mnist
from vaesvm._model import VAE, ELBOLoss


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
        out = model(xb)
        loss = criterion(*model.elbo_terms(xb, out))
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def vaesvm_epoch(X: np.ndarray, batch_size: int, seed: int) -> float:
    """Time ``VAETransformer.fit`` for one epoch (validation and set-up included)."""
    vae = VAETransformer(max_epochs=1, kl_warmup_epochs=0, batch_size=batch_size,
                         device="cpu", random_state=seed)
    start = time.perf_counter()
    vae.fit(X)
    return time.perf_counter() - start


def bare_transform(model: torch.nn.Module, X: torch.Tensor, batch_size: int) -> float:
    """Time a bare no-grad encoder pass returning the latent means as numpy."""
    start = time.perf_counter()
    model.eval()
    with torch.no_grad():
        out = [model.encode(X[a:a + batch_size])[0] for a in range(0, len(X), batch_size)]
    torch.cat(out).numpy()
    return time.perf_counter() - start


def main() -> None:
    """Run the benchmark and print one line per measurement plus the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    args = parser.parse_args()

    X = load_fashion_mnist().X_train
    X_t = torch.from_numpy(X)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"X {X.shape} {X.dtype}, median of {args.repeats} interleaved runs")
    for bs in args.batch_sizes:
        bare, ours = [], []
        for rep in range(args.repeats):
            bare.append(bare_epoch(X_t, bs, rep))
            ours.append(vaesvm_epoch(X, bs, rep))
        b, o = statistics.median(bare), statistics.median(ours)
        print(f"fit, one epoch, batch {bs:5d}: bare loop {b:6.2f} s, VAETransformer "
              f"{o:6.2f} s, ratio {o / b:.3f}")

    vae = VAETransformer(max_epochs=1, device="cpu", random_state=0).fit(X[:2048])
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(bare_transform(vae.net_.module_, X_t, 4096))
        start = time.perf_counter()
        vae.transform(X)
        ours.append(time.perf_counter() - start)
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"transform 60k: bare encoder {len(X) / b:9.0f} img/s, VAETransformer "
          f"{len(X) / o:9.0f} img/s, ratio (time) {o / b:.3f}")


if __name__ == "__main__":
    main()
