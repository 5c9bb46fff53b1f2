"""vaesvm: semi-supervised classification with VAE features and scikit-learn.

A variational autoencoder learns a latent code from labeled *and* unlabeled
data; any scikit-learn classifier (an RBF ``SVC`` first of all) classifies from
the latent means::

    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC
    from vaesvm import VAETransformer

    pipe = Pipeline([("vae", VAETransformer()), ("svc", SVC())])
    pipe.fit(X_labeled, y_labeled, vae__X_unlabeled=X_unlabeled)

The public names are imported on first use (PEP 562), so that ``import vaesvm``
and the command line's ``--help`` do not pay for importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

#: public name -> the module that defines it.
_LAZY = {
    "LabeledOnlyClassifier": "._labeled",
    "VAETransformer": "._transformer",
    "load_fashion_mnist": ".datasets",
    "make_semi_supervised_split": ".datasets",
    "suggest_labels": "._suggest",
}

__all__ = ["LabeledOnlyClassifier", "VAETransformer", "load_fashion_mnist",
           "make_semi_supervised_split", "suggest_labels", "__version__"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from ._labeled import LabeledOnlyClassifier
    from ._suggest import suggest_labels
    from ._transformer import VAETransformer
    from .datasets import load_fashion_mnist, make_semi_supervised_split


def __getattr__(name: str) -> Any:
    """Import a public name on first access (and keep it in the module)."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
