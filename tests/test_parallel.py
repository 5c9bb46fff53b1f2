"""Parallel tuning: joblib processes without thread oversubscription, and Dask."""

import json
import os

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer

THREADS_LOG = "VAESVM_TEST_THREADS_LOG"


class ThreadRecordingVAE(VAETransformer):
    """Appends torch's intra-op thread count at fit time to a file (one line per fit).

    ``_fit`` is the one training path of ``fit`` and ``fit_transform`` (a Pipeline
    calls the latter).
    """

    def _fit(self, *args, **kwargs):
        import torch

        with open(os.environ[THREADS_LOG], "a") as f:
            f.write(json.dumps({"pid": os.getpid(), "threads": torch.get_num_threads()}) + "\n")
        return super()._fit(*args, **kwargs)


def _grid_search(fast_params, vae_cls=VAETransformer, **kw):
    pipe = Pipeline([("vae", vae_cls(**{**fast_params, "max_epochs": 5})), ("svc", SVC())])
    grid = {"vae__n_components": [2, 3], "svc__C": [1, 10]}
    return GridSearchCV(pipe, grid, cv=2, refit=False, **kw)


def test_n_jobs_2_runs_one_torch_thread_per_worker(blobs, fast_params, tmp_path,
                                                   monkeypatch):
    X, y = blobs
    log = tmp_path / "threads.jsonl"
    monkeypatch.setenv(THREADS_LOG, str(log))
    search = _grid_search(fast_params, ThreadRecordingVAE, n_jobs=2)
    search.fit(X[::2], y[::2], vae__X_unlabeled=X[1::2])
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 8  # 4 candidates x 2 folds, no memory
    assert {r["pid"] for r in records} != {os.getpid()}  # really in worker processes
    # joblib's loky backend caps OpenMP threads at cpu_count // n_jobs per worker,
    # and torch reads that cap: no oversubscription.
    assert max(r["threads"] for r in records) <= max(1, os.cpu_count() // 2)


@pytest.mark.timeout(300)
def test_dask_backend_on_local_cluster(blobs, fast_params):
    distributed = pytest.importorskip("distributed")
    import joblib

    X, y = blobs
    serial = _grid_search(fast_params).fit(X[::2], y[::2], vae__X_unlabeled=X[1::2])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with joblib.parallel_backend("dask"):
            search = _grid_search(fast_params).fit(X[::2], y[::2], vae__X_unlabeled=X[1::2])
        workers = client.scheduler_info()["workers"]
        assert len(workers) == 2
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               serial.cv_results_["mean_test_score"], atol=0.05)
    assert search.cv_results_["mean_test_score"].max() > 0.9
