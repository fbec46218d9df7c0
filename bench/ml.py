"""scikit-learn side of bench/ml.sh: 5-fold CV on a feature table written by
`cryoprotect model featurize` (same features, same folds), single-threaded.
Prints one JSON line per algorithm and seed: {"algorithm", "seed", "rmse", "seconds"}."""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor, RandomForestRegressor
from lightgbm import LGBMRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.impute import SimpleImputer

path, target = sys.argv[1], sys.argv[2]
seeds = [int(s) for s in sys.argv[3].split(",")] if len(sys.argv) > 3 else [42]
table = pd.read_csv(path)
folds = table["fold"].to_numpy()
y = table[target].to_numpy(dtype=float)
X = table.drop(columns=["id", target, "fold", "group"]).to_numpy(dtype=float)

# The same hyperparameters as CryoProtect's defaults (the original's, §4.1).
models = {
    "ridge": lambda: make_pipeline(SimpleImputer(), StandardScaler(), Ridge(alpha=1.0)),
    "random_forest": lambda seed: make_pipeline(
        SimpleImputer(), RandomForestRegressor(n_estimators=100, max_depth=10, max_features=1.0, n_jobs=1, random_state=seed)),
    "gradient_boosting": lambda seed: make_pipeline(
        SimpleImputer(), GradientBoostingRegressor(n_estimators=100, learning_rate=0.1, max_depth=3, random_state=seed)),
    # LightGBM's defaults on both sides (100 rounds at 0.1, 31 leaves, 20 rows a leaf, 255 bins,
    # no L2, no early stopping): scikit-learn's histogram boosting and LightGBM itself.
    "hist_gradient_boosting": lambda seed: HistGradientBoostingRegressor(
        max_iter=100, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0,
        max_bins=255, early_stopping=False, random_state=seed),
    "lightgbm": lambda seed: make_pipeline(SimpleImputer(), LGBMRegressor(
        n_estimators=100, learning_rate=0.1, num_leaves=31, min_child_samples=20, reg_lambda=0.0,
        max_bin=255, n_jobs=1, random_state=seed, verbose=-1)),
}
models["ridge"] = (lambda make: lambda seed: make())(models["ridge"])
for name, make in models.items():
    for seed in seeds:
        predicted = np.empty_like(y)
        start = time.perf_counter()
        for f in np.unique(folds):
            train, test = folds != f, folds == f
            model = make(seed).fit(X[train], y[train])
            predicted[test] = model.predict(X[test])
        seconds = time.perf_counter() - start
        rmse = float(np.sqrt(np.mean((predicted - y) ** 2)))
        print(json.dumps({"algorithm": name, "seed": seed, "rmse": rmse, "seconds": seconds}))
