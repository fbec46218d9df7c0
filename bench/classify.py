"""Classification side of bench/ml.sh: scikit-learn's classifiers on the same feature table
and outer folds CryoProtect cross-validated on, with every metric recomputed by scikit-learn
on both sides' held-out probabilities (so CryoProtect's own figures are checked too), and
MAPIE's LAC prediction sets (marginal, cross-conformal on the same outer folds) beside ours.

Usage: classify.py TABLE TARGET ALGORITHM SEED OURS_RAW OURS_PLATT
  TABLE      feature table written by `cryoprotect model featurize --classes` (fold column)
  OURS_RAW   `cryoprotect model classify --json` report with --calibration none and
             --sets marginal, its --predictions CSV beside it (same stem, .csv)
  OURS_PLATT the same with Platt recalibration and class-conditional sets
Prints one JSON line: {"algorithm", "seed", "ours", "ours_reported", "sklearn", "ours_platt",
"sets": {...}}."""
import json
import sys
import warnings

import numpy as np
import pandas as pd
from mapie.classification import MapieClassifier
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score,
    balanced_accuracy_score,
    log_loss,
    roc_auc_score,
)
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler, label_binarize

warnings.filterwarnings("ignore")
LEVEL = 0.9
path, target, algorithm, seed, ours_raw, ours_platt = sys.argv[1:7]
seed = int(seed)
table = pd.read_csv(path)
folds = table["fold"].to_numpy()
classes = sorted(table[target].astype(str).unique())
y = np.array([classes.index(v) for v in table[target].astype(str)])
X = table.drop(columns=["id", target, "fold", "group"]).to_numpy(dtype=float)
p = X.shape[1]


def model():
    if algorithm == "logistic":
        return make_pipeline(
            SimpleImputer(), StandardScaler(), LogisticRegression(C=1.0, max_iter=1000)
        )
    if algorithm == "random_forest":
        # CryoProtect tries ⌈√p⌉ features per split.
        return make_pipeline(
            SimpleImputer(),
            RandomForestClassifier(
                n_estimators=200,
                max_features=int(np.ceil(np.sqrt(p))),
                random_state=seed,
                n_jobs=1,
            ),
        )
    return make_pipeline(
        SimpleImputer(),
        GradientBoostingClassifier(
            n_estimators=100, learning_rate=0.1, max_depth=3, random_state=seed
        ),
    )


def ece(labels, probs, bins=10):
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.clip(np.ceil(conf * bins).astype(int), 1, bins) - 1
    total = 0.0
    for b in range(bins):
        m = edges == b
        if m.any():
            total += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return total


def scores(labels, probs):
    onehot = label_binarize(labels, classes=range(len(classes)))
    if len(classes) == 2:
        auc = roc_auc_score(labels, probs[:, 1])
        ap = average_precision_score(labels, probs[:, 1])
        brier = float(np.mean((probs[:, 1] - labels) ** 2))
    else:
        auc = roc_auc_score(labels, probs, multi_class="ovr", average="macro")
        ap = average_precision_score(onehot, probs, average="macro")
        brier = float(np.mean(((probs - onehot) ** 2).sum(axis=1)))
    return {
        "roc_auc": float(auc),
        "pr_auc": float(ap),
        "balanced_accuracy": float(balanced_accuracy_score(labels, probs.argmax(axis=1))),
        "brier": brier,
        "log_loss": float(log_loss(labels, probs, labels=range(len(classes)))),
        "ece": float(ece(labels, probs)),
    }


def ours(report_path):
    report = json.load(open(report_path))
    pred = pd.read_csv(report_path[: -len(".json")] + ".csv").set_index("id")
    pred = pred.loc[table["id"]]
    probs = pred[[f"p_{c}" for c in classes]].to_numpy(dtype=float)
    sets = pred["set"].fillna("").astype(str).str.split("|")
    covered = np.mean([classes[l] in s for l, s in zip(y, sets)])
    size = np.mean([len([c for c in s if c]) for s in sets])
    return report, probs, float(covered), float(size)


sk = np.zeros((len(y), len(classes)))
mapie_cover, mapie_size = [], []
for f in np.unique(folds):
    train, test = folds != f, folds == f
    sk[test] = model().fit(X[train], y[train]).predict_proba(X[test])
    # MAPIE's LAC score, cross-conformal over 5 inner folds of the outer training rows.
    mapie = MapieClassifier(
        estimator=model(), method="score", cv=KFold(5, shuffle=True, random_state=seed)
    )
    mapie.fit(X[train], y[train])
    _, sets = mapie.predict(X[test], alpha=1 - LEVEL, agg_scores="mean")
    sets = sets[:, :, 0]
    mapie_cover.extend(sets[np.arange(test.sum()), y[test]])
    mapie_size.extend(sets.sum(axis=1))

raw_report, raw_probs, raw_cover, raw_size = ours(ours_raw)
platt_report, platt_probs, platt_cover, platt_size = ours(ours_platt)
print(
    json.dumps(
        {
            "algorithm": algorithm,
            "seed": seed,
            "ours": scores(y, raw_probs),
            "ours_reported": {
                k: raw_report["pooled"][k]
                for k in ["roc_auc", "pr_auc", "balanced_accuracy", "brier", "log_loss", "ece"]
            },
            "ours_seconds": raw_report["wall_seconds"],
            "sklearn": scores(y, sk),
            "ours_platt": scores(y, platt_probs),
            "sets": {
                "ours_marginal": [raw_cover, raw_size],
                "ours_class_conditional": [platt_cover, platt_size],
                "ours_class_conditional_per_class": platt_report["sets"]["per_class"],
                "mapie_marginal": [float(np.mean(mapie_cover)), float(np.mean(mapie_size))],
            },
        }
    )
)
