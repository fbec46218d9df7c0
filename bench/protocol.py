"""SciPy side of bench/protocol.sh: the same two-parameter membrane transport model
(Kleinhans 1998; the equations of crates/cryo-physics/src/transport.rs, written again here from
the paper, not from our code) on the same protocol file, solved by solve_ivp with LSODA at the
same tolerances. Prints one JSON line: min/final relative volume, final intracellular
concentration and the mean time of one simulation."""
import json
import sys
import time

import numpy as np
from scipy.integrate import solve_ivp

R_J = 8.314462618            # J/(mol K), CODATA 2018
R_L_ATM = R_J / 101.325      # L atm/(mol K)

path, rtol, atol, repeat = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
# "dense": also sample each step's dense output on a fine grid, so extremes between the
# solver's own steps are seen (for checking designed protocols against volume limits).
dense = "dense" in sys.argv[5:]
# "alpha=A": also integrate the toxicity cost J = ∫ C^A dt of the total intracellular CPA
# (Benson, Kearsley & Higgins 2012; k_ref = 1 per minute at the step temperature), as one more
# state, to check the designers' costs independently.
alpha = next((float(a.split("=")[1]) for a in sys.argv[5:] if a.startswith("alpha=")), None)
protocol = json.load(open(path))
cell, steps = protocol["cell"], protocol["steps"]
v0, area, vb_frac = cell["isotonic_volume_um3"], cell["area_um2"], cell["inactive_fraction"]
vw0 = v0 * (1 - vb_frac)
n_np = cell["isotonic_osmolality"] * vw0
t_ref = cell["reference_temperature_k"]
perm = cell["permeants"]
vbar = np.array([p["partial_molar_volume_l_per_mol"] for p in perm])
k = len(perm)


def arrhenius(k, ea, t):
    return k * np.exp(-ea / R_J * (1 / t - 1 / t_ref))


def simulate():
    # The cost rides along only when asked for, so the timing compares the same system.
    y = np.concatenate([[vw0], np.zeros(k), [0.0] if alpha is not None else []])
    t0 = 0.0
    volumes = [v0]
    for s in steps:
        m = s["medium"]
        c_out = np.array(m["permeating"])
        outside = m["nonpermeating_osmolality"] + c_out.sum()
        start = s["start_temperature_k"]
        end = s.get("end_temperature_k") or start
        dur = s["duration_min"]

        def rhs(t, y, t0=t0, start=start, end=end, dur=dur, c_out=c_out, outside=outside):
            temp = start + (end - start) * min(max((t - t0) / dur, 0.0), 1.0)
            w = y[0]
            n = y[1:1 + k]
            inside = (n_np + n.sum()) / w
            lp = arrhenius(cell["lp_um_per_min_atm"], cell["lp_activation_j_per_mol"], temp)
            dw = -lp * area * R_L_ATM * temp * (outside - inside)
            ps = np.array([arrhenius(p["ps_um_per_min"], p["ps_activation_j_per_mol"], temp) for p in perm])
            cost = [(n.sum() / w) ** alpha] if alpha is not None else []
            return np.concatenate([[dw], ps * area * (c_out - n / w), cost])

        sol = solve_ivp(rhs, (t0, t0 + dur), y, method="LSODA", rtol=rtol, atol=atol, dense_output=dense)
        volumes.extend(sol.y[0] + v0 * vb_frac + (sol.y[1:1 + k].T * vbar).sum(axis=1))
        if dense:
            grid = sol.sol(np.linspace(t0, t0 + dur, 2001))
            volumes.extend(grid[0] + v0 * vb_frac + (grid[1:1 + k].T * vbar).sum(axis=1))
        y = sol.y[:, -1]
        t0 += dur
    return np.array(volumes), y


start = time.perf_counter()
for _ in range(repeat):
    volumes, y = simulate()
seconds = (time.perf_counter() - start) / repeat
print(json.dumps({
    "min_relative_volume": float(volumes.min() / v0),
    "max_relative_volume": float(volumes.max() / v0),
    "final_relative_volume": float(volumes[-1] / v0),
    "final_intracellular": (y[1:1 + k] / y[0]).tolist(),
    "toxicity_cost": float(y[-1]) if alpha is not None else None,
    "seconds_per_simulation": seconds,
}))
