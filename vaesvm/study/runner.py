"""What ``vaesvm study`` and ``vaesvm ablate`` run: settings, progress bar, outputs, figures.

:func:`run_command` turns the parsed command line into a :class:`StudyConfig`
(:func:`make_config`), runs the experiments with a progress bar, keeps
``results.json`` / ``results.md`` up to date after every cell and draws the figures.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
from typing import Any

from .._options import RULE_TEXTS
from .config import DEFAULTS, QUICK, StudyConfig
from .experiments import (
    ABLATIONS,
    M1_PARAMS,
    METHODS,
    REFERENCE,
    config_dict,
    run_ablation,
    run_study,
    setting_key,
    versions,
)
from .report import ResultsWriter

__all__ = ["STUDY_NOTE", "make_config", "run_command"]

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
    if args.labels:
        bad = [n for n in args.labels if n % 10]
        if bad:
            raise ValueError(f"--labels must be multiples of 10 (one tenth per class); "
                             f"got {bad}")
        settings["n_labels"] = tuple(args.labels)
    if args.seeds:
        settings["seeds"] = tuple(range(args.seeds))
    if args.epochs:
        settings["epochs"] = args.epochs
    if args.n_train:
        settings["n_train"] = args.n_train
    if getattr(args, "plain_vae", False):
        settings["vae_params"] = dict(M1_PARAMS)
    return StudyConfig(**settings, device=args.device, verbose=max(0, args.verbose))


class _Progress:
    """A tqdm bar over the steps of the whole run, described step by step.

    Called with a description when a step starts; used as a context manager, it
    closes the bar (counting the last step) however the run ends.
    """

    def __init__(self, total: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, unit="step", file=sys.stderr, dynamic_ncols=True)
        self.started = False

    def __call__(self, description: str) -> None:
        if self.started:
            self.bar.update(1)
        self.started = True
        self.bar.set_description(description)

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.started:
            self.bar.update(1)
        self.bar.close()


def _study_steps(config: StudyConfig) -> int:
    """Steps of a study: per seed the M1 VAE, per label count the SS-VAE and methods."""
    per_label = len(config.methods) + any(METHODS[m].features in ("ssvae", "ssvae_mu")
                                          for m in config.methods)
    return len(config.seeds) * (1 + len(config.n_labels) * per_label)


def _ablation_steps(config: StudyConfig, factors: list[str]) -> int:
    """Steps of an ablation: the distinct VAE settings, per seed."""
    settings = {setting_key(config, o) for f in factors for _, o in ABLATIONS[f]}
    return len(config.seeds) * len(settings)


def _results_writer(args: argparse.Namespace, config: StudyConfig) -> ResultsWriter:
    """The writer of the run's folder (fails at once when it is not writable)."""
    study = args.command == "study"
    meta = {"command": args.command_line, "config": config_dict(config),
            "versions": versions(), "note": STUDY_NOTE if study else None}
    if not study:
        meta["factors"] = list(args.factors)
    return ResultsWriter(args.out, "study" if study else "ablation", meta,
                         REFERENCE if study else None)


def run_command(args: argparse.Namespace) -> pathlib.Path:
    """Run ``vaesvm study`` or ``vaesvm ablate`` as parsed in ``args``; return the folder."""
    from ..datasets import load_fashion_mnist

    config = make_config(args)
    writer = _results_writer(args, config)
    data = load_fashion_mnist(args.data_home)
    figures = not args.no_figures and _have_matplotlib()
    vaes: dict[str, Any] = {}

    def keep_vae(seed: int, n: int | None, vae) -> None:
        writer.add_vae({"seed": seed, "n_labels": n, "history": vae.history_})
        vaes.setdefault("m1" if n is None else "ss", (seed, vae))

    if writer.kind == "study":
        with _Progress(_study_steps(config)) as progress:
            run_study(data, config, on_cell=writer.add, progress=progress, on_vae=keep_vae)
    else:
        with _Progress(_ablation_steps(config, args.factors)) as progress:
            run_ablation(data, config, args.factors, on_cell=writer.add, progress=progress)
    writer.save(finished=True)
    if figures:
        from .figures import ablation_figures, study_figures

        if writer.kind == "study":
            study_figures(writer, data, vaes)
        else:
            ablation_figures(writer)
    elif not args.no_figures:
        print("vaesvm: matplotlib is not installed, so no figures were made; "
              "pip install 'vaesvm[plot]' to get them.", file=sys.stderr)
    print(writer.markdown())
    print(f"Results in {writer.out}/ (results.json, results.md"
          f"{', *.png' if figures else ''})")
    return writer.out


def _have_matplotlib() -> bool:
    """Whether matplotlib can be imported (figures are made only then)."""
    from .plots import require_matplotlib

    try:
        require_matplotlib()
    except ImportError:
        return False
    return True
