"""
=====================================================================
Fashion-MNIST at 100 labels, next to scikit-learn's semi-supervised
=====================================================================

With 100 labeled images of clothes (ten per class) and a few thousand
unlabeled ones, how does ``Pipeline([VAETransformer, SVC])`` compare with what a
scikit-learn user would try first? The peers here are an RBF
:class:`~sklearn.svm.SVC` on the pixels of the labeled images, and two of
scikit-learn's own semi-supervised estimators, which like the VAE also learn
from the unlabeled images: :class:`~sklearn.semi_supervised.LabelSpreading` on
a k-nearest-neighbour graph of the pixels, and
:class:`~sklearn.semi_supervised.SelfTrainingClassifier` around an SVC.

This is a small, fast run so that the documentation builds in minutes: 5,000
training images, 2,000 test images, a VAE trained for 10 epochs, one labeled
subset. Its numbers move with the subset and the seed. The full study (all
60,000 training images, the official 10,000 test images, 100 to 3,000 labels,
several labeled subsets and seeds, more baselines) is run by ``vaesvm study``;
its tables and figures are in :doc:`the results </results>`.
"""

# %%
# The data
# --------
# :func:`~vaesvm.load_fashion_mnist` reads the four official files (from the
# data home, or where Debian's ``dataset-fashion-mnist`` package puts them) and
# downloads them if they are nowhere to be found. Pixels are float32 in [0, 1].
import numpy as np

from vaesvm import load_fashion_mnist, make_semi_supervised_split

data = load_fashion_mnist()
X_train, y_train = data.X_train[:5000], data.y_train[:5000]
X_test, y_test = data.X_test[:2000], data.y_test[:2000]
labeled, unlabeled = make_semi_supervised_split(y_train, 100, random_state=0)
X_lab, y_lab, X_unl = X_train[labeled], y_train[labeled], X_train[unlabeled]

# %%
# scikit-learn's semi-supervised estimators take every training row at once,
# with ``y = -1`` on the unlabeled ones.
y_semi = np.full(len(y_train), -1)
y_semi[labeled] = y_lab

# %%
# The four models
# ---------------
# ``SelfTrainingClassifier`` needs class probabilities, which
# :class:`~sklearn.calibration.CalibratedClassifierCV` gives the SVC. The VAE
# uses its default settings apart from the number of epochs (30 by default).
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier
from sklearn.svm import SVC

from vaesvm import VAETransformer

results = {}


def evaluate(name, model, X, y, **fit_params):
    model.fit(X, y, **fit_params)
    results[name] = model.score(X_test, y_test)
    print(f"{name:<28} test accuracy {results[name]:.3f}")


evaluate("SVC (pixels)", SVC(), X_lab, y_lab)
evaluate("LabelSpreading (pixels)", LabelSpreading(kernel="knn"), X_train, y_semi)
evaluate("SelfTraining(SVC) (pixels)",
         SelfTrainingClassifier(CalibratedClassifierCV(SVC(), ensemble=False)),
         X_train, y_semi)
evaluate("VAETransformer + SVC",
         Pipeline([("vae", VAETransformer(max_epochs=10, random_state=0)), ("svc", SVC())]),
         X_lab, y_lab, vae__X_unlabeled=X_unl)

# %%
# The comparison
# --------------
import matplotlib.pyplot as plt

names = list(results)
fig, ax = plt.subplots(figsize=(7.5, 3.2))
bars = ax.barh(names, [100 * results[n] for n in names],
               color=["0.65", "0.65", "0.65", "tab:blue"])
ax.bar_label(bars, fmt="%.1f%%", padding=3)
ax.invert_yaxis()
ax.set_xlim(0, 100)
ax.set_xlabel("test accuracy (%) on 2,000 test images (a small run)")
ax.set_title("Fashion-MNIST: 100 labels, 4,900 unlabeled images")
fig.tight_layout()
plt.show()
