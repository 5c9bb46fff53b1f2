"""How ``fit`` and ``transform`` grow with the unlabeled pool: ratios against 60,000 in one run.

Fashion-MNIST's 60,000 training images plus copies shifted by 1-2 pixels are written
once to a float32 ``np.memmap`` in a temporary folder. For every size, in its own
subprocess (so peak memory is that size's alone), the default ``VAETransformer``
(``max_epochs=1``, ``random_state=0``, on the CPU) is fitted on 100 labeled images
(``X``) and the first ``size`` rows of the memmap (``X_unlabeled``), as a user with a
large pool would; then 10,000 test images are transformed. Printed per size: the
epoch (``history_``), the rest of ``fit`` (encoding every row for the graph, the
neighbour search, the propagation), the graph (the neighbour search and the
propagation over it; the search also alone), ``transform``, peak
RSS (the memmap's resident pages included) against the data's size, and the per-row
ratios against the first size.

Usage: python benchmarks/scale.py [--sizes 60000 240000 960000] [--tmp DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

#: Shifts (rows, columns) of the copies after the originals; 16 blocks make 960,000 rows.
SHIFTS = [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1),
          (2, 0), (-2, 0), (0, 2), (0, -2), (2, 2), (-2, -2), (2, -2)]


def write_pool(path: Path, n_rows: int) -> None:
    """Write ``n_rows`` images (Fashion-MNIST and its shifted copies) to a float32 memmap."""
    from vaesvm import load_fashion_mnist
    images = load_fashion_mnist().X_train.reshape(-1, 28, 28)
    if n_rows > len(SHIFTS) * len(images):
        raise SystemExit(f"at most {len(SHIFTS) * len(images):,} rows")
    pool = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_rows, 784))
    for block, (dr, dc) in enumerate(SHIFTS):
        start = block * len(images)
        if start >= n_rows:
            break
        shifted = np.roll(images, (dr, dc), axis=(1, 2)).reshape(len(images), -1)
        pool[start:start + len(images)] = shifted[:n_rows - start]
    pool.flush()
    del pool


def child(path: Path, size: int) -> dict:
    """Fit and transform at one size; return the timings and peak RSS (run in a subprocess)."""
    from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
    from vaesvm import _propagation

    data = load_fashion_mnist()
    labeled = make_semi_supervised_split(data.y_train, 100, random_state=0)[0]
    X, y, X_test = data.X_train[labeled], data.y_train[labeled], data.X_test
    del data  # the peak is then the fit's (and the memmap's pages), not the loader's arrays
    pool = np.load(path, mmap_mode="r")[:size]
    searches, propagations, depth = [], [], [0]

    def timed(search, into=searches):
        def run(*args, **kwargs):
            depth[0] += 1
            start = time.perf_counter()
            try:
                return search(*args, **kwargs)
            finally:
                depth[0] -= 1
                if not depth[0]:  # the exact search inside the index's counts once
                    into.append(time.perf_counter() - start)
        return run

    # the neighbour search alone: the exact search, or the index's training and search
    _propagation.nearest_neighbors = timed(_propagation.nearest_neighbors)
    index = _propagation.ApproximateIndex
    index.fit = classmethod(timed(index.fit.__func__))
    index.search = timed(index.search)
    _propagation.propagate = timed(_propagation.propagate, propagations)
    vae = VAETransformer(max_epochs=1, random_state=0, device="cpu")
    start = time.perf_counter()
    vae.fit(X, y, X_unlabeled=pool)
    fit_s = time.perf_counter() - start
    epoch_s = float(vae.history_[0]["dur"])
    search_s, propagate_s = sum(searches), sum(propagations)
    start = time.perf_counter()
    vae.transform(X_test)
    transform_s = time.perf_counter() - start
    return {"size": size, "rows": len(X) + size, "epoch_s": epoch_s,
            "rest_s": fit_s - epoch_s, "search_s": search_s,
            "graph_s": search_s + propagate_s, "transform_s": transform_s,
            "approximate": vae.propagation_.index_ is not None,
            "peak_rss_gib": peak_rss_gib(),
            "data_gib": pool.nbytes / 2**30}


def peak_rss_gib() -> float:
    """This process's peak resident set size (VmHWM), file-backed pages of the memmap included.

    Not ``getrusage``'s ``ru_maxrss``: on Linux that keeps the peak of the parent's
    image before ``exec``, the memmap writer's.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # not Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[60000, 240000, 960000])
    parser.add_argument("--tmp", default=None, help="folder for the memmap (default: a temp one)")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), int(args.child[1]))))
        return
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        path = Path(tmp) / "pool.npy"
        start = time.perf_counter()
        write_pool(path, max(args.sizes))
        print(f"wrote {max(args.sizes):,} x 784 float32 to a memmap in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        rows = []
        for size in args.sizes:
            out = subprocess.run([sys.executable, __file__, "--child", str(path), str(size)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"{size:>9,}: epoch {r['epoch_s']:.1f} s, rest of fit {r['rest_s']:.1f} s "
                  f"(graph {r['graph_s']:.1f} s, "
                  f"of it the neighbour search {r['search_s']:.1f} s), "
                  f"transform {r['transform_s']:.2f} s, peak RSS {r['peak_rss_gib']:.2f} GiB "
                  f"(data {r['data_gib']:.2f} GiB)", flush=True)
    base = rows[0]
    print(f"\nper-row ratios against {base['size']:,} (one run, same machine):")
    print(f"{'pool':>9} | {'graph':>6} | {'epoch s':>7} | {'rest s':>6} | {'rest/epoch':>10} | "
          f"{'graph s':>7} | {'graph/epoch':>11} | {'search s':>8} | {'epoch/row':>9} | "
          f"{'rest/row':>8} | {'transform s':>11} | {'RSS GiB':>7} | "
          f"{'RSS - data':>10}")
    for r in rows:
        scale = r["size"] / base["size"]
        print(f"{r['size']:>9,} | {'approx' if r['approximate'] else 'exact':>6} | "
              f"{r['epoch_s']:>7.1f} | {r['rest_s']:>6.1f} | "
              f"{r['rest_s'] / r['epoch_s']:>10.2f} | "
              f"{r['graph_s']:>7.1f} | {r['graph_s'] / r['epoch_s']:>11.2f} | "
              f"{r['search_s']:>8.1f} | "
              f"{r['epoch_s'] / base['epoch_s'] / scale:>8.2f}x | "
              f"{r['rest_s'] / base['rest_s'] / scale:>7.2f}x | {r['transform_s']:>11.2f} | "
              f"{r['peak_rss_gib']:>7.2f} | {r['peak_rss_gib'] - r['data_gib']:>10.2f}")


if __name__ == "__main__":
    main()
