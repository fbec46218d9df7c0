"""The SciPy side of bench/optimise.sh.

Fits a degree-2 ridge model (scikit-learn) of a synthetic cocktail property over component
amounts (% of a total of 100), writes the problem for the Rust side, and maximises the model's
prediction with SciPy's SLSQP from the same starts under the same bounds, Σ = 100 and a linear
ceiling. Prints the problem as JSON on stdout and SciPy's result on stderr.
"""
import json
import sys
import time

import numpy as np
from scipy.optimize import minimize
from sklearn.linear_model import Ridge
from sklearn.preprocessing import PolynomialFeatures

n = int(sys.argv[1]) if len(sys.argv) > 1 else 6
starts_n = int(sys.argv[2]) if len(sys.argv) > 2 else 8
rng = np.random.default_rng(7)

# A smooth, non-separable property with an interior optimum, plus noise.
X = rng.dirichlet(np.ones(n), size=400) * 100
w = rng.uniform(0.5, 2.0, n)
centre = rng.dirichlet(np.ones(n)) * 100
y = (X @ w) - 0.02 * ((X - centre) ** 2).sum(axis=1) + 0.001 * X[:, 0] * X[:, 1] + rng.normal(0, 1, len(X))
poly = PolynomialFeatures(degree=2, include_bias=False)
model = Ridge(alpha=1.0).fit(poly.fit_transform(X), y)
coef = model.coef_.tolist()
intercept = float(model.intercept_)

lower = np.zeros(n)
upper = np.full(n, 60.0)
a = rng.uniform(0.0, 2.0, n)
b = float(np.median(X @ a))
starts = [(rng.dirichlet(np.ones(n)) * 100).tolist() for _ in range(starts_n)]


def predict(x):
    return float(model.predict(poly.transform(x.reshape(1, -1)))[0] - 0.0)


def predict_fast(x):
    # The same polynomial the Rust side evaluates (PolynomialFeatures' order: x, then xᵢxⱼ, i ≤ j).
    feats = list(x)
    for i in range(n):
        for j in range(i, n):
            feats.append(x[i] * x[j])
    return float(np.dot(coef, feats) + intercept)


assert abs(predict(np.array(starts[0])) - predict_fast(np.array(starts[0]))) < 1e-8

cons = [
    {"type": "eq", "fun": lambda x: x.sum() - 100.0},
    {"type": "ineq", "fun": lambda x: b - x @ a},
]
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
best = None
t0 = time.perf_counter()
for _ in range(repeats):
    best = None
    for s in starts:
        r = minimize(lambda x: -predict_fast(x), np.array(s), method="SLSQP",
                     bounds=list(zip(lower, upper)), constraints=cons,
                     options={"maxiter": 500, "ftol": 1e-12})
        ok = abs(r.x.sum() - 100) < 1e-6 and r.x @ a <= b + 1e-6 and (r.x >= -1e-9).all() and (r.x <= 60 + 1e-9).all()
        if ok and (best is None or -r.fun > best[0]):
            best = (-r.fun, r.x.tolist())
secs = (time.perf_counter() - t0) / repeats
print(json.dumps({"coef": coef, "intercept": intercept, "lower": lower.tolist(), "upper": upper.tolist(),
                  "total": 100.0, "ceiling_a": a.tolist(), "ceiling_b": b, "starts": starts, "repeats": repeats}))
print(json.dumps({"best": best[0] if best else None, "x": best[1] if best else None, "seconds": secs}), file=sys.stderr)
