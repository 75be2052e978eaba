"""The estimators on a Dask cluster: trees grown on every worker, rows scored where they lie.

`fit` encodes the rows once (on the client), sends every worker all of them (each tree draws
its bootstrap sample from every row, so every worker must hold the whole training set: 4 bytes
a feature a row, plus the target), and has each worker grow one range of the forest's trees
from the forest's own seed streams, as the page's web workers do. The shards merge, in tree
order, into the model that one machine grows with the same seed: the same bytes.

`predict` and `predict_proba` score each partition of a Dask array or DataFrame on the worker
that holds it (on its GPU, when it has a real one and `device` allows), and return a Dask
collection; other inputs are scored here.

    from distributed import Client
    from gpuforest.dask import RandomForestClassifier
    client = Client()                    # or Client("scheduler:8786")
    clf = RandomForestClassifier(n_estimators=500, random_state=0).fit(X, y)  # dask or numpy
    proba = clf.predict_proba(X).compute()
"""

import numpy as np

from . import _engine
from . import _estimators


def _is_dask(x):
    return hasattr(x, "dask") and hasattr(x, "compute")


def _tree_ranges(n_trees, n_workers):
    """Contiguous ranges of trees, one a worker, as even as can be."""
    n = max(1, min(n_workers, n_trees))
    cuts = [n_trees * k // n for k in range(n + 1)]
    return [(cuts[k], cuts[k + 1]) for k in range(n)]


def _proba_block(block, estimator):
    return estimator.predict_proba(block)


def _predict_block(block, estimator):
    return estimator.predict(block)


class _DaskForest:
    def _client(self):
        from distributed import get_client

        return self.client if self.client is not None else get_client()

    def fit(self, X, y, sample_weight=None):
        """Grows the forest across the cluster's workers (see the module's notes)."""
        # One at a time: a DataFrame (expressions) and an array (graphs) do not mix in one
        # compute.
        X, y, sample_weight = (v.compute() if _is_dask(v) else v for v in (X, y, sample_weight))
        client = self._client()
        prepared = self._prepare(X, y, sample_weight)
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        rows = client.scatter(prepared.dataset(), broadcast=True)
        weights = prepared.weights()
        if weights is not None:
            weights = client.scatter(weights, broadcast=True)
        params = prepared.params()
        ranges = _tree_ranges(self.n_estimators, len(workers))
        shards = client.gather(
            [
                client.submit(
                    _engine.grow_shard, rows, params, a, b, weights, pure=False, workers=[w]
                )
                for (a, b), w in zip(ranges, workers)
            ]
        )
        self._set_model(prepared.merge(shards))
        return self

    def _map(self, X, block_fn, width):
        if not _is_dask(X):
            return None
        # The model goes to each worker once, not inside every task of the graph.
        model = self._client().scatter(self, broadcast=True, hash=False)
        # Labels (classifier) or values (regressor), or `width` probabilities.
        dtype = self.classes_.dtype if hasattr(self, "classes_") else np.float64
        if hasattr(X, "map_partitions"):
            import pandas as pd

            columns = [str(c) for c in self.classes_] if width else []

            def frame_fn(df, estimator):
                out = block_fn(df, estimator)
                if out.ndim == 1:
                    return pd.Series(out, index=df.index)
                return pd.DataFrame(out, index=df.index, columns=columns)

            if width:
                meta = pd.DataFrame({c: np.array([], np.float32) for c in columns})
            else:
                meta = pd.Series(np.array([], dtype=dtype))
            return X.map_partitions(frame_fn, model, meta=meta)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-d Dask array, got {X.ndim} dimensions")
        X = X.rechunk({1: -1})
        if width:
            return X.map_blocks(
                block_fn, model, dtype=np.float32, chunks=(X.chunks[0], (width,))
            )
        return X.map_blocks(block_fn, model, dtype=dtype, drop_axis=1, chunks=(X.chunks[0],))


class RandomForestClassifier(_DaskForest, _estimators.RandomForestClassifier):
    """`gpuforest.RandomForestClassifier` on a Dask cluster (`client`: the one to use;
    default: the current one)."""

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
        client=None,
    ):
        super().__init__(
            n_estimators,
            criterion=criterion,
            max_depth=max_depth,
            min_samples_split=min_samples_split,
            min_samples_leaf=min_samples_leaf,
            max_features=max_features,
            bootstrap=bootstrap,
            oob_score=oob_score,
            n_jobs=n_jobs,
            random_state=random_state,
            class_weight=class_weight,
            max_bins=max_bins,
            device=device,
        )
        self.client = client

    _parameter_constraints = {
        **_estimators.RandomForestClassifier._parameter_constraints,
        "client": [object, None],
    }

    def predict_proba(self, X):
        out = self._map(X, _proba_block, len(self.classes_))
        return super().predict_proba(X) if out is None else out

    def predict(self, X):
        out = self._map(X, _predict_block, 0)
        return super().predict(X) if out is None else out

    def __getstate__(self):
        # A client does not travel to the workers; the model does.
        state = super().__getstate__()
        state["client"] = None
        return state


class RandomForestRegressor(_DaskForest, _estimators.RandomForestRegressor):
    """`gpuforest.RandomForestRegressor` on a Dask cluster (`client`: the one to use;
    default: the current one)."""

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
        client=None,
    ):
        super().__init__(
            n_estimators,
            criterion=criterion,
            max_depth=max_depth,
            min_samples_split=min_samples_split,
            min_samples_leaf=min_samples_leaf,
            max_features=max_features,
            bootstrap=bootstrap,
            oob_score=oob_score,
            n_jobs=n_jobs,
            random_state=random_state,
            max_bins=max_bins,
            device=device,
        )
        self.client = client

    _parameter_constraints = {
        **_estimators.RandomForestRegressor._parameter_constraints,
        "client": [object, None],
    }

    def predict(self, X):
        out = self._map(X, _predict_block, 0)
        return super().predict(X) if out is None else out

    def __getstate__(self):
        state = super().__getstate__()
        state["client"] = None
        return state
