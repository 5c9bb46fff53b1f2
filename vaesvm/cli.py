"""The ``vaesvm`` command line (also ``python -m vaesvm``).

- ``vaesvm study``: the label-count study against baselines, with figures.
- ``vaesvm ablate``: one VAE setting varied at a time.
- ``vaesvm demo``: one quick semi-supervised run, VAE + SVC next to SVC on pixels.

Bad usage and missing data end with one ``vaesvm: error: ...`` line and a non-zero
exit status; Ctrl-C keeps every finished cell in the output folder.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence

from .study.config import DEFAULTS, QUICK
from .study.experiments import ABLATIONS, M1_PARAMS

__all__ = ["main", "build_parser", "run_demo"]


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line: ``vaesvm: error: ...``."""

    def error(self, message: str):
        self.exit(2, f"vaesvm: error: {message} (see '{self.prog} --help')\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _quick_text(command: str) -> str:
    """The ``--quick`` settings of ``command`` in words."""
    quick = QUICK[command]
    words = [f"labels {' '.join(map(str, quick['n_labels']))}",
             f"{len(quick['seeds'])} seed{'s' * (len(quick['seeds']) > 1)}",
             f"{quick['epochs']} epochs"]
    if "n_train" in quick:
        words.append(f"{quick['n_train']} train images")
    return ", ".join(words)


def _common(p: argparse.ArgumentParser, command: str) -> None:
    """The options shared by ``study`` and ``ablate``, defaults from ``DEFAULTS``."""
    d = DEFAULTS[command]
    p.add_argument("--quick", action="store_true",
                   help=f"small settings that finish in a few minutes on 2 CPU cores "
                   f"({_quick_text(command)})")
    p.add_argument("--labels", type=_positive_int, nargs="+", default=None,
                   help=f"label counts, multiples of 10 (default: "
                   f"{' '.join(map(str, d.n_labels))})")
    p.add_argument("--seeds", type=_positive_int, default=None,
                   help=f"number of seeds 0..N-1 (default: {len(d.seeds)})")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"VAE training epochs (default: {d.epochs})")
    p.add_argument("--n-train", type=_positive_int, default=None,
                   help=f"train images used, labeled + unlabeled (default: {d.n_train})")
    p.add_argument("--device", default="auto", help="torch device (default: auto)")
    p.add_argument("--out", default=d.out, help=f"output folder (default: {d.out})")
    p.add_argument("--data-home", default=None,
                   help="folder holding the Fashion-MNIST .gz files")
    p.add_argument("--no-figures", action="store_true", help="write JSON and Markdown only")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="per-epoch VAE log (-v), batch progress bars (-vv)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``vaesvm`` command."""
    parser = _Parser(prog="vaesvm", description="Semi-supervised classification with "
                     "VAE features and scikit-learn, on Fashion-MNIST.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    study = sub.add_parser("study", help="label-count study with baselines and figures",
                           description="Test accuracy of VAE + SVC / LogReg and of "
                           "raw-pixel and PCA baselines at several label counts and seeds.")
    _common(study, "study")
    ablate = sub.add_parser("ablate", help="vary one VAE setting at a time",
                            description="VAE + SVC accuracy and test ELBO for the "
                            "semi-supervised terms, KL weight, batch norm, activation "
                            "and latent size.")
    _common(ablate, "ablate")
    ablate.add_argument("--factors", nargs="+", choices=list(ABLATIONS),
                        default=list(ABLATIONS), help="factors to vary (default: all)")
    ablate.add_argument("--plain-vae", action="store_true",
                        help="vary the reference's M1 VAE ("
                        + ", ".join(f"{k}={v!r}" for k, v in M1_PARAMS.items())
                        + ") instead of the semi-supervised default")

    demo = sub.add_parser("demo", help="quick semi-supervised run: VAE+SVC vs SVC on pixels",
                          description="Train a VAE on Fashion-MNIST (labeled + unlabeled "
                          "train images), fit an RBF SVC on the latent means of the labeled "
                          "images and print the test accuracy next to an RBF SVC on pixels.")
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
          f"{-(vae.history_[-1]['reconstruction'] + vae.history_[-1]['kl']):.1f} "
          "nats/image")
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
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = "vaesvm " + shlex.join(argv)
    try:
        if args.command == "demo":
            run_demo(args)
        else:
            from .study.runner import run_command

            run_command(args)
    except KeyboardInterrupt:
        out = getattr(args, "out", None)
        kept = f"; finished cells are kept in {out}/results.json" if out else ""
        print(f"vaesvm: interrupted{kept}", file=sys.stderr)
        return 130
    except (OSError, ValueError, ImportError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception says
        print(f"vaesvm: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
