"""The propagation graph against one default epoch, timed alternately in one process.

One 60,000-image epoch of the default ``VAETransformer`` (100 labels, bfloat16 where
the CPU has it, propagation off: ``bench.vaesvm_default_epoch``), then the graph of
60,000 codes with its 10 steps (``bench.propagation_seconds``), ``--repeats`` times;
prints both medians and their ratio (the target: at most half an epoch). Alternating
the two keeps a drifting machine load from favouring either.

Usage: python benchmarks/graph_vs_epoch.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

import bench
from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm._options import resolve_precision


def main() -> None:
    """Alternate default epochs and graphs; print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = load_fashion_mnist()
    X = data.X_train
    labeled = make_semi_supervised_split(data.y_train, bench.DEFAULT_LABELS, random_state=0)[0]
    y = np.full(len(X), -1)
    y[labeled] = data.y_train[labeled]
    precision = resolve_precision(bench.DEFAULTS["precision"], "cpu")
    # the codes of bench.py's item 3b: a 1-epoch M1 fit on 2,048 images
    vae = VAETransformer(max_epochs=1, device="cpu", random_state=0,
                         propagation_alpha=0.0).fit(X[:2048])
    epochs, graphs = [], []
    for rep in range(args.repeats):
        epochs.append(bench.vaesvm_default_epoch(X, y, rep, precision))
        graphs.append(bench.propagation_seconds(vae, X, 1)[0])
        print(f"repeat {rep}: default epoch {epochs[-1]:.2f} s, graph {graphs[-1]:.2f} s",
              flush=True)
    e, g = statistics.median(epochs), statistics.median(graphs)
    print(f"default {precision} epoch {e:.2f} s, graph {g:.2f} s = {g / e:.2f} of an epoch "
          f"(medians of {args.repeats} alternating repeats)")


if __name__ == "__main__":
    main()
