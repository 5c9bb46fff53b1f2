"""
=================================================================
Unlabeled rows marked ``y = -1`` in one ``fit(X, y)``
=================================================================

scikit-learn's semi-supervised estimators
(:mod:`sklearn.semi_supervised`) take all training rows in one ``fit(X, y)``,
with the label ``-1`` on the unlabeled ones. :class:`~vaesvm.VAETransformer`
follows the same convention: rows labeled ``-1`` are unlabeled data for the
VAE. But in ``Pipeline([("vae", VAETransformer()), ("svc", SVC())])`` the
Pipeline passes the same ``y`` to the SVC, which knows nothing of the
convention: it learns ``-1`` as one more class, the largest by far, and
predicts "unlabeled" for most images, or all of them. Wrapping the classifier as
:class:`~vaesvm.LabeledOnlyClassifier` fits (and scores) it on the labeled rows
only. This example shows both, on scikit-learn's 8x8 digits with 100 labels.
"""

# %%
# One ``y`` for all training rows
# -------------------------------
# The 1,500 training digits, 100 of them labeled, the other 1,400 marked ``-1``;
# 297 digits for testing.
import numpy as np
from sklearn.datasets import load_digits

from vaesvm import make_semi_supervised_split

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
labeled, _ = make_semi_supervised_split(y_train, 100, random_state=0)
y_semi = np.full_like(y_train, -1)
y_semi[labeled] = y_train[labeled]
print("labels in y_semi:", np.unique(y_semi))

# %%
# A bare SVC learns ``-1`` as a class
# -----------------------------------
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer

bare = Pipeline([("vae", VAETransformer(random_state=0)), ("svc", SVC())])
bare.fit(X_train, y_semi)
print("classes of the bare SVC:", bare.classes_)
print(f"bare SVC test accuracy: {bare.score(X_test, y_test):.3f}")

# %%
# ``LabeledOnlyClassifier`` hides the unlabeled rows from the classifier
# ----------------------------------------------------------------------
# The VAE still trains on all 1,500 rows; the SVC inside the wrapper sees the
# codes of the 100 labeled ones. Its ``score`` ignores rows labeled ``-1`` too,
# so ``GridSearchCV`` and ``cross_val_score`` can take ``y_semi`` as it is.
from vaesvm import LabeledOnlyClassifier

wrapped = Pipeline([("vae", VAETransformer(random_state=0)),
                    ("svc", LabeledOnlyClassifier(SVC()))])
wrapped.fit(X_train, y_semi)
print("classes of the wrapped SVC:", wrapped.classes_)
print("labeled rows it was fitted on:", wrapped.named_steps["svc"].n_labeled_)
print(f"wrapped SVC test accuracy: {wrapped.score(X_test, y_test):.3f}")

# %%
# What each pipeline predicts
# ---------------------------
# How often each label is predicted for the 297 test digits, which hold about
# 30 of each digit and no ``-1``.
import matplotlib.pyplot as plt

labels = np.arange(-1, 10)
fig, ax = plt.subplots(figsize=(7.5, 3.4))
for offset, (name, model) in zip((-0.2, 0.2), (("bare SVC()", bare),
                                               ("LabeledOnlyClassifier(SVC())", wrapped))):
    counts = [(model.predict(X_test) == label).sum() for label in labels]
    ax.bar(labels + offset, counts, width=0.4,
           label=f"{name}: accuracy {model.score(X_test, y_test):.1%}")
ax.set_xticks(labels, ["-1\n(unlabeled)", *map(str, range(10))])
ax.set_xlabel("predicted label")
ax.set_ylabel("test digits")
ax.set_title("fit(X, y) with y = -1 on 1,400 of 1,500 rows")
ax.legend()
fig.tight_layout()
plt.show()
