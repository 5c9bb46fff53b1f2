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

import bench
from vaesvm import load_fashion_mnist
from vaesvm._options import resolve_precision


def main() -> None:
    """Alternate default epochs and graphs; print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = load_fashion_mnist()
    X = data.X_train
    y = bench.default_targets(data.y_train)
    precision = resolve_precision(bench.DEFAULTS["precision"], "cpu")
    vae = bench.encoder_vae(X)  # the codes of bench.py's item 3b
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
