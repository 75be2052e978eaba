"""scikit-learn's RandomForestClassifier and RandomForestRegressor over this package's engine.

Parameters are scikit-learn's, with its names and defaults, plus `device` (where rows are
scored) and `max_bins` (the engine grows trees from histograms of at most this many bins per
feature, as LightGBM and scikit-learn's HistGradientBoosting do, not from sorted values).
Unlike scikit-learn, `n_jobs=None` uses every core.
"""

import json
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _data, _engine

_COMMON_CONSTRAINTS = {
    "n_estimators": [Interval(numbers.Integral, 1, None, closed="left")],
    "max_depth": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "min_samples_split": [
        Interval(numbers.Integral, 2, None, closed="left"),
        Interval(numbers.Real, 0.0, 1.0, closed="right"),
    ],
    "min_samples_leaf": [
        Interval(numbers.Integral, 1, None, closed="left"),
        Interval(numbers.Real, 0.0, 1.0, closed="neither"),
    ],
    "max_features": [
        Interval(numbers.Integral, 1, None, closed="left"),
        Interval(numbers.Real, 0.0, 1.0, closed="right"),
        StrOptions({"sqrt", "log2"}),
        None,
    ],
    "bootstrap": ["boolean"],
    "oob_score": ["boolean"],
    "n_jobs": [numbers.Integral, None],
    "random_state": ["random_state"],
    "max_bins": [Interval(numbers.Integral, 2, 255, closed="both")],
    "device": [StrOptions({"auto", "cpu", "gpu"})],
}


# The engine's fewest training rows (`forest::train::MIN_ROWS`).
MIN_ROWS = 5


def _threads(n_jobs):
    """Threads for `n_jobs`: None or -1 every core, -2 all but one (joblib's rule)."""
    if n_jobs is None:
        return None
    cores = _engine.default_threads()
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning")
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


class _Forest(BaseEstimator):
    _task = None

    def _params_json(self, n_rows, n_features):
        mf = self.max_features
        if mf is None or (isinstance(mf, float) and mf == 1.0):
            max_features = "all"
        elif isinstance(mf, str):
            max_features = mf
        elif isinstance(mf, numbers.Integral):
            if mf > n_features:
                raise ValueError(
                    f"max_features must be in (0, n_features]: {mf} for {n_features} features"
                )
            max_features = {"count": int(mf)}
        else:
            max_features = {"fraction": float(mf)}
        mss = self.min_samples_split
        if not isinstance(mss, numbers.Integral):
            mss = max(2, int(np.ceil(mss * n_rows)))
        msl = self.min_samples_leaf
        if not isinstance(msl, numbers.Integral):
            msl = max(1, int(np.ceil(msl * n_rows)))
        if isinstance(self.random_state, numbers.Integral):
            seed = int(self.random_state)
        else:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        criterion = {"log_loss": "entropy"}.get(self.criterion, self.criterion)
        class_weight = getattr(self, "class_weight", None)
        return json.dumps(
            {
                "n_trees": int(self.n_estimators),
                "max_depth": None if self.max_depth is None else int(self.max_depth),
                "max_features": max_features,
                "min_samples_split": int(mss),
                "min_samples_leaf": int(msl),
                "bootstrap": bool(self.bootstrap),
                "criterion": criterion,
                "seed": seed,
                "max_bins": int(self.max_bins),
                "class_weight": "balanced" if class_weight == "balanced" else "none",
            }
        )

    def _prepare(self, X, y, sample_weight):
        """Checks the input and encodes it for the engine (one machine or Dask)."""
        self._validate_params()
        if not self.bootstrap and self.oob_score:
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        classify = self._task == "classification"
        # The target keeps a pandas Series' name, as a CSV file's column has one.
        name = getattr(y, "name", None)
        headers, columns, y = _data.fit_input(self, X, y, y_numeric=not classify)
        n_rows = len(y)
        if n_rows < MIN_ROWS:
            s = "" if n_rows == 1 else "s"
            raise ValueError(f"{n_rows} sample{s}: a forest needs at least {MIN_ROWS} to train")
        classes = None
        if classify:
            check_classification_targets(y)
            self.classes_, codes = np.unique(y, return_inverse=True)
            self.n_classes_ = len(self.classes_)
            target = codes.astype(np.float64)
            classes = [str(c) for c in self.classes_]
            if isinstance(self.class_weight, dict):
                extra = compute_sample_weight(self.class_weight, y)
                sample_weight = extra if sample_weight is None else sample_weight * extra
        else:
            target = np.ascontiguousarray(y, dtype=np.float64)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, np.empty(n_rows), dtype=np.float64)
            if np.any(sample_weight < 0):
                raise ValueError("Negative values in data passed to sample_weight")
        target_name = name if isinstance(name, str) and name else "y"
        while target_name in headers:
            target_name += "_"
        params = self._params_json(n_rows, len(headers))
        return _engine.prepare(
            headers + [target_name],
            columns + [target],
            target_name,
            self._task,
            params,
            classes,
            sample_weight,
        )

    def fit(self, X, y, sample_weight=None):
        """Grows the forest on every core (or `n_jobs` threads), without holding the GIL."""
        prepared = self._prepare(X, y, sample_weight)
        self._set_model(prepared.train(_threads(self.n_jobs)))
        return self

    def _set_model(self, model):
        self._model = model
        s = json.loads(model.summary())
        self._categorical = any(f["kind"] == "categorical" for f in s["features"])
        self._threshold = s.get("threshold")
        self.feature_importances_ = np.asarray(s["importances"], dtype=np.float64)
        self.n_outputs_ = 1
        if self.oob_score:
            self.oob_score_ = s["oob_score"] if s["oob_score"] is not None else np.nan

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _outputs(self, X):
        check_is_fitted(self, "_model")
        x = _data.score_input(self, X)
        out, _ = self._model.predict(x, self.device, _threads(self.n_jobs))
        return out

    @property
    def model_summary_(self):
        """What the engine holds: trees, nodes, features and their kinds, as a dict."""
        check_is_fitted(self, "_model")
        return json.loads(self._model.summary())

    def shap_values(self, X, device=None, background=None):
        """Exact SHAP values (path-dependent TreeSHAP, as `shap.TreeExplainer`) of the rows of
        `X`: `(n_samples, n_features, n_classes)` for a classifier, `(n_samples, n_features)`
        for a regressor. Each row's values plus `shap_expected_value()` add up to its output
        (for an imported model ending in a logistic or softmax, to the output before it).
        `device`: "cpu", "gpu" or "auto" (default: the estimator's `device`). `background`:
        rows that stand for the training data, for models without node covers (ONNX imports)."""
        values, _ = self._explain(X, device, background)
        values = np.transpose(values, (0, 2, 1))
        return values[:, :, 0] if self._task == "regression" else values

    def shap_expected_value(self, background=None):
        """The output when no feature is known (per class for a classifier): what
        `shap_values` start from."""
        check_is_fitted(self, "_model")
        x = np.zeros((0, self.n_features_in_), dtype=np.float32)
        _, expected = self._explain(x, "cpu", background)
        return float(expected[0]) if self._task == "regression" else expected

    def _explain(self, X, device, background):
        check_is_fitted(self, "_model")
        empty = isinstance(X, np.ndarray) and X.shape[0] == 0
        x = X if empty else _data.score_input(self, X)
        bg = None if background is None else _data.score_input(self, background)
        values, expected, _ = self._model.explain(
            x, device or self.device, bg, _threads(self.n_jobs)
        )
        return values, expected

    def save(self, path):
        """Writes the model: ONNX when `path` ends in .onnx, else this program's JSON (which
        `forest predict --model` and the page also read)."""
        check_is_fitted(self, "_model")
        path = str(path)
        if path.endswith(".onnx"):
            data = self._model.to_onnx()
        else:
            data = self._model.to_json().encode()
        with open(path, "wb") as f:
            f.write(data)

    def __getstate__(self):
        state = super().__getstate__()
        if "_model" in state:
            state = dict(state)
            state["_model"] = self._model.to_json()
        return state

    def __setstate__(self, state):
        if isinstance(state.get("_model"), str):
            state = dict(state)
            state["_model"] = _engine.Model.from_bytes(state["_model"].encode())
        super().__setstate__(state)


class RandomForestClassifier(ClassifierMixin, _Forest):
    """A random forest classifier (scikit-learn's parameters; see the module's notes)."""

    _task = "classification"
    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features="sqrt",
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        class_weight=None,
        max_bins=255,
        device="auto",
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.class_weight = class_weight
        self.max_bins = max_bins
        self.device = device

    def predict_proba(self, X):
        """Class probabilities, in the order of `classes_`."""
        return self._outputs(X)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class (the first of equally probable ones); of two classes, when
        the model file sets a decision threshold (chosen in the page), the second class where
        its probability is at or above it, as the engine's labels and scikit-learn's
        `FixedThresholdClassifier`."""
        check_is_fitted(self, "_model")
        proba = self.predict_proba(X)
        t = self._threshold
        if t is not None and proba.shape[1] == 2:
            # In float64 as the engine compares: NumPy would compare float32 with the float
            # rounded to float32.
            return self.classes_[(proba[:, 1].astype(np.float64) >= t).astype(np.intp)]
        return self.classes_[np.argmax(proba, axis=1)]


class RandomForestRegressor(RegressorMixin, _Forest):
    """A random forest regressor (scikit-learn's parameters; see the module's notes)."""

    _task = "regression"
    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "criterion": [StrOptions({"squared_error"})],
    }

    def __init__(
        self,
        n_estimators=100,
        *,
        criterion="squared_error",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        max_features=1.0,
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        max_bins=255,
        device="auto",
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_bins = max_bins
        self.device = device

    def predict(self, X):
        """The mean of the trees' values."""
        return self._outputs(X)[:, 0].astype(np.float64)
