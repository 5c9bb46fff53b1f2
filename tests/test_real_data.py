"""Real Fashion-MNIST: a fast smoke test (default run) and slow full-size runs.

The data come from Debian's ``dataset-fashion-mnist`` package (CI installs it).
"""

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer, load_fashion_mnist, make_semi_supervised_split
from vaesvm.datasets import DEBIAN_DATA_DIR

pytestmark = pytest.mark.skipif(
    not (DEBIAN_DATA_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="needs `apt-get install dataset-fashion-mnist`",
)


@pytest.fixture(scope="module")
def fmnist():
    return load_fashion_mnist(DEBIAN_DATA_DIR)


@pytest.mark.parametrize("seed", [0, 1])
def test_real_data_smoke_100_labels(fmnist, seed):
    """5 epochs on 5,000 real images, 100 labels: 67-70% on seeds 0-4 (chance: 10%)."""
    X, y = fmnist.X_train[:5000], fmnist.y_train[:5000]
    lab, unl = make_semi_supervised_split(y, 100, random_state=seed)
    pipe = Pipeline([("vae", VAETransformer(max_epochs=5, kl_warmup_epochs=2,
                                            random_state=seed)), ("svc", SVC())])
    pipe.fit(X[lab], y[lab], vae__X_unlabeled=X[unl])
    acc = pipe.score(fmnist.X_test[:2000], fmnist.y_test[:2000])
    assert acc > 0.55
    history = pipe.named_steps["vae"].history_
    assert history[-1]["reconstruction"] < history[0]["reconstruction"]


@pytest.mark.slow
def test_full_train_set_beats_raw_pixel_svc(fmnist):
    """The demo's setting: 100 labels, 59,900 unlabeled images, 10 epochs."""
    lab, unl = make_semi_supervised_split(fmnist.y_train, 100, random_state=0)
    X_lab, y_lab = fmnist.X_train[lab], fmnist.y_train[lab]
    pipe = Pipeline([("vae", VAETransformer(max_epochs=10, random_state=0)), ("svc", SVC())])
    pipe.fit(X_lab, y_lab, vae__X_unlabeled=fmnist.X_train[unl])
    vae_acc = pipe.score(fmnist.X_test, fmnist.y_test)
    raw_acc = SVC().fit(X_lab, y_lab).score(fmnist.X_test, fmnist.y_test)
    assert vae_acc > 0.62
    assert vae_acc > raw_acc - 0.02
    assert np.isfinite(pipe.named_steps["vae"].score(fmnist.X_test[:1000]))
