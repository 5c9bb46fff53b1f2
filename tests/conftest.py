"""Shared fixtures: small synthetic data and fast estimator settings.

torch runs on one intra-op thread in the tests: results do not depend on how busy
the machine is, and two test processes on a 2-core machine do not spin against each
other (two 2-thread torch processes ran up to 10x slower than one).
"""

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

#: Settings that train in well under a second on a few hundred rows.
FAST = dict(n_components=2, hidden_layer_sizes=(16,), max_epochs=3, kl_warmup_epochs=1,
            batch_size=32, learning_rate=1e-2, random_state=0)


@pytest.fixture
def fast_params():
    return dict(FAST)


@pytest.fixture
def blobs():
    """Two well separated classes of 'images' with 20 pixels in [0, 1]."""
    rng = np.random.RandomState(0)
    n = 200
    y = np.repeat([0, 1], n // 2)
    centers = np.where(rng.rand(2, 20) > 0.5, 0.85, 0.15)
    X = np.clip(centers[y] + 0.1 * rng.randn(n, 20), 0, 1).astype(np.float32)
    return X, y


@pytest.fixture
def small_data(monkeypatch):
    """600 train and 300 test real Fashion-MNIST images, in place of the loader's 60,000 /
    10,000 (the command-line tests)."""
    from sklearn.utils import Bunch

    from vaesvm import datasets

    if not datasets.DEBIAN_DATA_DIR.exists():
        pytest.skip("needs dataset-fashion-mnist")
    full = datasets.load_fashion_mnist(datasets.DEBIAN_DATA_DIR)
    small = Bunch(X_train=full.X_train[:600], y_train=full.y_train[:600],
                  X_test=full.X_test[:300], y_test=full.y_test[:300],
                  data_dir=full.data_dir, target_names=full.target_names)
    monkeypatch.setattr(datasets, "load_fashion_mnist", lambda *a, **k: small)
    return small
