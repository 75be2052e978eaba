"""Writes the query rows that ../shared/tools/anchors/anchors_gpu.py and fil_probe.py score (the
same make_classification call, so the same rows) as CSV with columns f0.., so that
`forest bench --model SK.json --rows ROWS.csv` scores exactly the rows the reference scorers do.
Usage: python3 scripts/anchor_rows.py OUT.csv [ROWS]   (ROWS default 1,000,000)"""
import sys
import numpy as np
from sklearn.datasets import make_classification

N_FEAT, N_TRAIN = 32, 100_000
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
X, _ = make_classification(n_samples=N_TRAIN + rows, n_features=N_FEAT,
                           n_informative=N_FEAT // 2, n_classes=2, random_state=0)
X = X.astype(np.float32)[N_TRAIN:]
with open(sys.argv[1], "w") as f:
    f.write(",".join(f"f{i}" for i in range(N_FEAT)) + "\n")
    # %.9g round-trips every f32 exactly.
    np.savetxt(f, X, fmt="%.9g", delimiter=",")
