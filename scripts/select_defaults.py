"""Development study: choose the study's VAE/classifier defaults on validation data.

Validation = 10,000 train images held out from every labeled subset (their labels are
used only to score choices; the VAE still sees them unlabeled, like every train
image). Labeled subsets of 100 and 1000 images are drawn from the other 50,000 train
images with 3 seeds. The official test set is never loaded.

Usage: python scripts/select_defaults.py [--variants default nc20 ...] [--epochs 30]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm.study.experiments import M1_PARAMS, tuned_svc

VARIANTS = {
    "default": {},
    "nc10": {"n_components": 10},
    "nc20": {"n_components": 20},
    "kl0.5": {"kl_weight": 0.5},
    "kl2": {"kl_weight": 2.0},
    "kl4": {"kl_weight": 4.0},
    "bs128": {"batch_size": 128},
    "bs1024": {"batch_size": 1024},
    "bs1024_ep60": {"batch_size": 1024, "max_epochs": 60, "kl_warmup_epochs": 20},
    "ep60": {"max_epochs": 60},
    "relu": {"activation": "relu"},
    "tanh": {"activation": "tanh"},
}


def classifiers(Z_lab, seed):
    return {
        "svc": SVC(),
        "cv_svc": tuned_svc(Z_lab, False, seed),
        "scaled_cv_svc": tuned_svc(Z_lab, True, seed),
        "logreg": LogisticRegression(max_iter=2000),
        "scaled_logreg": make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS),
                        help=f"{', '.join(VARIANTS)}, or the baselines pixels, pca")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default=None, help="append JSON lines here")
    parser.add_argument("--cache", default=None, help="folder for the latent codes (.npz)")
    parser.add_argument("--vae-seed", type=int, default=0, help="random_state of the VAE")
    parser.add_argument("--subset-seeds", type=int, default=3,
                        help="labeled subsets drawn per label count")
    args = parser.parse_args()

    data = load_fashion_mnist()
    X, y = data.X_train, data.y_train
    val = np.random.RandomState(123).permutation(len(X))[:10000]
    pool = np.setdiff1d(np.arange(len(X)), val)
    for name in args.variants:
        params = {"max_epochs": args.epochs, "random_state": args.vae_seed,
                  **VARIANTS.get(name, {})}
        suffix = f"-seed{args.vae_seed}" if args.vae_seed else ""
        cached = pathlib.Path(args.cache or ".") / f"{name}{suffix}.npz"
        if name in ("pixels", "pca"):  # baselines: no VAE
            start = time.time()
            Z = X if name == "pixels" else PCA(50, random_state=0).fit_transform(X)
            train_s, val_elbo = time.time() - start, float("nan")
        elif args.cache and cached.exists():
            saved = np.load(cached)
            Z, train_s, val_elbo = saved["Z"], float(saved["train_s"]), float(saved["elbo"])
        else:
            start = time.time()
            # these experiments chose the plain M1 VAE's settings (before issue 5)
            vae = VAETransformer(**{**M1_PARAMS, **params}).fit(X)
            Z, train_s, val_elbo = vae.transform(X), time.time() - start, vae.score(X[val])
            if args.cache:
                np.savez(cached, Z=Z, train_s=train_s, elbo=val_elbo)
        row = {"variant": name, "vae_seed": args.vae_seed, "params": params,
               "train_s": round(train_s, 1), "val_elbo": round(val_elbo, 2)}
        for n in (100, 1000):
            for seed in range(args.subset_seeds):
                lab = pool[make_semi_supervised_split(y[pool], n, random_state=seed)[0]]
                for cname, clf in classifiers(Z[lab], seed).items():
                    acc = clf.fit(Z[lab], y[lab]).score(Z[val], y[val])
                    row.setdefault(f"{cname}@{n}", []).append(round(acc, 4))
        summary = {k: f"{100 * np.mean(v):.2f}+-{100 * np.std(v):.2f}"
                   for k, v in row.items() if "@" in k}
        print(name, row["train_s"], row["val_elbo"], summary, flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
