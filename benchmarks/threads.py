"""Intra-op threads on a busy machine: one default epoch with ``n_threads`` 1 and 2.

    python benchmarks/threads.py [--rows 10000] [--repeats 2]

Times ``VAETransformer(max_epochs=1, n_threads=t).fit`` (the default model, 100
labels, propagation off) on ``--rows`` Fashion-MNIST images, first on an idle
machine, then while a second process trains the same model with torch's default
threads (all cores), as another user's job would. Ratios are against the idle
1-thread time measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np
import torch

from vaesvm import VAETransformer, load_fashion_mnist

_BUSY = """
import numpy as np, torch
from vaesvm import VAETransformer, load_fashion_mnist
d = load_fashion_mnist()
X, y = d.X_train[:{rows}], np.where(np.arange({rows}) < 100, d.y_train[:{rows}], -1)
print("ready", flush=True)
while True:
    VAETransformer(max_epochs=1, propagation_alpha=0.0, random_state=0).fit(X, y)
"""


def epoch_seconds(X: np.ndarray, y: np.ndarray, n_threads: int) -> float:
    """Seconds of one ``fit`` epoch of the default model capped at ``n_threads``."""
    vae = VAETransformer(max_epochs=1, propagation_alpha=0.0, random_state=0, n_threads=n_threads)
    start = time.perf_counter()
    vae.fit(X, y)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = load_fashion_mnist()
    X = data.X_train[: args.rows]
    y = np.where(np.arange(args.rows) < 100, data.y_train[: args.rows], -1)
    threads = sorted({1, torch.get_num_threads()})
    print(f"torch {torch.__version__}, {torch.get_num_threads()} cores' threads by default; "
          f"{args.rows} images, medians of {args.repeats}", flush=True)
    results = {}
    for state in ("idle", "busy"):
        busy = None
        if state == "busy":
            busy = subprocess.Popen([sys.executable, "-c", _BUSY.format(rows=args.rows)],
                                    stdout=subprocess.PIPE, text=True)
            busy.stdout.readline()  # data loaded; training starts now
            time.sleep(2)
        try:
            for t in threads:
                results[state, t] = statistics.median(
                    epoch_seconds(X, y, t) for _ in range(args.repeats))
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    base = results["idle", 1]
    for (state, t), seconds in results.items():
        print(f"{state}, n_threads={t}: {seconds:6.2f} s per epoch, {seconds / base:.2f}x "
              f"the idle 1-thread epoch")


if __name__ == "__main__":
    main()
