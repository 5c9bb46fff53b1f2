"""Choose the default batch size by validation accuracy per second of training.

The labeled pool is 3,000 class-balanced train images (seed 0): 2,000 fit the SVC,
1,000 are the validation set; the VAE trains on all 60,000 train images (labels
unused). The test set is not touched.

Usage: python benchmarks/batch_size.py [--epochs 30] [--batch-sizes 128 256 512 1024]
"""

from __future__ import annotations

import argparse

from sklearn.svm import SVC

from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm.study.experiments import M1_PARAMS


def main() -> None:
    """Train one VAE per batch size; print training time and validation accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    data = load_fashion_mnist()
    pool, _ = make_semi_supervised_split(data.y_train, 3000, random_state=args.seed)
    fit_idx, val_idx = make_semi_supervised_split(data.y_train[pool], 2000,
                                                  random_state=args.seed)
    fit_idx, val_idx = pool[fit_idx], pool[val_idx]
    print(f"{'batch':>6} {'train s':>8} {'val acc':>8} {'ELBO':>8} {'acc/min':>8}")
    for bs in args.batch_sizes:
        # the plain M1 VAE these figures were measured with (docs/performance.rst)
        vae = VAETransformer(batch_size=bs, max_epochs=args.epochs, random_state=args.seed,
                             **M1_PARAMS)
        vae.fit(data.X_train)
        seconds = sum(h["dur"] for h in vae.history_)
        svc = SVC().fit(vae.transform(data.X_train[fit_idx]), data.y_train[fit_idx])
        acc = svc.score(vae.transform(data.X_train[val_idx]), data.y_train[val_idx])
        elbo = vae.score(data.X_train[val_idx])
        print(f"{bs:6d} {seconds:8.1f} {acc:8.2%} {elbo:8.1f} {acc / seconds * 60:8.3f}",
              flush=True)


if __name__ == "__main__":
    main()
