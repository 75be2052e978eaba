"""The scikit-learn estimator checks these estimators are known to fail, and why (the tests
pass this to `parametrize_with_checks`)."""

_BOTH = {
    "check_sample_weight_equivalence_on_dense_data": (
        "a weight of 2 is not the same as a row repeated: the bootstrap draws rows, not weight "
        "(scikit-learn's own RandomForest* fail this check for the same reason)"
    ),
}

_FAILS = {
    "RandomForestClassifier": {
        **_BOTH,
        "check_class_weight_classifiers": (
            "the check relies on min_weight_fraction_leaf, which is not offered: trees grown "
            "until their leaves are pure vote the same whatever the class weights"
        ),
    },
    "RandomForestRegressor": _BOTH,
}


def expected_failed_checks(estimator):
    return _FAILS.get(type(estimator).__name__, {})
