"""Size of a saved default model at 60,000 training images, and what it holds.

    python benchmarks/model_size.py

Fits the default ``VAETransformer`` (100 labels + 59,900 unlabeled Fashion-MNIST
train images; one epoch: the size does not depend on the number of epochs) and
prints the pickle's size next to the sizes of its parts: the network's weights,
the propagation graph's codes and whatever optimizer state is left.
"""

from __future__ import annotations

import argparse
import pickle
import time

from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    data = load_fashion_mnist()
    lab, unl = make_semi_supervised_split(data.y_train, 100, random_state=0)
    start = time.perf_counter()
    vae = VAETransformer(max_epochs=1, random_state=0).fit(
        data.X_train[lab], data.y_train[lab], X_unlabeled=data.X_train[unl])
    mib = 2.0**20
    weights = sum(p.numel() * p.element_size() for p in vae.net_.module_.parameters())
    codes = vae.propagation_.codes_.nbytes + vae.propagation_.propagated_.nbytes
    optimizer = len(pickle.dumps(vae.net_.optimizer_.state_dict()))
    print(f"fit (1 epoch + graph): {time.perf_counter() - start:.0f} s")
    print(f"pickle of the fitted VAETransformer: {len(pickle.dumps(vae)) / mib:.1f} MiB")
    print(f"  weights {weights / mib:.1f} MiB, propagation codes {codes / mib:.1f} MiB, "
          f"optimizer state {optimizer / mib:.2f} MiB")


if __name__ == "__main__":
    main()
