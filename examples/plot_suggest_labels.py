"""
======================================
Which images should I label first?
======================================

Before any label exists, :func:`~vaesvm.suggest_labels` picks the images most
worth sending to annotators: it trains a :class:`~vaesvm.VAETransformer` on the
whole unlabeled pool, splits the codes into as many k-means clusters as there
will be labels, and takes the most *typical* image of each cluster (the one in
the densest neighbourhood). The picks are representative and diverse, and no
label was needed to choose them.

This example picks 30 of scikit-learn's 8x8 digits, shows them, "labels" them
with their true classes, and trains the default Pipeline on them, next to the
same Pipeline on 30 images drawn at random.
"""

# %%
# Pick 30 images from the pool
# ----------------------------
# The pool is the 1,500 training digits; their labels are not used to choose.
# The VAE fitted here is passed to ``suggest_labels`` through ``estimator``, so
# it is trained once and can be reused for the next round.
import numpy as np
from sklearn.datasets import load_digits

from vaesvm import VAETransformer, suggest_labels

X, y = load_digits(return_X_y=True)
X = X / 16
X_pool, y_pool, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]

vae = VAETransformer(random_state=0).fit(X_pool)
picked = suggest_labels(X_pool, 30, estimator=vae, random_state=0)
print("classes of the picked images:", np.bincount(y_pool[picked], minlength=10))

# %%
# The picked images
# -----------------
# One per cluster, largest cluster first. Nothing forced them to be balanced;
# their true classes are in the titles.
import matplotlib.pyplot as plt

fig, axes = plt.subplots(3, 10, figsize=(8, 2.8))
for ax, i in zip(axes.ravel(), picked):
    ax.imshow(X_pool[i].reshape(8, 8), cmap="gray_r")
    ax.set_title(str(y_pool[i]), fontsize=9)
    ax.set_axis_off()
fig.suptitle("The 30 digits suggest_labels picks first (true class above each)")
fig.tight_layout()

# %%
# Train on them
# -------------
# The annotators' labels (here the true ones) go to the default Pipeline, the
# other images stay unlabeled. The same Pipeline trained on 30 images drawn at
# random (three draws) shows what the choice buys on this run.
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC


def accuracy(labeled):
    unlabeled = np.setdiff1d(np.arange(len(X_pool)), labeled)
    pipe = Pipeline([("vae", VAETransformer(random_state=0)), ("svc", SVC())])
    pipe.fit(X_pool[labeled], y_pool[labeled], vae__X_unlabeled=X_pool[unlabeled])
    return pipe.score(X_test, y_test)


suggested = accuracy(picked)
rng = np.random.RandomState(0)
drawn = [accuracy(rng.choice(len(X_pool), 30, replace=False)) for _ in range(3)]
print(f"30 suggested labels: {suggested:.3f} test accuracy")
print(f"30 random labels:    {np.mean(drawn):.3f} +- {np.std(drawn):.3f} (3 draws)")

# %%
# The next round
# --------------
# With the labels collected so far in ``y`` (``-1`` on the others) and a model
# fitted on them, ``suggest_labels`` covers what the labels do not yet cover
# and, within each new cluster, prefers an image the classifier is unsure of.
y_known = np.full(len(X_pool), -1)
y_known[picked] = y_pool[picked]
unlabeled = np.setdiff1d(np.arange(len(X_pool)), picked)
pipe = Pipeline([("vae", VAETransformer(random_state=0)), ("svc", SVC())])
pipe.fit(X_pool[picked], y_pool[picked], vae__X_unlabeled=X_pool[unlabeled])
more = suggest_labels(X_pool, 20, y_known, estimator=pipe, random_state=0)
print("next 20:", np.bincount(y_pool[more], minlength=10))
plt.show()
