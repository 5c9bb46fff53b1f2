"""``suggest_labels``: which images to label, cold start and next rounds."""

import numpy as np
import pytest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import SVC

from vaesvm import LabeledOnlyClassifier, VAETransformer, suggest_labels
from vaesvm._options import SUGGEST
from vaesvm._suggest import pick, typicality


@pytest.fixture
def three_blobs():
    """Three tight groups of 2-d codes: 300, 200 and 100 points around known centres."""
    rng = np.random.RandomState(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    sizes = [300, 200, 100]
    X = np.concatenate([c + rng.randn(s, 2) for c, s in zip(centres, sizes)])
    group = np.repeat([0, 1, 2], sizes)
    return X.astype(np.float32), group, centres


def identity():
    """A fitted transformer whose codes are the rows themselves."""
    return FunctionTransformer().fit(np.zeros((1, 2)))


def test_cold_start_takes_one_typical_image_per_group(three_blobs):
    X, group, centres = three_blobs
    idx = suggest_labels(X, 3, estimator=identity(), random_state=0)
    assert sorted(group[idx]) == [0, 1, 2]
    assert list(group[idx]) == [0, 1, 2]  # largest cluster first
    # typical: near the group's centre, not an outlier
    spread = np.linalg.norm(X - centres[group], axis=1)
    for i in idx:
        assert spread[i] < np.median(spread[group == group[i]])


def test_suggestions_are_reproducible_and_unlabeled(three_blobs):
    X, group, _ = three_blobs
    y = np.full(len(X), -1)
    y[:300] = 0  # the whole first group is labeled
    a = suggest_labels(X, 5, y, estimator=identity(), random_state=3)
    b = suggest_labels(X, 5, y, estimator=identity(), random_state=3)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and len(np.unique(a)) == 5
    assert (y[a] == -1).all()
    assert set(group[a]) <= {1, 2}


def test_next_round_covers_what_the_labels_do_not(three_blobs):
    X, group, _ = three_blobs
    y = np.full(len(X), -1)
    first = suggest_labels(X, 1, estimator=identity(), random_state=0)
    y[first] = group[first]
    idx = suggest_labels(X, 2, y, estimator=identity(), random_state=0)
    assert set(group[idx]) == {0, 1, 2} - set(group[first])


def test_typicality_is_higher_in_dense_regions():
    rng = np.random.RandomState(0)
    dense = rng.randn(200, 3).astype(np.float32) * 0.1
    sparse = rng.randn(20, 3).astype(np.float32) * 5 + 20
    typical = typicality(np.concatenate([dense, sparse]), 5, 0)
    assert typical[:200].min() > typical[200:].max()


def test_pick_with_certainty_takes_the_least_certain_typical_image(monkeypatch):
    monkeypatch.setitem(SUGGEST, "typical_fraction", 0.5)
    clusters = np.array([0, 0, 0, 0, 1, 1])
    typical = np.array([4.0, 3.0, 2.0, 1.0, 1.0, 2.0])
    certainty = np.array([0.9, 0.1, 0.05, 0.0, 0.5, 0.5])
    labeled = np.zeros(6, bool)
    # the typical half of cluster 0 is images 0 and 1; 1 is the less certain one
    # (2 and 3 are less certain still, but atypical)
    np.testing.assert_array_equal(pick(clusters, typical, labeled, 2, certainty), [1, 5])
    np.testing.assert_array_equal(pick(clusters, typical, labeled, 2), [0, 5])
    labeled[4] = True  # cluster 1 is covered: the rest comes from the most typical others
    np.testing.assert_array_equal(pick(clusters, typical, labeled, 2), [0, 1])


def test_a_fitted_pipeline_guides_the_next_round(three_blobs):
    X, group, _ = three_blobs
    y = np.full(len(X), -1)
    seen = np.array([0, 1, 300, 301])
    y[seen] = group[seen]
    pipe = make_pipeline(FunctionTransformer(), LabeledOnlyClassifier(SVC())).fit(X, y)
    calls = []
    pipe.steps[-1][1].decision_function = lambda Z: calls.append(len(Z)) or np.zeros(len(Z))
    idx = suggest_labels(X, 2, y, estimator=pipe, random_state=0)
    assert calls == [len(X)]  # the classifier's scores were asked for, nothing refitted
    assert (y[idx] == -1).all() and len(np.unique(idx)) == 2


def test_an_unfitted_estimator_is_cloned_and_fitted(blobs, fast_params):
    X, _ = blobs
    vae = VAETransformer(**fast_params)
    idx = suggest_labels(X, 4, estimator=vae, random_state=0)
    assert not hasattr(vae, "n_iter_")  # the caller's estimator stays unfitted
    assert len(np.unique(idx)) == 4
    np.testing.assert_array_equal(idx, suggest_labels(X, 4, estimator=vae, random_state=0))


def test_a_fitted_vae_is_not_trained_again(blobs, fast_params, monkeypatch):
    X, _ = blobs
    vae = VAETransformer(**fast_params).fit(X)
    monkeypatch.setattr(VAETransformer, "fit", lambda *a, **k: pytest.fail("refitted"))
    idx = suggest_labels(X, 10, estimator=vae, random_state=0)
    assert len(np.unique(idx)) == 10


def test_default_model_with_labels_is_a_labeled_only_pipeline(blobs, fast_params, monkeypatch):
    X, y_true = blobs
    y = np.full(len(X), -1)
    y[[0, 1, 150, 151]] = y_true[[0, 1, 150, 151]]
    seen = []
    original = Pipeline.fit

    def spy(self, *args, **kwargs):
        seen.append(self)
        self.steps[0][1].set_params(**{k: v for k, v in fast_params.items()
                                       if k != "random_state"})
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "fit", spy)
    idx = suggest_labels(X, 6, y, random_state=0)
    assert isinstance(seen[0].steps[-1][1], LabeledOnlyClassifier)
    assert isinstance(seen[0].steps[0][1], VAETransformer)
    assert (y[idx] == -1).all() and len(np.unique(idx)) == 6


def test_works_on_colour_images(fast_params):
    rng = np.random.RandomState(0)
    X = rng.rand(120, 3 * 8 * 6).astype(np.float32)
    vae = VAETransformer(image_shape=(3, 8, 6), **fast_params).fit(X)
    idx = suggest_labels(X, 7, estimator=vae, random_state=0)
    assert len(np.unique(idx)) == 7


@pytest.mark.parametrize("n_labels", [0, -1, 2.5, True, 302])
def test_bad_counts_are_refused(three_blobs, n_labels):
    X, _, _ = three_blobs
    y = np.full(len(X), -1)
    y[:299] = 0  # 301 unlabeled rows
    with pytest.raises(ValueError, match="between 1 and the 301 unlabeled"):
        suggest_labels(X, n_labels, y, estimator=identity())


def test_labels_of_the_wrong_length_are_refused(three_blobs):
    X, _, _ = three_blobs
    with pytest.raises(ValueError, match="one label per row of X"):
        suggest_labels(X, 3, np.zeros(5), estimator=identity())


def test_an_unfitted_pipeline_that_would_learn_minus_one_is_refused(three_blobs):
    X, group, _ = three_blobs
    y = np.full(len(X), -1)
    y[:2] = 0
    with pytest.raises(ValueError, match=r"LabeledOnlyClassifier\(SVC"):
        suggest_labels(X, 3, y, estimator=make_pipeline(FunctionTransformer(), SVC()))
