# Reference GARCH(1,1)-t fit for src/volatility.rs: the daily log returns of the `close` column of
# tests/data/XOM_kaggle-sp500-5yr.csv, fitted with the `arch` package (zero mean, GARCH(1,1), standardized
# Student-t innovations) on returns scaled by 100 as arch recommends. The figures are written back in the units of
# the unscaled returns: omega / 100^2, log-likelihood + n * ln(100), backcast / 100^2.
#
# arch starts its variance recursion from a "backcast" (an exponentially weighted mean of the first 75 squared
# returns, weights 0.94^i) and sets sigma2[0] = omega + (alpha + beta) * backcast; src/volatility.rs starts from
# the unconditional variance omega / (1 - alpha - beta) instead, so the two maxima differ (by about 1.5 nats on this
# series). The backcast is recorded so that the Rust test can evaluate its likelihood at arch's parameters with
# arch's start and compare exactly, and fit with arch's start and compare with arch's fit. For the Rust crate's own
# start the script also maximises the same likelihood with sigma2[0] = omega / (1 - alpha - beta) using scipy's
# Nelder-Mead (an independent implementation, started from arch's optimum): the "unconditional_start" block.
#
#   usage: python scripts/garch_reference.py [CSV] [OUT_JSON]
#   needs: pip install arch   (tested with arch 8.0.0, numpy 2.4, scipy 1.17, Python 3.11)
import csv, json, math, os, platform, sys

import arch
import numpy as np
import scipy
from arch import arch_model
from scipy.optimize import minimize
from scipy.special import gammaln

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSV = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests/data/XOM_kaggle-sp500-5yr.csv")
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "tests/fixtures/garch/xom_reference.json")
SCALE = 100.0


def read_closes(path):
    """The `close` column, in file order (the file is in date order)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [float(row["close"]) for row in rows]


def log_likelihood(returns, omega, alpha, beta, nu):
    """GARCH(1,1)-t log-likelihood (standardized t, zero mean) started from the unconditional variance."""
    if not (omega > 0 and alpha >= 0 and beta >= 0 and alpha + beta < 0.9999 and 2 < nu <= 200):
        return -math.inf
    const = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * math.log(math.pi * (nu - 2))
    h = omega / (1 - alpha - beta)
    total = 0.0
    for r in returns:
        total += const - 0.5 * math.log(h) - (nu + 1) / 2 * math.log1p(r * r / ((nu - 2) * h))
        h = omega + alpha * r * r + beta * h
    return total


def fit_unconditional_start(returns, start):
    """Maximises log_likelihood with scipy's Nelder-Mead (omega in units of 100^2 * returns^2), two restarts."""
    objective = lambda p: -log_likelihood(returns, p[0] / SCALE**2, p[1], p[2], p[3])
    x = np.array(start, dtype=float)
    for _ in range(3):
        res = minimize(objective, x, method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000})
        x = res.x
    return x, -res.fun


def main():
    closes = read_closes(CSV)
    returns = np.array([math.log(b / a) for a, b in zip(closes[:-1], closes[1:])])
    n = len(returns)

    model = arch_model(returns * SCALE, mean="Zero", vol="GARCH", p=1, q=1, dist="t")
    res = model.fit(disp="off", options={"ftol": 1e-12, "maxiter": 2000})
    assert res.convergence_flag == 0, res.optimization_result
    p = res.params
    backcast = float(model.volatility.backcast(returns * SCALE))

    start = [float(p["omega"]), float(p["alpha[1]"]), float(p["beta[1]"]), float(p["nu"])]
    (omega_u, alpha_u, beta_u, nu_u), ll_u = fit_unconditional_start(list(returns), start)

    out = {
        "series": os.path.relpath(CSV, ROOT),
        "n": n,
        "omega": float(p["omega"]) / SCALE**2,
        "alpha": float(p["alpha[1]"]),
        "beta": float(p["beta[1]"]),
        "nu": float(p["nu"]),
        "log_likelihood": float(res.loglikelihood) + n * math.log(SCALE),
        "log_likelihood_scaled_100": float(res.loglikelihood),
        "backcast": backcast / SCALE**2,
        "source": (
            f"arch {arch.__version__} (numpy {np.__version__}), Python {platform.python_version()}: "
            "arch_model(100 * r, mean='Zero', vol='GARCH', p=1, q=1, dist='t').fit(); "
            "omega, log_likelihood and backcast converted to unscaled returns"
        ),
        "unconditional_start": {
            "omega": omega_u / SCALE**2,
            "alpha": alpha_u,
            "beta": beta_u,
            "nu": nu_u,
            "log_likelihood": ll_u,
            "source": (
                f"scipy {scipy.__version__} Nelder-Mead on the same GARCH(1,1)-t likelihood of the unscaled "
                "returns with sigma2[0] = omega / (1 - alpha - beta), started from arch's optimum"
            ),
        },
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
