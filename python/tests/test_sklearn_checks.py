"""scikit-learn's own estimator checks, on both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from gpuforest import RandomForestClassifier, RandomForestRegressor
from gpuforest._checks import expected_failed_checks


@parametrize_with_checks(
    [RandomForestClassifier(n_estimators=10), RandomForestRegressor(n_estimators=10)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
