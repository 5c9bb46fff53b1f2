"""Settings of ``vaesvm study`` and ``vaesvm ablate``, each default written once.

:data:`DEFAULTS` holds one entry per command. The command line reads its option
defaults and help texts from it, :func:`vaesvm.study.runner.make_config` starts
from it, and :class:`StudyConfig`'s field defaults are the study's entry.
:data:`QUICK` holds the ``--quick`` settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import VAETransformer
from .experiments import METHODS

__all__ = ["CommandDefaults", "DEFAULTS", "QUICK", "StudyConfig"]


@dataclass(frozen=True)
class CommandDefaults:
    """What one command runs when no option is given.

    Attributes
    ----------
    n_labels : tuple of int
        Label counts (``--labels``).
    seeds : tuple of int
        Seeds (``--seeds N`` means ``0..N-1``).
    epochs : int
        VAE training epochs (``--epochs``).
    n_train : int
        Train images used, labeled and unlabeled (``--n-train``).
    out : str
        Output folder (``--out``).
    """

    n_labels: tuple[int, ...]
    seeds: tuple[int, ...]
    epochs: int
    n_train: int
    out: str

    def settings(self) -> dict[str, Any]:
        """The :class:`StudyConfig` fields these defaults set."""
        return {"n_labels": self.n_labels, "seeds": self.seeds, "epochs": self.epochs,
                "n_train": self.n_train}


#: command -> its defaults.
DEFAULTS: dict[str, CommandDefaults] = {
    "study": CommandDefaults(n_labels=(100, 600, 1000, 3000), seeds=(0, 1, 2), epochs=30,
                             n_train=60000, out="results/study"),
    "ablate": CommandDefaults(n_labels=(100, 1000), seeds=(0,), epochs=30, n_train=60000,
                              out="results/ablation"),
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
    epochs: int = _STUDY.epochs
    n_train: int = _STUDY.n_train
    device: str = "auto"
    vae_params: dict[str, Any] = field(default_factory=dict)
    methods: tuple[str, ...] = tuple(METHODS)
    verbose: int = 0

    def vae(self, seed: int, **overrides: Any) -> VAETransformer:
        """The VAE of this run for ``seed``, with ablation ``overrides``."""
        params = {"max_epochs": self.epochs, "device": self.device, "random_state": seed,
                  "verbose": self.verbose, **self.vae_params, **overrides}
        return VAETransformer(**params)
