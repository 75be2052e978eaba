"""What estimators take in: arrays, lists and data frames, checked as scikit-learn checks them.

Numeric input becomes float64 columns for training (the forest's own binning reads them) and a
C-ordered float32 array for scoring, which the engine reads in place: a float32 C array costs
no copy. A data frame with text or category columns keeps them as text, read exactly as the
CLI reads a CSV file's cells (categories coded by frequency, unseen ones missing).
"""

import numpy as np
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_array,
    validate_data,
)


def _is_frame(X):
    return hasattr(X, "dtypes") and hasattr(X, "columns") and hasattr(X, "iloc")


def _text_columns(X):
    """Names of a data frame's columns that are not numbers (text, category, mixed)."""
    if not _is_frame(X):
        return []
    out = []
    for name, dtype in zip(X.columns, X.dtypes):
        kind = getattr(dtype, "kind", "O")
        if kind not in "biuf":
            out.append(name)
    return out


def _text_cells(series):
    """A column's cells as str, missing ones as the empty cell."""
    values = series.astype(object).to_numpy()
    missing = series.isna().to_numpy()
    return ["" if m else str(v) for v, m in zip(values, missing)]


def frame_columns(X):
    """A data frame's columns as the engine takes them: float64 arrays or lists of str."""
    text = set(_text_columns(X))
    columns = []
    for name in X.columns:
        s = X[name]
        if name in text:
            columns.append(_text_cells(s))
        else:
            columns.append(np.ascontiguousarray(s.to_numpy(dtype=np.float64, na_value=np.nan)))
    return columns


def headers_for(estimator, n_features):
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return [f"x{i}" for i in range(n_features)]


def fit_input(estimator, X, y, y_numeric):
    """Checks `X` and `y` for fitting; sets `n_features_in_` (and `feature_names_in_`).

    Returns (headers, columns, y as a 1-d array).
    """
    if _is_frame(X) and _text_columns(X):
        _check_feature_names(estimator, X, reset=True)
        _check_n_features(estimator, X, reset=True)
        if any(not isinstance(c, str) for c in X.columns):
            raise ValueError("a data frame with text columns needs a str name for every column")
        y = check_array(
            y, ensure_2d=False, dtype="numeric" if y_numeric else None, ensure_all_finite=True,
            input_name="y",
        )
        if y.ndim != 1:
            raise ValueError(f"y should be a 1d array, got an array of shape {y.shape} instead.")
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows and y has {len(y)}")
        if len(X) == 0:
            raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
        return list(X.columns), frame_columns(X), y
    X, y = validate_data(
        estimator,
        X,
        y,
        dtype=[np.float64, np.float32],
        ensure_all_finite="allow-nan",
        y_numeric=y_numeric,
        reset=True,
    )
    columns = [np.ascontiguousarray(X[:, j], dtype=np.float64) for j in range(X.shape[1])]
    return headers_for(estimator, X.shape[1]), columns, y


def score_input(estimator, X):
    """Checks `X` for scoring and returns its rows as the model's features: a C-ordered
    float32 array (the input itself, unchecked but for its shape, when it is one)."""
    model = estimator._model
    if _is_frame(X) and (_text_columns(X) or estimator._categorical):
        _check_feature_names(estimator, X, reset=False)
        _check_n_features(estimator, X, reset=False)
        headers = [str(c) for c in X.columns]
        return model.features_of(headers, frame_columns(X))
    if estimator._categorical:
        # Numbers alone cannot say which category a cell is.
        raise ValueError(
            "this model was trained on text columns: score a data frame with those columns"
        )
    if (
        type(X) is np.ndarray
        and X.dtype == np.float32
        and X.ndim == 2
        and X.flags.c_contiguous
        and X.shape[0] > 0
        and X.shape[1] == estimator.n_features_in_
        and getattr(estimator, "feature_names_in_", None) is None
    ):
        # Read in place, as it is: scikit-learn's checks cost 0.1 ms a call (70x the engine's
        # time for one row), and a scan for infinities as long as scoring on a GPU. NaN is
        # missing; an infinity lies beyond every split.
        return X
    X = validate_data(
        estimator,
        X,
        dtype=np.float32,
        order="C",
        ensure_all_finite="allow-nan",
        reset=False,
    )
    return X
