"""Validation grid for embedding propagation (development only; issue 5).

Reads latent means saved by ``scripts/prototype_ssvae.py --save-codes DIR`` (all
60,000 train images; labeled subset and 10,000 held-out validation images of
``experiments.validation_split``), builds the propagation graph on the 50,000
non-validation codes, maps the validation images as new points (as ``transform``
maps test images) and scores the default RBF SVC on the labeled rows. The
official test set is never loaded.

Usage: python scripts/propagation_validation.py DIR/L100_s0_e30.npz ... [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from sklearn.svm import SVC

from vaesvm import load_fashion_mnist
from vaesvm._propagation import nearest_neighbors, propagate, smooth


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("codes", nargs="+")
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.5, 0.8, 0.9, 0.95])
    ap.add_argument("--neighbors", type=int, nargs="+", default=[10, 30])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    y = load_fashion_mnist().y_train
    for path in args.codes:
        d = np.load(path)
        Z, lab, val = d["Z"], d["lab"], d["val"]
        pool = np.setdiff1d(np.arange(len(Z)), val)
        Zp, Zv = torch.from_numpy(Z[pool]), torch.from_numpy(Z[val])
        pos = torch.from_numpy(np.searchsorted(pool, lab))
        row = {"codes": Path(path).name, "n_labels": len(lab), "steps": args.steps,
               "latent_means": round(100 * SVC().fit(Z[lab], y[lab]).score(Z[val], y[val]), 2)}
        for k in args.neighbors:
            nb_pool = nearest_neighbors(Zp, Zp, k)
            nb_val = nearest_neighbors(Zv, Zp, k)
            for a in args.alphas:
                F = propagate(Zp, nb_pool, a, args.steps)
                F_lab = smooth(Zp[pos], nb_pool[pos], F, a).numpy()
                F_val = smooth(Zv, nb_val, F, a).numpy()
                acc = SVC().fit(F_lab, y[lab]).score(F_val, y[val])
                row[f"k{k}_alpha{a:g}"] = round(100 * acc, 2)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
