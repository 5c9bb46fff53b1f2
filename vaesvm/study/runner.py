"""What ``vaesvm study`` and ``vaesvm ablate`` run: settings, progress bar, outputs, figures.

:func:`run_command` turns the parsed command line into a :class:`StudyConfig`
(:func:`make_config`), checks every option before any work (errors name the option),
runs the experiments with a progress bar counted in VAE epochs, keeps
``results.json`` up to date after every cell, draws the figures and then writes
``results.json`` / ``results.md`` once, with the wall time it prints. A run that
fails before its first cell leaves nothing behind.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Any

from .._options import RULE_TEXTS
from .config import (
    DEFAULTS,
    IMAGE_SETS,
    N_TRAIN_MAX,
    QUICK,
    StudyConfig,
    check_labels_within_n_train,
    label_count_problem,
)
from .experiments import (
    ABLATIONS,
    M1_PARAMS,
    METHODS,
    REFERENCE,
    config_dict,
    run_ablation,
    run_study,
    setting_key,
    vae_fits,
    validation_split,
    versions,
)
from .progress import Progress
from .report import ResultsWriter

__all__ = ["STUDY_NOTE", "check_device", "check_label_counts", "load_data", "make_config",
           "run_command"]

STUDY_NOTE = (
    "Each seed and label count draws its own class-balanced labeled subset. "
    "SS-VAE + SVC is the package default, fitted as the user's Pipeline([('vae', "
    "VAETransformer()), ('svc', SVC())]).fit(X_labeled, y_labeled, "
    "vae__X_unlabeled=all other train images): one semi-supervised VAE per seed and "
    f"label count (labels in the loss, weighted by label_weight='auto' = "
    f"{RULE_TEXTS['label_weight_rule']}, shift/flip augmentation, denoising, convolutional "
    "encoder), whose transform smooths the latent means over the 10-nearest-neighbour "
    "graph of the training codes (embedding propagation, propagation_alpha='auto' = "
    f"{RULE_TEXTS['propagation_rule']}); SS-VAE means + SVC is the same VAE's latent means "
    "without propagation. The VAE rows are the reference's M1 recipe: one MLP VAE per seed "
    "trained on all 60,000 train images without labels, augmentation or propagation and "
    "shared by every label count of that seed, as in the reference study. The SVCs on "
    "latent means are scikit-learn's default RBF SVC (C=1, gamma='scale'); the pixel and "
    "PCA SVCs choose C in {1, 10, 100} and gamma in {0.25, 1, 4} x the 'scale' value by "
    "stratified k-fold CV on the labeled subset (k = min(5, labels per class)). These "
    "choices were made on validation data (10,000 held-out train images; "
    "benchmarks/validation/select_defaults.py). Features are not standardized. PCA (50 "
    "components) is fitted on all train images. The test set is used only for the "
    "reported accuracies."
)


def make_config(args: argparse.Namespace) -> StudyConfig:
    """Build the run's settings from ``args``.

    The command's :data:`~vaesvm.study.config.DEFAULTS`, then its
    :data:`~vaesvm.study.config.QUICK` settings with ``--quick``, then the options
    given explicitly.
    """
    settings = DEFAULTS[args.command].settings()
    if args.quick:
        settings.update(QUICK[args.command])
    if args.labels:  # multiples of 10: the parser's --labels type checks it
        settings["n_labels"] = tuple(args.labels)
    if args.seeds:
        settings["seeds"] = tuple(range(args.seeds))
    if args.epochs:
        settings["epochs"] = args.epochs
    if args.n_train:
        settings["n_train"] = args.n_train
    if getattr(args, "plain_vae", False):
        settings["vae_params"] = dict(M1_PARAMS)
    dataset = getattr(args, "dataset", "fashion-mnist")
    if dataset != "fashion-mnist":  # another image set: its label counts, all its images
        settings["n_labels"] = tuple(args.labels) if args.labels else IMAGE_SETS[dataset][1]
        settings["n_train"] = args.n_train or N_TRAIN_MAX
        settings["methods"] = tuple(METHODS)  # with the LabelSpreading baseline
    check_labels_within_n_train(settings["n_labels"], settings["n_train"])
    return StudyConfig(**settings, device=args.device, precision=args.precision,
                       verbose=max(0, args.verbose))


def check_device(device: str) -> None:
    """Refuse a ``--device`` this machine cannot train on, naming the option."""
    if device in ("auto", "cpu"):
        return
    import torch

    if not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available on this machine "
                         f"(torch {torch.__version__}); use --device auto or --device cpu")
    index = torch.device(device).index
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        raise ValueError(f"--device {device}: this machine has {count} CUDA device"
                         f"{'s' * (count != 1)} (cuda:0 to cuda:{count - 1})")


def _load(args: argparse.Namespace, config: StudyConfig):
    """The run's data; another image set also fixes ``n_train`` and the image shape."""
    dataset = getattr(args, "dataset", "fashion-mnist")
    if dataset == "fashion-mnist":
        return load_data(args.data_home)
    from .image_sets import load_image_set

    data = load_image_set(dataset, data_home=args.data_home)
    config.n_train = min(config.n_train, len(data.y_train))
    if data.image_shape is not None:
        config.vae_params = {"image_shape": data.image_shape, **config.vae_params}
    return data


def load_data(data_home: str | None):
    """Fashion-MNIST for the command line; errors speak of ``--data-home``."""
    from .. import datasets

    try:
        return datasets.load_fashion_mnist(data_home)
    except (OSError, ValueError) as exc:
        message = str(exc).replace("pass data_home=... pointing to a directory",
                                   "pass --data-home DIR naming a folder")
        raise type(exc)(message) from exc


def check_label_counts(y_train, n_labels, n_train: int, *, pool=None) -> None:
    """Refuse label counts that the first ``n_train`` train images cannot supply.

    Parameters
    ----------
    y_train : ndarray
        All train labels of the loaded data.
    n_labels : iterable of int
        The label counts (``--labels``).
    n_train : int
        ``--n-train``.
    pool : ndarray, optional
        The indices of the first ``n_train`` images that labeled subsets are drawn
        from (all of them by default; the ablation holds validation images out).
    """
    if n_train > len(y_train):
        raise ValueError(f"--n-train {n_train}: there are only {len(y_train)} train images")
    y = y_train[:n_train] if pool is None else y_train[:n_train][pool]
    where = "" if pool is None else " outside the held-out validation images"
    for n in n_labels:
        problem = label_count_problem(y, n)
        if problem:
            raise ValueError(f"--labels {n} needs {n // 10} labeled images per class, but "
                             f"the first --n-train {n_train} train images hold {problem}"
                             f"{where}; raise --n-train or lower --labels")


def _study_steps(config: StudyConfig, figures: bool) -> int:
    """Progress steps of a study: VAE epochs (+1 for their features), classifiers, figures."""
    from .figures import study_figure_steps

    features = {METHODS[m].features for m in config.methods}
    vae = config.epochs + 1
    per_label = len(config.methods) + vae * bool(features & {"ssvae", "ssvae_mu"})
    steps = len(config.seeds) * (vae * ("vae" in features) + len(config.n_labels) * per_label)
    return steps + (study_figure_steps(config, features) if figures else 0)


def _ablation_steps(config: StudyConfig, factors: list[str], figures: bool) -> int:
    """Progress steps of an ablation: per seed and distinct setting, its VAEs' epochs + 1."""
    from .figures import ablation_figure_steps

    settings = {setting_key(config, o): o for f in factors for _, o in ABLATIONS[f]}
    per_seed = sum(vae_fits(config, o) * (config.epochs + 1) for o in settings.values())
    return len(config.seeds) * per_seed + (ablation_figure_steps(factors) if figures else 0)


def _results_writer(args: argparse.Namespace, config: StudyConfig) -> ResultsWriter:
    """The writer of the run's folder (fails at once, naming ``--out``, when unusable)."""
    study = args.command == "study"
    dataset = getattr(args, "dataset", "fashion-mnist")
    note = STUDY_NOTE if study else None
    if study and dataset == "fashion-mnist" and config.n_train < N_TRAIN_MAX:
        note = note.replace("all 60,000 train images", f"the first {config.n_train} train images")
    if study and dataset != "fashion-mnist":
        note = (f"Image set: {IMAGE_SETS[dataset][0]} (vaesvm.study.image_sets; all its "
                "train images, official or fixed test split). LabelSpreading (pixels) is "
                "scikit-learn's LabelSpreading(kernel='knn', n_neighbors=7) on all train "
                "pixels, the unlabeled ones marked -1. Otherwise as in the Fashion-MNIST "
                "study: " + STUDY_NOTE)
    meta = {"command": args.command_line, "config": config_dict(config),
            "versions": versions(), "note": note, "dataset": dataset}
    if not study:
        meta["factors"] = list(args.factors)
    try:
        return ResultsWriter(args.out, "study" if study else "ablation", meta,
                             REFERENCE if study and dataset == "fashion-mnist" else None)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OSError(f"--out {args.out}: cannot create or write this folder ({reason}); "
                      "choose a folder you can write to") from exc


def run_command(args: argparse.Namespace) -> pathlib.Path:
    """Run ``vaesvm study`` or ``vaesvm ablate`` as parsed in ``args``; return the folder.

    An exception that ends the run after some cells carries the path of the
    ``results.json`` that keeps them as ``kept_results``.
    """
    config = make_config(args)
    check_device(config.device)
    figures = not args.no_figures and _have_matplotlib()
    if not args.no_figures and not figures:
        print("vaesvm: matplotlib is not installed, so no figures will be made; "
              "pip install 'vaesvm[plot]' to get them.", file=sys.stderr)
    writer = _results_writer(args, config)
    try:
        _run(args, config, writer, figures)
    except BaseException as exc:
        if writer.cells:
            writer.finish(complete=False)
            exc.kept_results = writer.out / "results.json"
        else:
            writer.discard()
        raise
    writer.finish(complete=True)
    print(writer.markdown())
    print(f"Results in {writer.out}/ (results.json, results.md"
          f"{', *.png' if figures else ''})")
    return writer.out


def _run(args: argparse.Namespace, config: StudyConfig, writer: ResultsWriter,
         figures: bool) -> None:
    """Load the data, run the cells and draw the figures, under one progress bar."""
    study = writer.kind == "study"
    data = _load(args, config)
    pool = None if study else validation_split(min(config.n_train, len(data.y_train)))[0]
    check_label_counts(data.y_train, config.n_labels, config.n_train, pool=pool)
    vaes: dict[str, Any] = {}

    def keep_vae(seed: int, n: int | None, vae) -> None:
        writer.add_vae({"seed": seed, "n_labels": n, "history": vae.history_})
        vaes.setdefault("m1" if n is None else "ss", (seed, vae))

    from .figures import ablation_figures, study_figures

    if study:
        with Progress(_study_steps(config, figures)) as progress:
            run_study(data, config, on_cell=writer.add, progress=progress, on_vae=keep_vae)
            if figures:
                study_figures(writer, data, vaes, progress)
    else:
        with Progress(_ablation_steps(config, args.factors, figures)) as progress:
            run_ablation(data, config, args.factors, on_cell=writer.add, progress=progress)
            if figures:
                ablation_figures(writer, progress)


def _have_matplotlib() -> bool:
    """Whether matplotlib can be imported (figures are made only then)."""
    from .plots import require_matplotlib

    try:
        require_matplotlib()
    except ImportError:
        return False
    return True
