"""
======================================================
Tuning the VAE and the SVC together, with a VAE cache
======================================================

:class:`~sklearn.model_selection.GridSearchCV` tunes the parameters of both
steps of ``Pipeline([("vae", VAETransformer()), ("svc", SVC())])`` at once,
named ``vae__...`` and ``svc__...``. Training the VAE is by far the most
expensive part, and most candidates of such a grid differ only in the SVC's
parameters. ``Pipeline(memory=...)`` caches each fitted transformer: candidates
that share the VAE's parameters (and the fold) reuse one fitted VAE instead of
training it again. This example runs the same search with and without the
cache, on scikit-learn's 8x8 digits with 100 labels, and measures the
difference.
"""

# %%
# The data and the pipeline
# -------------------------
# 100 labeled training digits, 1,400 unlabeled ones and 297 for testing, as in
# the quick start. The VAE is small (one hidden layer of 128 units, 10 epochs)
# so that the 19 fits of the uncached search take seconds.
from sklearn.datasets import load_digits
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer, make_semi_supervised_split

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
labeled, unlabeled = make_semi_supervised_split(y_train, 100, random_state=0)
X_lab, y_lab, X_unl = X_train[labeled], y_train[labeled], X_train[unlabeled]

vae = VAETransformer(hidden_layer_sizes=(128,), max_epochs=10, random_state=0)

# %%
# The grid: two latent sizes for the VAE, three values of ``C`` for the SVC,
# 6 candidates, each fitted on 3 folds. The labeled rows are split into folds;
# ``vae__X_unlabeled`` goes whole to every fold's VAE.
from sklearn.model_selection import GridSearchCV

grid = {"vae__n_components": [8, 16], "svc__C": [1, 10, 100]}


def search(memory):
    pipe = Pipeline([("vae", vae), ("svc", SVC())], memory=memory)
    return GridSearchCV(pipe, grid, cv=3)


# %%
# Without and with the cache
# --------------------------
# ``memory`` takes a directory (or a :class:`joblib.Memory`); a temporary one
# here. Without it, each of the 6 candidates trains its own VAE on each of the
# 3 folds: 18 VAE fits, plus one on all labeled rows for the final model. With
# it, the 3 values of ``C`` share one VAE per latent size and fold: 6 VAE fits,
# plus the final one.
import shutil
import tempfile
import time

timings = {}
cache_dir = tempfile.mkdtemp(prefix="vaesvm-example-")
start = time.perf_counter()
cached = search(memory=cache_dir).fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
timings["with memory"] = time.perf_counter() - start
shutil.rmtree(cache_dir)

start = time.perf_counter()
uncached = search(memory=None).fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
timings["without memory"] = time.perf_counter() - start

for name, seconds in sorted(timings.items(), reverse=True):
    print(f"search {name:<15} {seconds:5.1f} s")
print(f"time with memory / without: {timings['with memory'] / timings['without memory']:.2f}")

# %%
# The cache changes the time, not the result: every candidate scores the same
# (a VAE with a fixed ``random_state`` trains to the same weights), so the same
# parameters win.
import numpy as np

print("same cross-validation scores:",
      np.array_equal(uncached.cv_results_["mean_test_score"],
                     cached.cv_results_["mean_test_score"]))
print("best parameters:", cached.best_params_)
print(f"test accuracy of the best pipeline: {cached.score(X_test, y_test):.3f}")

# %%
# Where the time goes
# -------------------
# The mean fit time of each candidate over the folds. Without the cache every
# candidate trains VAEs; with it only the first candidate of each latent size
# does, and the others fit just an SVC on the cached codes.
import matplotlib.pyplot as plt

labels = [f"C={p['svc__C']}\nlatent {p['vae__n_components']}"
          for p in cached.cv_results_["params"]]
positions = np.arange(len(labels))
fig, ax = plt.subplots(figsize=(7.5, 3.6))
for offset, (name, result) in zip((-0.2, 0.2), (("without memory", uncached),
                                               ("with memory", cached))):
    ax.bar(positions + offset, result.cv_results_["mean_fit_time"], width=0.4,
           label=f"{name} (search: {timings[name]:.1f} s)")
ax.set_xticks(positions, labels)
ax.set_ylabel("mean fit time per fold (s)")
ax.set_xlabel("candidate (in the order GridSearchCV fits them)")
ax.set_title("Pipeline(memory=...): SVC candidates reuse the fitted VAE")
ax.legend()
fig.tight_layout()
plt.show()
