"""Settings of ``vaesvm study`` and ``vaesvm ablate``, each default written once.

:data:`DEFAULTS` holds one entry per command. The command line reads its option
defaults and help texts from it, :func:`vaesvm.study.runner.make_config` starts
from it, and :class:`StudyConfig`'s field defaults are the study's entry.
:data:`QUICK` holds the ``--quick`` settings, :data:`ABLATION_FACTORS` the names of
the ablation factors and :data:`M1_PARAMS` the reference's plain VAE.

This module imports neither torch nor scikit-learn: the command line builds its
parser (and answers ``--help``) from it alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .. import VAETransformer

__all__ = ["ABLATION_FACTORS", "CommandDefaults", "DEFAULTS", "IMAGE_SETS", "M1_PARAMS",
           "N_TRAIN_MAX", "QUICK", "STUDY_METHODS", "StudyConfig", "check_labels_within_n_train",
           "label_count_problem"]

#: Fashion-MNIST's train images: the most ``--n-train`` can use.
N_TRAIN_MAX = 60000

#: The reference's plain M1 VAE: MLP encoder, no labels, no augmentation, and the
#: latent means themselves as features (no embedding propagation).
M1_PARAMS: dict[str, Any] = {"label_weight": 0.0, "augmentation": "none", "encoder": "mlp",
                             "propagation_alpha": 0.0}

#: The factors ``vaesvm ablate`` varies, in order (the keys of
#: :data:`vaesvm.study.experiments.ABLATIONS`, whose labels need torch).
ABLATION_FACTORS: tuple[str, ...] = (
    "semi_supervision", "label_weight", "augmentation", "denoising", "propagation",
    "encoder", "kl_weight", "batch_norm", "activation", "n_components")

#: The rows ``vaesvm study`` can run (``--methods``), in table order: the keys of
#: :data:`vaesvm.study.experiments.METHODS`, whose classifiers need scikit-learn. The
#: suggested-labels and transductive rows and the last three, scikit-learn's
#: semi-supervised peers, are run on the other image sets (on Fashion-MNIST's 60,000
#: images when asked for by ``--methods``: each costs about as much again there).
STUDY_METHODS: tuple[str, ...] = (
    "SS-VAE + SVC", "SS-VAE + SVC, suggested labels", "SS-VAE + SVC, transductive",
    "SS-VAE means + SVC", "VAE + SVC", "VAE + LogReg", "SVC (pixels)", "PCA + SVC",
    "LogReg (pixels)", "LabelSpreading (pixels)", "LabelSpreading (VAE codes)",
    "SelfTraining (pixels)")

#: ``vaesvm study --dataset``: name -> (description, default label counts). The
#: loaders are in :mod:`vaesvm.study.image_sets`; every set but Fashion-MNIST also
#: gets the semi-supervised peers (LabelSpreading, SelfTraining).
IMAGE_SETS: dict[str, tuple[str, tuple[int, ...]]] = {
    "fashion-mnist": ("Fashion-MNIST, 28 x 28 grey (the reference problem)",
                      (100, 600, 1000, 3000)),
    "digits": ("scikit-learn's 8 x 8 digits, 1,257 train / 540 test images", (50, 100)),
    "fashion-mnist-14": ("Fashion-MNIST downsampled to 14 x 14", (100, 1000)),
    "fashion-mnist-colour": ("Fashion-MNIST tinted at random, 3 x 28 x 28", (100, 1000)),
}


@dataclass(frozen=True)
class CommandDefaults:
    """What one command runs when no option is given.

    Attributes
    ----------
    n_labels : tuple of int
        Label counts (``--labels``).
    seeds : tuple of int
        Seeds (``--seeds N`` means ``0..N-1``).
    epochs : int or "auto"
        VAE training epochs (``--epochs``); ``"auto"``: the VAE's own rule.
    n_train : int
        Train images used, labeled and unlabeled (``--n-train``).
    out : str
        Output folder (``--out``).
    """

    n_labels: tuple[int, ...]
    seeds: tuple[int, ...]
    epochs: int | str
    n_train: int
    out: str

    def settings(self) -> dict[str, Any]:
        """The :class:`StudyConfig` fields these defaults set."""
        return {"n_labels": self.n_labels, "seeds": self.seeds, "epochs": self.epochs,
                "n_train": self.n_train}


#: command -> its defaults.
DEFAULTS: dict[str, CommandDefaults] = {
    "study": CommandDefaults(n_labels=(100, 600, 1000, 3000), seeds=(0, 1, 2),
                             epochs="auto", n_train=60000, out="results/study"),
    "ablate": CommandDefaults(n_labels=(100, 1000), seeds=(0,), epochs="auto",
                              n_train=60000, out="results/ablation"),
}

#: command -> the ``--quick`` settings (explicit options still override them).
QUICK: dict[str, dict[str, Any]] = {
    "study": {"n_labels": (100, 1000), "seeds": (0,), "epochs": 5},
    "ablate": {"n_labels": (100, 1000), "seeds": (0,), "epochs": 2, "n_train": 10000},
}

_STUDY = DEFAULTS["study"]


@dataclass
class StudyConfig:
    """Settings of a study or ablation run (all recorded in ``results.json``)."""

    n_labels: tuple[int, ...] = _STUDY.n_labels
    seeds: tuple[int, ...] = _STUDY.seeds
    epochs: int | str = _STUDY.epochs
    n_train: int = _STUDY.n_train
    device: str = "auto"
    precision: str = "auto"
    vae_params: dict[str, Any] = field(default_factory=dict)
    methods: tuple[str, ...] = field(default_factory=lambda: _all_methods())
    verbose: int = 0

    def vae_epochs(self, n_rows: int) -> int:
        """Epochs of this run's VAEs on ``n_rows`` training rows (``"auto"`` resolved)."""
        from .._options import resolve_max_epochs

        vae = self.vae(0)
        return resolve_max_epochs(vae.max_epochs, n_rows, vae.batch_size)

    def vae(self, seed: int, **overrides: Any) -> VAETransformer:
        """The VAE of this run for ``seed``, with ablation ``overrides``."""
        from .. import VAETransformer

        params = {"max_epochs": self.epochs, "device": self.device,
                  "precision": self.precision, "random_state": seed,
                  "verbose": self.verbose, **self.vae_params, **overrides}
        return VAETransformer(**params)


def _all_methods() -> tuple[str, ...]:
    """The Fashion-MNIST study's methods (imported when a config is made, not for --help)."""
    from .experiments import METHODS

    return tuple(name for name, m in METHODS.items()
                 if not (m.transductive or m.test_unlabeled or m.labels == "suggested"))


def check_labels_within_n_train(n_labels, n_train: int) -> None:
    """Refuse a label count above ``--n-train`` (before any data is loaded).

    Parameters
    ----------
    n_labels : iterable of int
        The label counts (``--labels``).
    n_train : int
        ``--n-train``.
    """
    too_many = [n for n in n_labels if n > n_train]
    if too_many:
        raise ValueError(f"--labels {too_many[0]} is more than the {n_train} train images of "
                         "--n-train; raise --n-train or lower --labels")


def label_count_problem(y, n_labels: int, class_names=None) -> str | None:
    """Why ``n_labels`` class-balanced labels cannot be drawn from labels ``y``, or None.

    Parameters
    ----------
    y : array-like of int
        The labels the subset is drawn from (classes 0 to 9).
    n_labels : int
        The label count (one tenth per class).
    class_names : sequence of str, optional
        The names of the 10 classes (default: Fashion-MNIST's).

    Returns
    -------
    str or None
        What is missing, e.g. ``"only 2 images of class 8 (Bag)"``; None when the
        draw is possible.
    """
    import numpy as np

    if class_names is None:
        from ..datasets import CLASS_NAMES as class_names

    counts = np.bincount(np.asarray(y), minlength=10)
    per_class = n_labels // 10
    if counts.min() == 0:
        c = int(np.flatnonzero(counts == 0)[0])
        return f"no image of class {c} ({class_names[c]})"
    c = int(np.argmin(counts))
    if counts[c] < per_class:
        plural = "s" if counts[c] != 1 else ""
        return f"only {counts[c]} image{plural} of class {c} ({class_names[c]})"
    return None
