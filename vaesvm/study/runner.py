"""What ``vaesvm study`` and ``vaesvm ablate`` run: settings, progress bar, outputs, figures.

:func:`run_command` turns the parsed command line into a :class:`StudyConfig`
(:func:`make_config`), checks every option before any training (errors name the
option: label counts below a method's minimum, ``--n-train`` below PCA's
components, an ``--out`` that is a file or holds an earlier run without
``--overwrite``), runs the experiments with a progress bar counted in VAE epochs,
keeps ``results.json`` up to date after every cell, draws the figures and then
writes ``results.json`` / ``results.md`` once, with the wall time it prints. A run
that fails before its first cell leaves nothing behind (and an earlier run it was
told to replace as it was).

The study's note (:func:`study_note`) is rendered from the data loaded and the
options the estimator's rules resolve for it, before training, and corrected from
the trained VAEs should they differ; :func:`rerender_study_note` renders it again
for a finished run's folder without training.
"""

from __future__ import annotations

import argparse
import dataclasses
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
    fitted_options,
    rows_by_vae,
    run_ablation,
    run_study,
    setting_key,
    study_options,
    vae_fits,
    validation_split,
    versions,
)
from .progress import Progress
from .report import ResultsWriter, earlier_run_files, write_document

__all__ = ["check_device", "check_label_counts", "check_label_minimum",
           "check_n_train_minimum", "load_data", "make_config", "rerender_study_note",
           "run_command", "study_note"]

#: Words for the encoders and augmentations the estimator's rules resolve to.
_ENCODER_WORDS = {"conv": "convolutional encoder", "mlp": "MLP encoder"}
_AUGMENTATION_WORDS = {"none": "none", "shift": "shifts", "shift_flip": "shifts and mirror flips"}


def _train_images(config: StudyConfig, data) -> str:
    """``"all 60,000 train images"`` or ``"the first 600 of the 60,000 train images"``."""
    total = len(data.y_train)
    if config.n_train >= total:
        return f"all {total:,} train images"
    return f"the first {config.n_train:,} of the {total:,} train images"


def _shape_words(shape) -> str:
    """``"28 x 28 images"`` (grey), ``"3 x 28 x 28 images"`` or ``"plain features"``."""
    if shape is None:
        return "plain features"
    channels, *side = shape
    return " x ".join(map(str, side if channels == 1 else shape)) + " images"


def _one_or_each(values: set[str]) -> str:
    """One value, or the values that differ between label subsets."""
    if len(values) == 1:
        return next(iter(values))
    return " or ".join(sorted(values)) + ", depending on the labeled subset"


def _suggested_words(config: StudyConfig, images: str) -> str:
    """The sentence on the suggested-labels row, when the run has it."""
    from .experiments import SUGGESTED

    if SUGGESTED not in config.methods:
        return ""
    return (f"{SUGGESTED} is the same Pipeline fitted on the images vaesvm.suggest_labels "
            "picks, with their true labels, instead of a random class-balanced subset: it "
            f"picks from the codes of a default VAE trained on {images} without labels (one "
            f"per seed, shared by the label counts), {RULE_TEXTS['suggest_rule']}. ")


def _transductive_words(config: StudyConfig) -> str:
    """The sentence on the transductive row, when the run has it."""
    from .experiments import TRANSDUCTIVE

    if TRANSDUCTIVE not in config.methods:
        return ""
    return (f"{TRANSDUCTIVE} is the same Pipeline with the test images added to "
            "vae__X_unlabeled (the transductive recipe: the images to classify are known "
            "when fitting, as they are to a graph method); it is a VAE of its own per seed "
            "and label count, and the other rows never see the test images. ")


def _spreading_words(config: StudyConfig, images: str) -> str:
    """The sentence on the LabelSpreading rows, when the run has them."""
    from .experiments import LABEL_SPREADING, METHODS, label_spreading

    rows = [m for m in config.methods if METHODS[m].classifier is label_spreading]
    if not rows:
        return ""
    spreading = label_spreading(range(config.n_train), 0).get_params()  # its row count
    features = {"pixels": "the pixels", "vae": "the M1 VAE's latent means"}
    on = " and ".join(f"{features[METHODS[m].features]} ({m})" for m in rows)
    return (f"LabelSpreading is scikit-learn's LabelSpreading(kernel='{spreading['kernel']}', "
            f"n_neighbors={spreading['n_neighbors']}, alpha={spreading['alpha']:g}) on {on} "
            f"of {images}, the unlabeled ones marked -1 (settings chosen on validation "
            "data: benchmarks/validation/peers.py; 7 neighbours below "
            f"{LABEL_SPREADING['few_rows']:,} train images, 20 from there on); it classifies "
            "the test images by their neighbours among the train images. ")


def _self_training_words(config: StudyConfig, images: str) -> str:
    """The sentence on the SelfTraining row, when the run has it."""
    from .experiments import METHODS, SelfTrainingSVC, self_training

    if not any(METHODS[m].classifier is self_training for m in config.methods):
        return ""
    p = SelfTrainingSVC().get_params()
    return ("SelfTraining is scikit-learn's SelfTrainingClassifier(criterion="
            f"'{p['criterion']}', threshold={p['threshold']:g}, max_iter={p['max_iter']}) "
            "around the pixel SVC (C and gamma chosen by the same cross-validation on the "
            "labeled images, probabilities calibrated by CalibratedClassifierCV(ensemble="
            f"False)), fitted on the pixels of {images}, the unlabeled ones marked -1 "
            "(settings chosen on validation data: benchmarks/validation/self_training.py). ")


def study_note(dataset: str, data, config: StudyConfig,
               options: dict[tuple[int, int], dict[str, Any]]) -> str:
    """The study's methods in words, as this run applies them to this data.

    Parameters
    ----------
    dataset : str
        A key of :data:`~vaesvm.study.config.IMAGE_SETS`.
    data : Bunch
        The loaded data (its train images and, for image sets, ``description``).
    config : StudyConfig
        The run's settings, ``n_train`` as used.
    options : dict
        ``(seed, n_labels) -> {"image_shape", "encoder", "augmentation"}`` of the
        semi-supervised VAEs, from :func:`~vaesvm.study.experiments.study_options`
        (or, once trained, :func:`~vaesvm.study.experiments.fitted_options`).

    Returns
    -------
    str
        One paragraph for ``results.json`` and ``results.md``.
    """
    from .experiments import CV_MAX_FOLDS, CV_MIN_FOLDS, PCA_COMPONENTS, SVC_C, \
        SVC_GAMMA_FACTORS

    images = _train_images(config, data)
    vae = config.vae(0)
    shapes = {_shape_words(o["image_shape"]) for o in options.values()}
    encoders = {_ENCODER_WORDS.get(o["encoder"], o["encoder"]) for o in options.values()}
    augmentations = {_AUGMENTATION_WORDS.get(o["augmentation"], o["augmentation"])
                     for o in options.values()}
    augmentation = (f"augmentation='auto' = {_one_or_each(augmentations)} here "
                    f"({RULE_TEXTS['augment_rule']})" if vae.augmentation == "auto"
                    else f"augmentation={vae.augmentation!r}")
    grid_c = ", ".join(f"{c:g}" for c in SVC_C)
    grid_gamma = ", ".join(f"{g:g}" for g in SVC_GAMMA_FACTORS)
    head = ""
    if dataset != "fashion-mnist":
        head = f"Image set: {data.description} (vaesvm.study.image_sets). "
    head += _transductive_words(config)
    head += _spreading_words(config, images)
    head += _self_training_words(config, images)
    return head + (
        f"Each seed and label count draws its own class-balanced labeled subset from {images}. "
        "SS-VAE + SVC is the package default, fitted as the user's Pipeline([('vae', "
        "VAETransformer()), ('svc', SVC())]).fit(X_labeled, y_labeled, "
        "vae__X_unlabeled=the other train images): one semi-supervised VAE per seed and "
        f"label count (labels in the loss, weighted by label_weight='auto' = "
        f"{RULE_TEXTS['label_weight_rule']}; the KL term weighted by kl_weight='auto' = "
        f"{RULE_TEXTS['kl_rule']}; {augmentation}; "
        f"{'denoising; ' if vae.denoising else ''}{_one_or_each(encoders)} on "
        f"{_one_or_each(shapes)}), whose transform smooths the latent means over the "
        f"{vae.n_neighbors}-nearest-neighbour graph of the training codes (embedding "
        f"propagation, propagation_alpha='auto' = {RULE_TEXTS['propagation_rule']}); "
        "SS-VAE means + SVC is the same VAE's latent means without propagation. "
        f"{_suggested_words(config, images)}The VAE "
        "rows are the reference's M1 recipe: one MLP VAE per seed trained on "
        f"{images} without labels, augmentation or propagation and shared by every label "
        "count of that seed, as in the reference study. The SVCs on latent means are "
        "scikit-learn's default RBF SVC (C=1, gamma='scale'); the pixel and PCA SVCs "
        f"choose C in {{{grid_c}}} and gamma in {{{grid_gamma}}} x the 'scale' value by "
        f"stratified k-fold CV on the labeled subset (k = min({CV_MAX_FOLDS}, labels per "
        f"class), at least {CV_MIN_FOLDS}). These choices were made on "
        f"{'' if dataset == 'fashion-mnist' else 'Fashion-MNIST '}validation data "
        "(10,000 held-out train images; benchmarks/validation/select_defaults.py). "
        f"Features are not standardized. PCA ({PCA_COMPONENTS} components) is fitted on "
        f"{images}. The test set ({len(data.y_test):,} images) is used only for the "
        "reported accuracies.")


def make_config(args: argparse.Namespace) -> StudyConfig:
    """Build the run's settings from ``args``; refuse those the methods cannot run.

    The command's :data:`~vaesvm.study.config.DEFAULTS`, then its
    :data:`~vaesvm.study.config.QUICK` settings with ``--quick``, then the options
    given explicitly. Another image set than Fashion-MNIST uses all its train images
    unless ``--n-train`` is given (``n_train`` is set when the data is loaded).
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
    if getattr(args, "methods", None):
        settings["methods"] = tuple(m for m in METHODS if m in args.methods)
    config = StudyConfig(**settings, device=args.device, precision=args.precision,
                         verbose=max(0, args.verbose))
    if args.command == "study":
        check_label_minimum(config.n_labels, config.methods)
    if dataset == "fashion-mnist" or args.n_train:
        check_labels_within_n_train(config.n_labels, config.n_train)
        if args.command == "study":
            check_n_train_minimum(config.n_train, config.methods)
    return config


def check_label_minimum(n_labels, methods) -> None:
    """Refuse label counts too small for a method (the tuned SVCs' cross-validation).

    Parameters
    ----------
    n_labels : iterable of int
        The label counts (``--labels``), 10 classes balanced.
    methods : iterable of str
        The methods of the run (keys of :data:`~vaesvm.study.experiments.METHODS`).
    """
    need = {m: METHODS[m].min_labels_per_class for m in methods}
    fewest = max(need.values(), default=1)
    for n in n_labels:
        per_class = n // 10
        if per_class < fewest:
            names = [m for m, k in need.items() if k > per_class]
            names = " and ".join([", ".join(names[:-1]), names[-1]] if names[1:] else names)
            raise ValueError(
                f"--labels {n} gives {per_class} labeled image{'s' * (per_class != 1)} per "
                f"class, but {names} choose C and gamma by stratified cross-validation, "
                f"which needs at least {fewest} per class; use --labels {10 * fewest} or more")


def check_n_train_minimum(n_train: int, methods) -> None:
    """Refuse an ``--n-train`` below the PCA baseline's components."""
    from .experiments import PCA_COMPONENTS

    if any(METHODS[m].features == "pca" for m in methods) and n_train < PCA_COMPONENTS:
        raise ValueError(f"--n-train {n_train}: PCA + SVC fits {PCA_COMPONENTS} PCA "
                         f"components, which needs at least {PCA_COMPONENTS} train images; "
                         f"use --n-train {PCA_COMPONENTS} or more")


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

    kwargs = {"n_train": args.n_train} if args.n_train else {}
    data = load_image_set(dataset, data_home=args.data_home, **kwargs)
    if args.n_train and args.n_train > len(data.y_train):
        raise ValueError(f"--n-train {args.n_train}: the {dataset} image set has "
                         f"{len(data.y_train)} train images; lower --n-train or leave it "
                         "out to use them all")
    config.n_train = args.n_train or len(data.y_train)
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


def check_label_counts(y_train, n_labels, n_train: int, *, pool=None,
                       class_names=None) -> None:
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
    class_names : sequence of str, optional
        The names of the classes (default: Fashion-MNIST's).
    """
    if n_train > len(y_train):
        raise ValueError(f"--n-train {n_train}: there are only {len(y_train)} train images")
    y = y_train[:n_train] if pool is None else y_train[:n_train][pool]
    where = "" if pool is None else " outside the held-out validation images"
    for n in n_labels:
        problem = label_count_problem(y, n, class_names)
        if problem:
            raise ValueError(f"--labels {n} needs {n // 10} labeled images per class, but "
                             f"the first --n-train {n_train} train images hold {problem}"
                             f"{where}; raise --n-train or lower --labels")


def _study_steps(config: StudyConfig, figures: bool, n_test: int) -> int:
    """Progress steps of a study: VAE epochs (+1 for their features), classifiers, figures."""
    from .figures import study_figure_steps

    drawn, suggested, seen_test = rows_by_vae(config.methods)
    suggested, seen_test = len(suggested), len(seen_test)  # an SS-VAE per count each
    features = {METHODS[m].features for m in drawn}
    vae = config.vae_epochs(config.n_train) + 1
    with_test = config.vae_epochs(config.n_train + n_test) + 1  # the transductive VAE
    per_label = (len(drawn) + vae * bool(features & {"ssvae", "ssvae_mu"})
                 + suggested * (vae + 1) + seen_test * (with_test + 1))
    per_seed = vae * ("vae" in features) + vae * bool(suggested)
    steps = len(config.seeds) * (per_seed + len(config.n_labels) * per_label)
    return steps + (study_figure_steps(config, features) if figures else 0)


def _ablation_steps(config: StudyConfig, factors: list[str], figures: bool) -> int:
    """Progress steps of an ablation: per seed and distinct setting, its VAEs' epochs + 1."""
    from .figures import ablation_figure_steps

    settings = {setting_key(config, o): o for f in factors for _, o in ABLATIONS[f]}
    epochs = config.vae_epochs(config.n_train)
    per_seed = sum(vae_fits(config, o) * (epochs + 1) for o in settings.values())
    return len(config.seeds) * per_seed + (ablation_figure_steps(factors) if figures else 0)


def _results_writer(args: argparse.Namespace, config: StudyConfig) -> ResultsWriter:
    """The writer of the run's folder (fails at once, naming ``--out``, when unusable).

    A folder holding an earlier run is refused unless ``--overwrite`` is given.
    """
    study = args.command == "study"
    dataset = getattr(args, "dataset", "fashion-mnist")
    out = pathlib.Path(args.out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {args.out} is a file, not a folder; choose a new "
                              "--out folder")
    earlier = earlier_run_files(out)
    if earlier and not args.overwrite:
        names = ", ".join(p.name for p in earlier[:3]) + (", ..." if len(earlier) > 3 else "")
        raise FileExistsError(f"--out {args.out} holds the results of an earlier run "
                              f"({names}); pass --overwrite to replace them, or choose a new "
                              "--out folder")
    meta = {"command": args.command_line, "config": config_dict(config),
            "versions": versions(), "note": None, "dataset": dataset}
    if not study:
        meta["factors"] = list(args.factors)
    try:
        return ResultsWriter(args.out, "study" if study else "ablation", meta,
                             REFERENCE if study and dataset == "fashion-mnist" else None,
                             replace=earlier)
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
        writer.finish(complete=True)
    except BaseException as exc:
        _end_early(writer, exc)
        raise
    print(writer.markdown())
    print(f"Results in {writer.out}/ (results.json, results.md"
          f"{', *.png' if figures else ''})")
    return writer.out


def _end_early(writer: ResultsWriter, exc: BaseException) -> None:
    """Keep the finished cells of a run that ``exc`` ends, or remove what it created.

    A second Ctrl-C (or a failing disk) while doing so still ends with the first
    exception: ``results.json`` was rewritten after every cell, so it holds them.
    """
    try:
        if writer.cells:
            writer.finish(complete=False)
        else:
            writer.discard()
    except (OSError, KeyboardInterrupt):
        pass
    if writer.cells:
        exc.kept_results = writer.out / "results.json"


def _run(args: argparse.Namespace, config: StudyConfig, writer: ResultsWriter,
         figures: bool) -> None:
    """Load the data, run the cells and draw the figures, under one progress bar."""
    study = writer.kind == "study"
    data = _load(args, config)
    if study:
        check_n_train_minimum(config.n_train, config.methods)
    pool = None if study else validation_split(min(config.n_train, len(data.y_train)))[0]
    check_label_counts(data.y_train, config.n_labels, config.n_train, pool=pool,
                       class_names=data.target_names)
    writer.meta["config"] = config_dict(config)  # n_train and image shape as used
    vaes: dict[str, Any] = {}
    options: dict[tuple[int, int], dict[str, Any]] = {}
    dataset = writer.meta["dataset"]
    if study:
        options = study_options(data, config)
        writer.meta["note"] = study_note(dataset, data, config, options)

    def keep_vae(seed: int, n: int | None, vae) -> None:
        fitted = fitted_options(vae)
        writer.add_vae({"seed": seed, "n_labels": n, "options": fitted,
                        "history": vae.history_})
        vaes.setdefault("m1" if n is None else "ss", (seed, vae))
        if n is not None:  # the note states what the VAEs used, should a rule differ
            options[seed, n] = {k: fitted[k] for k in options[seed, n]}
            writer.meta["note"] = study_note(dataset, data, config, options)

    from .figures import ablation_figures, study_figures

    if study:
        with Progress(_study_steps(config, figures, len(data.y_test))) as progress:
            run_study(data, config, on_cell=writer.add, progress=progress, on_vae=keep_vae)
            if figures:
                study_figures(writer, data, vaes, progress)
    else:
        with Progress(_ablation_steps(config, args.factors, figures)) as progress:
            run_ablation(data, config, args.factors, on_cell=writer.add, progress=progress)
            if figures:
                ablation_figures(writer, progress)


def rerender_study_note(folder, data_home=None) -> dict[str, Any]:
    """Re-state the note and ``n_train`` of a finished study's folder; keep every number.

    The command recorded in ``folder/results.json`` is parsed again and its data
    loaded (nothing is trained), so the note says what that run used, as a run
    of this version writes it. The cells, VAE histories, versions and wall time stay
    as they are; ``note_rerendered_by`` names this version. ``results.json`` and
    ``results.md`` are rewritten.

    Parameters
    ----------
    folder : path-like
        A study's output folder.
    data_home : path-like, optional
        Where the Fashion-MNIST files are (``--data-home``).

    Returns
    -------
    dict
        The rewritten ``results.json`` document.
    """
    import json
    import shlex

    from .. import __version__
    from ..cli import build_parser

    folder = pathlib.Path(folder)
    doc = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    if doc["kind"] != "study":
        raise ValueError(f"{folder} holds an {doc['kind']}, not a study")
    args = build_parser().parse_args(shlex.split(doc["command"])[1:])
    args.data_home = data_home
    recorded = doc["config"]
    config = dataclasses.replace(make_config(args), methods=tuple(recorded["methods"]))
    data = _load(args, config)
    if ([recorded["n_labels"], recorded["seeds"]]
            != [list(config.n_labels), list(config.seeds)]):
        raise ValueError(f"{folder}: the recorded settings are not those of its command")
    recorded["n_train"] = config.n_train
    recorded["vae_params"] = dict(config.vae_params)
    if "image_shape" in config.vae_params:
        recorded["vae_defaults"]["image_shape"] = config.vae_params["image_shape"]
    doc["note"] = study_note(doc.get("dataset", "fashion-mnist"), data, config,
                             study_options(data, config))
    doc["note_rerendered_by"] = f"vaesvm {__version__}"
    write_document(folder, doc, markdown=True)
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def _have_matplotlib() -> bool:
    """Whether matplotlib can be imported (figures are made only then)."""
    from .plots import require_matplotlib

    try:
        require_matplotlib()
    except ImportError:
        return False
    return True
