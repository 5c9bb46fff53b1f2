"""scikit-learn's own estimator checks (``parametrize_with_checks``), on fast settings.

Both likelihoods are checked. The expected failures, and why:

* ``check_methods_subset_invariance`` (both): torch's float32 matrix products may
  block differently for different batch sizes and thread counts, so transforming a
  subset of rows can differ from transforming all rows by ~1e-6 (relative), above
  the check's 1e-7. Whether it does depends on the thread count (with 2 intra-op
  threads it passed, with 1 it fails), so the expected failure is not strict (an
  XPASS is reported, not an error). ``tests/test_transformer.py`` asserts agreement
  at 1e-5.
* The Bernoulli instance refuses data outside [0, 1] by design (a ValueError that
  says how to rescale; see ``test_bernoulli_range_error``), and the checks listed in
  ``OUT_OF_RANGE_CHECKS`` feed it Gaussian or shifted data. They all pass on the
  Gaussian instance, which accepts any real-valued data.
"""

from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from sklearn.svm import SVC

from vaesvm import LabeledOnlyClassifier, VAETransformer

FAST = dict(n_components=2, hidden_layer_sizes=(8,), max_epochs=2, kl_warmup_epochs=1,
            batch_size=16, random_state=0)

SUBSET = {
    "check_methods_subset_invariance": "float32 GEMM blocking may depend on the batch "
    "size and thread count: differences of ~1e-6 relative, above the check's 1e-7 "
    "tolerance (non-strict: passes at some thread counts)",
}
OUT_OF_RANGE_CHECKS = [
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_methods_sample_order_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
]


def _expected_failed_checks(estimator):
    if estimator.likelihood == "gaussian":
        return SUBSET
    reason = "feeds data outside [0, 1], which likelihood='bernoulli' refuses by design"
    return {**SUBSET, **dict.fromkeys(OUT_OF_RANGE_CHECKS, reason)}


@parametrize_with_checks(
    [VAETransformer(likelihood="gaussian", **FAST), VAETransformer(**FAST)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_param_validation():
    """Every parameter's constraint is declared and enforced before any training."""
    check_param_validation("VAETransformer", VAETransformer(**FAST))


#: LabeledOnlyClassifier's expected failures, and why.
LABELED_ONLY_XFAIL = {
    "check_classifiers_classes": "feeds labels in {-1, 1}: -1 marks unlabeled rows by "
    "design, so one class is left",
    **dict.fromkeys(["check_sample_weight_equivalence_on_dense_data",
                     "check_sample_weight_equivalence_on_sparse_data"],
                    "inherited from the wrapped SVC, which fails both checks itself (libsvm's "
                    "weighted C is equivalent to repeated rows only up to its tolerance)"),
}


@parametrize_with_checks([LabeledOnlyClassifier(SVC())],
                         expected_failed_checks=lambda est: LABELED_ONLY_XFAIL)
def test_labeled_only_classifier_is_sklearn_compatible(estimator, check):
    check(estimator)
