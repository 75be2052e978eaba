"""Models in and out: model files (this program's JSON, ONNX) and fitted scikit-learn forests."""

import json

import numpy as np

from . import _engine
from ._estimators import RandomForestClassifier, RandomForestRegressor


def _labels(names):
    """Class labels as the model file writes them, back as numbers when they all are."""
    for kind in (int, float):
        try:
            return np.asarray([kind(n) for n in names])
        except ValueError:
            pass
    return np.asarray(names, dtype=object)


def _estimator(model, classes=None, feature_names=None):
    s = json.loads(model.summary())
    p = s["params"]
    common = dict(
        n_estimators=s["n_trees"],
        max_depth=p["max_depth"],
        min_samples_split=p["min_samples_split"],
        min_samples_leaf=p["min_samples_leaf"],
        bootstrap=p["bootstrap"],
        oob_score=s["oob_score"] is not None,
        random_state=p["seed"],
        max_bins=p["max_bins"],
    )
    if s["task"] == "classification":
        est = RandomForestClassifier(
            **common, class_weight="balanced" if p.get("class_weight") == "balanced" else None
        )
        est.classes_ = _labels(s["classes"]) if classes is None else np.asarray(classes)
        est.n_classes_ = len(est.classes_)
    else:
        est = RandomForestRegressor(**common)
    names = [f["name"] for f in s["features"]]
    est.n_features_in_ = len(names)
    if feature_names is not None:
        est.feature_names_in_ = np.asarray(feature_names, dtype=object)
    elif names != [f"x{i}" for i in range(len(names))] and not s["imported"]:
        est.feature_names_in_ = np.asarray(names, dtype=object)
    est._set_model(model)
    return est


def load(path):
    """A fitted estimator from a model file: this program's JSON (written by `save`, by
    `forest train --model-out` or by the page) or an ONNX tree ensemble."""
    with open(path, "rb") as f:
        data = f.read()
    return _estimator(_engine.Model.from_bytes(data))


_SKLEARN_FORESTS = (
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
)


def from_sklearn(forest):
    """This package's estimator scoring a fitted scikit-learn RandomForest* or ExtraTrees*
    forest on its CPU and GPU engines: the same trees, each row down the same path
    (thresholds mapped to float32 as scikit-learn compares), `predict_proba` equal to
    scikit-learn's within float32 rounding (its trees' averages are summed in float64)."""
    import sklearn

    kind = type(forest).__name__
    if kind not in _SKLEARN_FORESTS:
        raise TypeError(f"from_sklearn takes a fitted {', '.join(_SKLEARN_FORESTS)}; got {kind}")
    if not hasattr(forest, "estimators_"):
        raise ValueError(f"this {kind} is not fitted: call fit first")
    if getattr(forest, "n_outputs_", 1) != 1:
        raise ValueError("forests of several outputs are not supported")
    classify = kind.endswith("Classifier")
    n_features = forest.n_features_in_
    names = getattr(forest, "feature_names_in_", None)
    headers = [str(n) for n in names] if names is not None else [f"x{i}" for i in range(n_features)]
    classes = list(forest.classes_) if classify else []
    schema = {
        "target": "y",
        "task": "classification" if classify else "regression",
        "features": [{"name": h, "kind": "numeric"} for h in headers],
        "classes": [str(c) for c in classes],
    }
    trees = []
    for t in forest.estimators_:
        tr = t.tree_
        missing = getattr(tr, "missing_go_to_left", None)
        trees.append(
            (
                np.ascontiguousarray(tr.children_left, dtype=np.int64),
                np.ascontiguousarray(tr.children_right, dtype=np.int64),
                np.ascontiguousarray(tr.feature, dtype=np.int64),
                np.ascontiguousarray(tr.threshold, dtype=np.float64),
                None if missing is None else np.ascontiguousarray(missing, dtype=np.uint8),
                np.ascontiguousarray(tr.value[:, 0, :], dtype=np.float64).ravel(),
                np.ascontiguousarray(tr.weighted_n_node_samples, dtype=np.float64),
            )
        )
    model = _engine.from_arrays(
        trees,
        json.dumps(schema),
        [float(v) for v in forest.feature_importances_],
        ("scikit-learn", kind, f"scikit-learn {sklearn.__version__}"),
    )
    return _estimator(model, classes=forest.classes_ if classify else None, feature_names=names)
