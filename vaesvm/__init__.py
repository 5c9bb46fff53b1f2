"""vaesvm: semi-supervised classification with VAE features and scikit-learn.

A variational autoencoder learns a latent code from labeled *and* unlabeled
data; any scikit-learn classifier (an RBF ``SVC`` first of all) classifies from
the latent means::

    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC
    from vaesvm import VAETransformer

    pipe = Pipeline([("vae", VAETransformer()), ("svc", SVC())])
    pipe.fit(X_labeled, y_labeled, vae__X_unlabeled=X_unlabeled)
"""

from ._labeled import LabeledOnlyClassifier
from ._transformer import VAETransformer
from .datasets import load_fashion_mnist, make_semi_supervised_split

__all__ = ["LabeledOnlyClassifier", "VAETransformer", "load_fashion_mnist",
           "make_semi_supervised_split", "__version__"]

__version__ = "0.1.0"
