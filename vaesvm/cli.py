"""The ``vaesvm`` command line.

``vaesvm demo`` is the quick end-to-end run: Fashion-MNIST, a class-balanced
labeled subset, a VAE trained on labeled + unlabeled images, an RBF SVC on the
labeled latent means, and the test accuracy next to an SVC on raw pixels.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

__all__ = ["main", "run_demo"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``vaesvm`` command."""
    parser = argparse.ArgumentParser(
        prog="vaesvm",
        description="Semi-supervised classification with VAE features and scikit-learn.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="quick semi-supervised run on Fashion-MNIST",
        description="Train a VAE on Fashion-MNIST (labeled + unlabeled train images), fit "
        "an RBF SVC on the latent means of the labeled images and print the test "
        "accuracy next to an RBF SVC on raw pixels.",
    )
    demo.add_argument("--labels", type=_positive_int, default=100,
                      help="number of labeled images, a multiple of 10 (default: 100)")
    demo.add_argument("--epochs", type=_positive_int, default=10,
                      help="VAE training epochs (default: 10)")
    demo.add_argument("--n-train", type=_positive_int, default=60000,
                      help="train images used, labeled + unlabeled (default: 60000)")
    demo.add_argument("--seed", type=int, default=0,
                      help="seed of the labeled subset and the VAE (default: 0)")
    demo.add_argument("--device", default="auto", help="torch device (default: auto)")
    demo.add_argument("--data-home", default=None,
                      help="folder holding the Fashion-MNIST .gz files")
    demo.add_argument("-v", "--verbose", action="count", default=0,
                      help="per-epoch log (-v) and progress bars (-vv)")
    return parser


def run_demo(args: argparse.Namespace) -> dict[str, float]:
    """Run the demo described by parsed ``args``; print and return the accuracies.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``vaesvm demo`` options.

    Returns
    -------
    dict
        ``{"vae_svc": accuracy, "raw_svc": accuracy, "seconds": wall time}``.
    """
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    from . import VAETransformer
    from .datasets import load_fashion_mnist, make_semi_supervised_split

    start = time.perf_counter()
    data = load_fashion_mnist(args.data_home)
    X_train, y_train = data.X_train[: args.n_train], data.y_train[: args.n_train]
    labeled, unlabeled = make_semi_supervised_split(y_train, args.labels,
                                                    random_state=args.seed)
    X_lab, y_lab = X_train[labeled], y_train[labeled]
    print(f"Fashion-MNIST from {data.data_dir}: {len(labeled)} labeled + "
          f"{len(unlabeled)} unlabeled train images, {len(data.X_test)} test images")

    pipe = Pipeline([
        ("vae", VAETransformer(max_epochs=args.epochs, device=args.device,
                               random_state=args.seed, verbose=args.verbose)),
        ("svc", SVC()),
    ])
    pipe.fit(X_lab, y_lab, vae__X_unlabeled=X_train[unlabeled])
    vae_acc = pipe.score(data.X_test, data.y_test)
    raw_acc = SVC().fit(X_lab, y_lab).score(data.X_test, data.y_test)
    seconds = time.perf_counter() - start
    vae = pipe.named_steps["vae"]
    print(f"VAE: {vae.n_iter_} epochs on {vae.device_} in "
          f"{sum(h['dur'] for h in vae.history_):.1f} s, final ELBO "
          f"{-vae.history_[-1]['loss']:.1f} nats/image")
    print(f"test accuracy, {args.labels} labels:")
    print(f"  VAE + SVC       {vae_acc:.2%}")
    print(f"  SVC raw pixels  {raw_acc:.2%}")
    print(f"total {seconds:.0f} s")
    return {"vae_svc": vae_acc, "raw_svc": raw_acc, "seconds": seconds}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vaesvm`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        Exit status: 0 on success, 1 on a handled error, 130 on Ctrl-C.
    """
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(args)
    except KeyboardInterrupt:
        print("vaesvm: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError) as exc:
        print(f"vaesvm: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
