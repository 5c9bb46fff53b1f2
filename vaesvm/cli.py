"""The ``vaesvm`` command line (also ``python -m vaesvm``).

- ``vaesvm study``: the label-count study against baselines, with figures.
- ``vaesvm ablate``: one VAE setting varied at a time.
- ``vaesvm demo``: one quick semi-supervised run, VAE + SVC next to SVC on pixels.

Bad usage and missing data end with one ``vaesvm: error: ...`` line that names the
option to change, and a non-zero exit status, before any work where the option can
be checked then: label counts too small for a method's cross-validation, label
counts the data cannot supply, an ``--out`` that is a file or cannot be written.
Ctrl-C keeps every finished cell in the output folder, and a run that ends before
its first cell leaves nothing behind.

``study`` and ``ablate`` never replace the results of an earlier run without being
asked: an ``--out`` folder that holds ``results.json``, ``results.md`` or the
figures of a run is refused before any work, naming ``--overwrite`` (replace that
run) and a new ``--out`` folder (keep it). With ``--overwrite`` the earlier run's
files stay untouched until the new run writes its first result, and then all of
them go, so the folder never mixes two runs. Other files in the folder are kept.

The parser is built from :mod:`vaesvm.study.config` alone: ``vaesvm --help`` and
``vaesvm --version`` import neither torch nor scikit-learn.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shlex
import sys
import time
from collections.abc import Sequence

from . import __version__
from .study.config import (
    ABLATION_FACTORS,
    DEFAULTS,
    IMAGE_SETS,
    M1_PARAMS,
    N_TRAIN_MAX,
    QUICK,
    STUDY_METHODS,
    check_labels_within_n_train,
)

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


def _label_count(text: str) -> int:
    """A positive multiple of 10: one tenth of the labels per class."""
    value = _positive_int(text)
    if value % 10:
        raise argparse.ArgumentTypeError(
            f"must be a multiple of 10 (the same number of labels for each of the 10 "
            f"classes), got {value}; e.g. {max(10, value // 10 * 10)}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to 2**32 - 1, got {text!r}")
    return value


def _n_train(text: str) -> int:
    value = _positive_int(text)
    if value > N_TRAIN_MAX:
        raise argparse.ArgumentTypeError(
            f"must be at most {N_TRAIN_MAX} (the Fashion-MNIST train images), got {value}")
    return value


def _device(text: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(
            f"must be auto, cpu, cuda or cuda:N (a GPU's index), got {text!r}")
    return text


def _data_home(text: str) -> str:
    """An existing folder: nothing is created or downloaded for a mistyped name."""
    path = pathlib.Path(text).expanduser()
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise argparse.ArgumentTypeError(
            f"{text} {what}; name the folder that holds the four Fashion-MNIST .gz "
            "files, or leave --data-home out to use the usual places")
    return str(path)


def _add_device_and_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default="auto", type=_device,
                   help="torch device: auto, cpu, cuda or cuda:N (default: auto, a GPU "
                   "when there is one)")
    # the estimator's values (vaesvm._options.PRECISIONS, which imports torch: not
    # imported for --help; tests/test_cli.py checks that the two agree)
    p.add_argument("--precision", default="auto", choices=("auto", "float32", "bfloat16"),
                   help="training arithmetic of the VAEs (default: auto, bfloat16 on "
                   "hardware with bfloat16 units)")
    p.add_argument("--data-home", default=None, type=_data_home, metavar="DIR",
                   help="folder holding the Fashion-MNIST .gz files (default: "
                   "$VAESVM_DATA, ~/scikit_learn_data/fashion_mnist or Debian's package, "
                   "else downloaded)")


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
                   help=f"small settings for a first look ({_quick_text(command)})")
    p.add_argument("--labels", type=_label_count, nargs="+", default=None,
                   help=f"label counts, multiples of 10 (default: "
                   f"{' '.join(map(str, d.n_labels))})")
    p.add_argument("--seeds", type=_positive_int, default=None,
                   help=f"number of seeds 0..N-1 (default: {len(d.seeds)})")
    p.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"VAE training epochs (default: {d.epochs}, the VAE's max_epochs "
                   "rule: 30, more on training sets of a few thousand images)")
    p.add_argument("--n-train", type=_n_train, default=None,
                   help=f"train images used, labeled + unlabeled (default: {d.n_train})")
    _add_device_and_data(p)
    p.add_argument("--out", default=d.out,
                   help=f"output folder (default: {d.out}); one that holds an earlier run's "
                   "results is refused unless --overwrite is given")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the earlier run in --out: its results.json, results.md "
                   "and figures are removed when this run writes its first result (a run "
                   "that ends before that leaves them as they were); other files are kept")
    p.add_argument("--no-figures", action="store_true", help="write JSON and Markdown only")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="per-epoch VAE log (-v), batch progress bars (-vv)")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``vaesvm`` command."""
    parser = _Parser(prog="vaesvm", description="Semi-supervised classification with "
                     "VAE features and scikit-learn, on Fashion-MNIST.")
    parser.add_argument("--version", action="version", version=f"vaesvm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    study = sub.add_parser("study", help="label-count study with baselines and figures",
                           description="Test accuracy of VAE + SVC / LogReg and of "
                           "raw-pixel and PCA baselines at several label counts and seeds.")
    _common(study, "study")
    study.add_argument("--dataset", choices=list(IMAGE_SETS), default="fashion-mnist",
                       help="image set: " + "; ".join(f"{k}: {v[0]} (default labels "
                                                      f"{' '.join(map(str, v[1]))})"
                                                      for k, v in IMAGE_SETS.items())
                       + " (default: fashion-mnist)")
    study.add_argument("--methods", nargs="+", choices=list(STUDY_METHODS), default=None,
                       metavar="METHOD",
                       help="rows to run, quoted: " + "; ".join(f"'{m}'" for m in STUDY_METHODS)
                       + " (default: all on the other image sets; on fashion-mnist all but "
                       "the suggested-labels, transductive, LabelSpreading and SelfTraining "
                       "rows)")
    ablate = sub.add_parser("ablate", help="vary one VAE setting at a time",
                            description="VAE + SVC accuracy and test ELBO for the "
                            "semi-supervised terms, KL weight, batch norm, activation "
                            "and latent size.")
    _common(ablate, "ablate")
    ablate.add_argument("--factors", nargs="+", choices=list(ABLATION_FACTORS),
                        default=list(ABLATION_FACTORS), help="factors to vary (default: all)")
    ablate.add_argument("--plain-vae", action="store_true",
                        help="vary the reference's M1 VAE ("
                        + ", ".join(f"{k}={v!r}" for k, v in M1_PARAMS.items())
                        + ") instead of the semi-supervised default")

    demo = sub.add_parser("demo", help="quick semi-supervised run: VAE+SVC vs SVC on pixels",
                          description="Train a VAE on Fashion-MNIST (labeled + unlabeled "
                          "train images), fit an RBF SVC on the latent means of the labeled "
                          "images and print the test accuracy next to an RBF SVC on pixels.")
    demo.add_argument("--labels", type=_label_count, default=100,
                      help="number of labeled images, a multiple of 10 (default: 100)")
    demo.add_argument("--epochs", type=_positive_int, default=10,
                      help="VAE training epochs (default: 10)")
    demo.add_argument("--n-train", type=_n_train, default=N_TRAIN_MAX,
                      help=f"train images used, labeled + unlabeled (default: {N_TRAIN_MAX})")
    demo.add_argument("--seed", type=_seed, default=0,
                      help="seed of the labeled subset and the VAE (default: 0)")
    _add_device_and_data(demo)
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
    start = time.perf_counter()
    check_labels_within_n_train([args.labels], args.n_train)
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    from . import VAETransformer
    from .datasets import make_semi_supervised_split
    from .study.progress import Progress
    from .study.runner import check_device, check_label_counts, load_data

    check_device(args.device)
    data = load_data(args.data_home)
    check_label_counts(data.y_train, [args.labels], args.n_train)
    X_train, y_train = data.X_train[: args.n_train], data.y_train[: args.n_train]
    labeled, unlabeled = make_semi_supervised_split(y_train, args.labels,
                                                    random_state=args.seed)
    X_lab, y_lab = X_train[labeled], y_train[labeled]
    print(f"Fashion-MNIST from {data.data_dir}: {len(labeled)} labeled + "
          f"{len(unlabeled)} unlabeled train images, {len(data.X_test)} test images")
    pipe = Pipeline([
        ("vae", VAETransformer(max_epochs=args.epochs, device=args.device,
                               precision=args.precision, random_state=args.seed,
                               verbose=args.verbose)),
        ("svc", SVC()),
    ])
    with Progress(args.epochs + 2) as progress:
        progress("training the VAE, then VAE + SVC on the test set")
        pipe.fit(X_lab, y_lab, vae__X_unlabeled=X_train[unlabeled])
        vae_acc = pipe.score(data.X_test, data.y_test)
        progress("SVC on raw pixels")
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
    except KeyboardInterrupt as exc:
        kept = getattr(exc, "kept_results", None)
        print(f"vaesvm: interrupted{f'; finished cells are kept in {kept}' if kept else ''}",
              file=sys.stderr)
        return 130
    except (OSError, ValueError, ImportError, FloatingPointError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the exception says
        kept = getattr(exc, "kept_results", None)
        print(f"vaesvm: error: {message}"
              f"{f' (finished cells are kept in {kept})' if kept else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
