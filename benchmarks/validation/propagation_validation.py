"""Validation grid for embedding propagation: alpha and the number of neighbours.

For each label count and subset seed, the package's default ``VAETransformer``
(``propagation_alpha=0``, everything else at its defaults) is trained on all 60,000
train images with a labeled subset drawn from the 50,000-image pool (see
``_common.py``); its latent means (``encode``) are the codes. The propagation graph
is built on the pool's codes, the 10,000 validation images are mapped as new
points (as ``transform`` maps test images), and the default RBF SVC fitted on the
labeled rows is scored on them, once on the plain codes (``latent_means``) and once
per ``k{neighbours}_alpha{alpha}``. The official test set is never loaded.

The codes of a run are kept in ``--codes-dir`` as ``L{labels}_s{seed}_e{epochs}.npz``
(arrays ``Z``, ``lab``, ``val``) and read back instead of retraining when present.

The committed ``docs/results/validation/propagation.jsonl`` came from the codes of the
bare-PyTorch prototype ``scripts/prototype_ssvae.py`` (deleted since; ``git show
45c88bf:scripts/prototype_ssvae.py``), not from this script's VAE:
``python scripts/prototype_ssvae.py --aug --clean-target --arch conv --labels N
--alpha A --seeds S --save-codes DIR`` (A the ``"auto"`` label weight, labels / 150
clipped to [0.3, 10]), then the earlier copy of this script on those files,
``python scripts/propagation_validation.py DIR/*.npz --out propagation.jsonl``
(``L*_e10.npz`` rows, codes after 10 epochs: ``--alphas 0.9 --neighbors 10``). This
script reads such a folder as is: ``--codes-dir DIR --labels N --seeds S`` (with
``--epochs 10`` for the 10-epoch codes) reproduces those rows. To rerun the grid
with the package's VAE:
``python benchmarks/validation/propagation_validation.py --labels 100 600 1000 3000
--seeds 0 1 2 --out propagation.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np
import torch
from _common import append_jsonl, labeled_subset, load_train
from sklearn.svm import SVC

from vaesvm import VAETransformer
from vaesvm._propagation import nearest_neighbors, propagate, smooth


def train_codes(X: np.ndarray, y: np.ndarray, lab: np.ndarray, seed: int, epochs: int,
                device: str) -> np.ndarray:
    """Latent means of every train image under a default VAE trained with ``lab``."""
    y_partial = np.full(len(X), -1)
    y_partial[lab] = y[lab]
    vae = VAETransformer(max_epochs=epochs, propagation_alpha=0.0, random_state=seed,
                         device=device).fit(X, y_partial)
    return vae.encode(X)


def codes(args: argparse.Namespace, X, y, pool, val, n: int, seed: int
          ) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """``(name, Z, lab, val)`` of one run: read from ``--codes-dir`` or trained."""
    name = f"L{n}_s{seed}_e{args.epochs}.npz"
    path = pathlib.Path(args.codes_dir or ".") / name
    if args.codes_dir and path.exists():
        saved = np.load(path)
        return name, saved["Z"], saved["lab"], saved["val"]
    lab = labeled_subset(y, pool, n, seed)
    Z = train_codes(X, y, lab, seed, args.epochs, args.device)
    if args.codes_dir:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, Z=Z, lab=lab, val=val)
    return name, Z, lab, val


def grid_row(Z: np.ndarray, y: np.ndarray, lab: np.ndarray, val: np.ndarray,
             args: argparse.Namespace) -> dict:
    """Validation accuracy (%) on the plain codes and per neighbours and alpha."""
    pool = np.setdiff1d(np.arange(len(Z)), val)
    Zp, Zv = torch.from_numpy(Z[pool]), torch.from_numpy(Z[val])
    pos = torch.from_numpy(np.searchsorted(pool, lab))
    row = {"n_labels": len(lab), "steps": args.steps,
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
    return row


def main() -> None:
    """Train (or read) the codes of each run; print and append one JSON line per run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", type=int, nargs="+", default=[100],
                    help="label counts (default: 100)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                    help="labeled subset seeds, also the VAE's random_state "
                    "(default: 0 1 2)")
    ap.add_argument("--epochs", type=int, default=30, help="VAE epochs (default: 30)")
    ap.add_argument("--alphas", type=float, nargs="+", default=[0.5, 0.8, 0.9, 0.95],
                    help="propagation alphas (default: 0.5 0.8 0.9 0.95)")
    ap.add_argument("--neighbors", type=int, nargs="+", default=[10, 30],
                    help="graph neighbours (default: 10 30)")
    ap.add_argument("--steps", type=int, default=10, help="propagation steps (default: 10)")
    ap.add_argument("--codes-dir", default=None,
                    help="keep the codes here (.npz) and reuse those already there")
    ap.add_argument("--device", default="auto", help="torch device (default: auto)")
    ap.add_argument("--data-home", default=None,
                    help="folder holding the Fashion-MNIST .gz files")
    ap.add_argument("--out", default=None, help="append the JSON lines to this file")
    args = ap.parse_args()

    X, y, pool, val = load_train(args.data_home)
    for n in args.labels:
        for seed in args.seeds:
            name, Z, lab, run_val = codes(args, X, y, pool, val, n, seed)
            row = {"codes": name, **grid_row(Z, y, lab, run_val, args)}
            print(json.dumps(row), flush=True)
            if args.out:
                append_jsonl(args.out, row)


if __name__ == "__main__":
    main()
