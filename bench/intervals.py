"""Interval side of bench/ml.sh: MAPIE's CV+ on the same feature table and outer folds that
CryoProtect validated on, and the Uncertainty Toolbox's scores recomputed on both sides'
held-out predictions (so CryoProtect's own NLL and miscalibration area are checked too).

Usage: intervals.py TABLE TARGET SPLIT ALGORITHM SEED OURS.json...
  TABLE   feature table written by `cryoprotect model featurize` (fold and group columns)
  SPLIT   random or scaffold: how MAPIE draws its calibration folds inside each outer fold
  OURS    `cryoprotect model evaluate --json` reports on TABLE, one per interval scale, each
          named *.SCALE.json beside its --predictions table *.SCALE.csv
Prints one JSON line per method: {"method", "rmse", "coverage", "width", "nll",
"miscalibration_area", "spearman", "reported": {...}} where "reported" holds what
CryoProtect itself stored (for its own runs)."""
import json
import sys
import warnings

import numpy as np
import pandas as pd
import uncertainty_toolbox as uct
from mapie.regression import MapieRegressor
from scipy.stats import norm, spearmanr
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GroupKFold, KFold
from sklearn.pipeline import make_pipeline

warnings.filterwarnings("ignore")
LEVEL = 0.9
path, target, split, algorithm, seed = sys.argv[1:6]
seed = int(seed)
ours = sys.argv[6:]
table = pd.read_csv(path)
folds = table["fold"].to_numpy()
# Acyclic molecules share the empty scaffold (as on the CryoProtect side).
groups = table["group"].fillna("").astype(str).to_numpy()
y = table[target].to_numpy(dtype=float)
X = table.drop(columns=["id", target, "fold", "group"]).to_numpy(dtype=float)
z = norm.ppf(0.5 + LEVEL / 2)


def scores(observed, predicted, lower, upper):
    width = upper - lower
    sigma = width / 2 / z
    finite = np.isfinite(sigma) & (sigma > 0)
    o, p, s = observed[finite], predicted[finite], sigma[finite]
    return {
        "rmse": float(np.sqrt(np.mean((predicted - observed) ** 2))),
        "coverage": float(np.mean((lower <= observed) & (observed <= upper))),
        "width": float(np.mean(width)),
        "nll": float(uct.nll_gaussian(p, s, o)),
        "miscalibration_area": float(uct.miscalibration_area(p, s, o)),
        "spearman": float(spearmanr(s, np.abs(o - p)).correlation),
    }


for report_path in ours:
    with open(report_path) as f:
        report = json.load(f)
    held = pd.read_csv(report_path[: -len(".json")] + ".csv")
    observed = held["observed"].to_numpy(dtype=float)
    predicted = held["predicted"].to_numpy(dtype=float)
    # An unbounded interval (too few calibration rows for the level) is written empty.
    lower = held["lower"].fillna(-np.inf).to_numpy(dtype=float)
    upper = held["upper"].fillna(np.inf).to_numpy(dtype=float)
    line = {"method": report_path.rsplit(".", 2)[-2]}
    line.update(scores(observed, predicted, lower, upper))
    line["reported"] = report.get("uncertainty")
    print(json.dumps(line))

make = {
    "random_forest": lambda: RandomForestRegressor(
        n_estimators=100, max_depth=10, max_features=1.0, n_jobs=2, random_state=seed),
    "gradient_boosting": lambda: GradientBoostingRegressor(
        n_estimators=100, learning_rate=0.1, max_depth=3, random_state=seed),
}[algorithm]
predicted = np.empty_like(y)
lower = np.empty_like(y)
upper = np.empty_like(y)
for f in np.unique(folds):
    train, test = folds != f, folds == f
    inner = GroupKFold(n_splits=5) if split == "scaffold" else KFold(n_splits=5, shuffle=True, random_state=seed)
    mapie = MapieRegressor(make_pipeline(SimpleImputer(), make()), method="plus", cv=inner, n_jobs=1)
    mapie.fit(X[train], y[train], groups=groups[train] if split == "scaffold" else None)
    p, pis = mapie.predict(X[test], alpha=1 - LEVEL)
    predicted[test], lower[test], upper[test] = p, pis[:, 0, 0], pis[:, 1, 0]
line = {"method": "mapie"}
line.update(scores(y, predicted, lower, upper))
print(json.dumps(line))
