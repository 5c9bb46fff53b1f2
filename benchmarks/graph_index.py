"""Approximate neighbour searches for the propagation graph against the exact one, in one run.

The codes: a quickly trained M1 VAE (``bench.encoder_vae``: one epoch on 2,048 images)
encodes the 60,000 Fashion-MNIST train images and, beyond 60,000 rows, copies shifted
by one pixel. For each method: the time to build the 10-nearest-neighbour graph of all
codes, as a multiple of the exact tiled search (``nearest_neighbors``) timed in the
same run, and recall@10 against it. Methods: faiss IVF-Flat with the settings of
``ApproximateIndex`` (lists per sqrt(n), probes), faiss HNSW, pynndescent (its numba
compilation timed apart, on 3,000 codes); the libraries that are not installed are
skipped. Run it with ``OMP_NUM_THREADS=1`` for one thread, as the record's figures.

Usage: python benchmarks/graph_index.py [--rows 240000] [--ivf 2,4 4,8] [--hnsw 16]
       [--pynndescent]
"""

from __future__ import annotations

import argparse
import time

import bench
import numpy as np
import torch

from vaesvm import load_fashion_mnist
from vaesvm._options import APPROXIMATE_GRAPH
from vaesvm._propagation import ApproximateIndex, nearest_neighbors

K = 10


def codes_of(n_rows: int) -> np.ndarray:
    """``n_rows`` 50-d codes of Fashion-MNIST images and their shifted copies."""
    X = load_fashion_mnist().X_train
    vae = bench.encoder_vae(X)
    images = X.reshape(-1, 28, 28)
    shifts = [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)]
    parts = [np.roll(images, s, axis=(1, 2)).reshape(len(X), -1)
             for s in shifts[:-(-n_rows // len(X))]]
    return np.concatenate([vae.encode(p) for p in parts])[:n_rows]


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean fraction of the exact k neighbours that ``found`` holds."""
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, exact)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=240000)
    parser.add_argument("--ivf", nargs="*", default=["2,4", "4,8"],
                        help="lists per sqrt(n),probes pairs")
    parser.add_argument("--hnsw", type=int, nargs="*", default=[16], help="HNSW M values")
    parser.add_argument("--pynndescent", action="store_true")
    args = parser.parse_args()
    codes = codes_of(args.rows)
    t = torch.from_numpy(codes)
    start = time.perf_counter()
    exact = nearest_neighbors(t, t, K).numpy()
    base = time.perf_counter() - start
    print(f"{len(codes):,} codes: exact search {base:.1f} s", flush=True)

    def report(name: str, seconds: float, found: np.ndarray) -> None:
        print(f"  {name}: {seconds:.1f} s = {seconds / base:.2f}x the exact search, "
              f"recall@{K} {recall(found, exact):.4f}", flush=True)

    for pair in args.ivf:
        per_sqrt, probes = (int(v) for v in pair.split(","))
        APPROXIMATE_GRAPH.update(lists_per_sqrt=per_sqrt, probes=probes)
        start = time.perf_counter()
        found = ApproximateIndex.fit(codes, 0).search(t, K).numpy()
        report(f"faiss IVF, {per_sqrt} sqrt(n) lists, {probes} probes",
               time.perf_counter() - start, found)
    for m in args.hnsw:
        import faiss
        start = time.perf_counter()
        index = faiss.IndexHNSWFlat(codes.shape[1], m)
        index.hnsw.efConstruction = 80
        index.add(codes)
        index.hnsw.efSearch = 64
        found = index.search(codes, K)[1]
        report(f"faiss HNSW, M={m}", time.perf_counter() - start, found)
    if args.pynndescent:
        from pynndescent import NNDescent
        start = time.perf_counter()
        NNDescent(codes[:3000], n_neighbors=K, random_state=0, n_jobs=1, low_memory=True)
        print(f"  pynndescent compilation (3,000 codes): {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        found = NNDescent(codes, n_neighbors=K, random_state=0, n_jobs=1,
                          low_memory=True).neighbor_graph[0]
        report("pynndescent", time.perf_counter() - start, found)


if __name__ == "__main__":
    main()
