"""gpuforest: random forests with scikit-learn's estimator API, grown on every core and scored
on the CPU or on any GPU that wgpu reaches (Vulkan, Metal, DX12), by the same Rust engine as
the `forest` command and the page.

>>> from gpuforest import RandomForestClassifier
>>> clf = RandomForestClassifier(n_estimators=200, device="gpu").fit(X, y)
>>> clf.predict_proba(X_new)
"""

from ._engine import GPU_FROM_ROWS, gpu_adapter
from ._estimators import RandomForestClassifier, RandomForestRegressor
from ._models import from_sklearn, load

__all__ = [
    "GPU_FROM_ROWS",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "from_sklearn",
    "gpu_adapter",
    "load",
]
__version__ = "0.1.0"
