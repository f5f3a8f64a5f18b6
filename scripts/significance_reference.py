# Reference Diebold-Mariano results for src/significance.rs, written to
# tests/fixtures/significance/dm_reference.json and checked by tests/significance.rs.
#
# Each case is a pair of deterministic forecast-error series (numpy's default_rng with a fixed seed,
# rounded to 6 decimals so that the JSON holds exactly the doubles used here), a forecast horizon h
# and a loss (squared or absolute). The loss differential is d_t = loss(model_t) - loss(baseline_t).
# The expected statistic and two-sided p-value are computed twice, and the script stops unless the
# two agree:
#
#   1. the PyPI package `dieboldmariano` (dm_test, a port of R's forecast::dm.test: autocovariances
#      with divisor n up to lag h-1, rectangular weights, the Harvey-Leybourne-Newbold 1997
#      correction, Student t with n-1 degrees of freedom), and
#   2. an independent numpy/scipy implementation of the same formulas below, whose autocovariances
#      are also checked against statsmodels' acovf and whose variance of the mean differential is
#      checked against statsmodels' OLS-on-a-constant HAC covariance (kernel "uniform" for the
#      rectangular weights, "bartlett" for the Newey-West fallback), without small-sample correction.
#
# The fixture stores the numpy/scipy figures (scipy's t.sf is accurate to the last bits even for tiny
# p-values; dieboldmariano's own continued fraction stops at a relative 1e-10) and records the largest
# disagreement with dieboldmariano per case.
#
# One case ("fallback_alternating") has a strongly alternating differential, so that the rectangular
# variance gamma_0 + 2 sum gamma_k is negative: R's dm.test and dieboldmariano's "acf" estimator fail
# there, and src/significance.rs falls back to Newey-West Bartlett weights w_k = 1 - k/h. Its
# reference is dieboldmariano with variance_estimator="bartlett" and statsmodels' Bartlett HAC.
#
#   usage: python scripts/significance_reference.py [OUT_JSON]
#   needs: pip install numpy scipy statsmodels dieboldmariano
#          (tested with numpy 2.4.6, scipy 1.17.1, statsmodels 0.15.0, dieboldmariano 1.1.0, Python 3.11)
import json, math, os, platform, sys
from importlib.metadata import version

import numpy as np
import scipy
import statsmodels.api as sm
from dieboldmariano import dm_test
from scipy import stats
from statsmodels.tsa.stattools import acovf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests/fixtures/significance/dm_reference.json")
DECIMALS = 6
AGREE_REL = 1e-8  # dieboldmariano vs numpy/scipy: statistic and p-value


def loss_of(errors, loss):
    return errors**2 if loss == "squared" else np.abs(errors)


def ma(z, h):
    """An MA(h-1) series with equal weights: the overlap of h-step forecast errors."""
    return np.convolve(z, np.ones(h) / math.sqrt(h), mode="valid")


def make_case(name, seed, n, h, loss, edge, correlation):
    """Baseline errors: MA(h-1) noise with a few volatile days; model errors: correlated with the
    baseline's, scaled by (1 - edge) (edge 0: no edge)."""
    rng = np.random.default_rng(seed)
    base = ma(rng.standard_normal(n + h - 1), h)
    other = ma(rng.standard_normal(n + h - 1), h)
    noisy = rng.random(n) < 0.05
    base = np.where(noisy, 3.0 * base, base)
    other = np.where(noisy, 3.0 * other, other)
    model = (1.0 - edge) * (correlation * base + math.sqrt(1.0 - correlation**2) * other)
    return dict(name=name, seed=seed, horizon=h, loss=loss,
                model_errors=np.round(model, DECIMALS), baseline_errors=np.round(base, DECIMALS))


def fallback_case():
    """A differential d_t = 0.1 + 0.7 (-1)^t + 0.5 z_t that alternates in sign day by day: gamma_1 is
    close to -0.49 while gamma_0 is close to 0.74, so the rectangular variance at h = 2,
    gamma_0 + 2 gamma_1, is negative and the Bartlett one, gamma_0 + gamma_1, is about 0.25 / n.
    Squared loss: the baseline errors are at least 2 in size so that model_error^2 = baseline^2 + d_t
    stays positive."""
    rng = np.random.default_rng(16)
    n, h = 60, 2
    base = (2.0 + np.abs(rng.standard_normal(n))) * np.where(rng.random(n) < 0.5, -1.0, 1.0)
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    target = base**2 + 0.1 + 0.7 * sign + 0.5 * rng.standard_normal(n)
    assert target.min() > 0
    model = np.sqrt(target) * np.where(rng.random(n) < 0.5, -1.0, 1.0)
    return dict(name="fallback_alternating", seed=16, horizon=h, loss="squared",
                model_errors=np.round(model, DECIMALS), baseline_errors=np.round(base, DECIMALS))


def numpy_dm(d, h):
    """The formulas of src/significance.rs, written independently with numpy and scipy."""
    n = len(d)
    mean = d.mean()
    c = d - mean
    gamma = np.array([np.dot(c[k:], c[: n - k]) / n for k in range(h)])
    rect = (gamma[0] + 2.0 * gamma[1:].sum()) / n
    if rect > 0:
        variance, estimator = rect, "rectangular"
    else:
        weights = 1.0 - np.arange(h) / h
        variance, estimator = (gamma[0] + 2.0 * (weights[1:] * gamma[1:]).sum()) / n, "bartlett"
    dm = mean / math.sqrt(variance)
    stat = dm * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    p = 2.0 * stats.t.sf(abs(stat), n - 1)
    return dict(gamma=gamma, mean=mean, rect=rect, variance=variance, estimator=estimator, statistic=stat, p_value=p)


def statsmodels_variance(d, h, kernel):
    fit = sm.OLS(d, np.ones(len(d))).fit(cov_type="HAC", cov_kwds={"maxlags": h - 1, "kernel": kernel, "use_correction": False})
    return float(fit.cov_params()[0, 0])


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def reference(case):
    h, loss = case["horizon"], case["loss"]
    m, b = case["model_errors"], case["baseline_errors"]
    d = loss_of(m, loss) - loss_of(b, loss)
    ours = numpy_dm(d, h)

    # statsmodels: autocovariances and the variance of the mean differential.
    sm_gamma = acovf(d, adjusted=False, demean=True, fft=False, nlag=h - 1)
    assert np.allclose(sm_gamma, ours["gamma"], rtol=1e-12, atol=1e-15), case["name"]
    kernel = "uniform" if ours["estimator"] == "rectangular" else "bartlett"
    sm_var = statsmodels_variance(d, h, kernel)
    assert rel(sm_var, ours["variance"]) < 1e-10, (case["name"], sm_var, ours["variance"])
    if ours["estimator"] == "bartlett":
        assert statsmodels_variance(d, h, "uniform") <= 0, case["name"]

    # dieboldmariano: forecasts are the errors against an actual series of zeros.
    fn = (lambda u, v: (u - v) ** 2) if loss == "squared" else (lambda u, v: abs(u - v))
    estimator = "acf" if ours["estimator"] == "rectangular" else "bartlett"
    pkg_stat, pkg_p = dm_test([0.0] * len(d), list(m), list(b), loss=fn, h=h, variance_estimator=estimator)
    stat_rel, p_rel = rel(pkg_stat, ours["statistic"]), rel(pkg_p, ours["p_value"])
    assert stat_rel < AGREE_REL and p_rel < AGREE_REL, (case["name"], pkg_stat, ours["statistic"], pkg_p, ours["p_value"])
    if estimator == "bartlett":
        try:
            dm_test([0.0] * len(d), list(m), list(b), loss=fn, h=h)
            raise AssertionError("dieboldmariano's acf estimator should refuse the fallback case")
        except ArithmeticError:
            pass

    print(f"{case['name']:>24}: n={len(d):5} h={h} {loss:8} {ours['estimator']:11} "
          f"stat={ours['statistic']:+.6f} p={ours['p_value']:.3e}  |rel diff| stat {stat_rel:.1e} p {p_rel:.1e}")
    return {
        "name": case["name"],
        "seed": case["seed"],
        "horizon": h,
        "loss": loss,
        "n": len(d),
        "model_errors": [float(x) for x in m],
        "baseline_errors": [float(x) for x in b],
        "expected": {
            "statistic": float(ours["statistic"]),
            "p_value": float(ours["p_value"]),
            "mean_differential": float(ours["mean"]),
            "autocovariances": [float(g) for g in ours["gamma"]],
            "rectangular_variance": float(ours["rect"]),
            "variance": float(ours["variance"]),
            "estimator": ours["estimator"],
            "statsmodels_hac_variance": sm_var,
            "statsmodels_hac_kernel": kernel,
        },
        "dieboldmariano": {"statistic": float(pkg_stat), "p_value": float(pkg_p), "variance_estimator": estimator,
                           "relative_difference": {"statistic": stat_rel, "p_value": p_rel}},
    }


def main():
    cases = [
        make_case("n30_h1_squared_no_edge", 1, 30, 1, "squared", 0.0, 0.9),
        make_case("n30_h3_absolute_edge", 2, 30, 3, "absolute", 0.3, 0.5),
        make_case("n250_h1_absolute_no_edge", 3, 250, 1, "absolute", 0.0, 0.95),
        make_case("n250_h3_squared_edge", 4, 250, 3, "squared", 0.15, 0.8),
        make_case("n250_h5_squared_no_edge", 5, 250, 5, "squared", 0.0, 0.7),
        make_case("n1590_h1_squared_tiny_edge", 6, 1590, 1, "squared", 0.002, 0.99),
        make_case("n1590_h5_absolute_edge", 7, 1590, 5, "absolute", 0.1, 0.9),
        fallback_case(),
    ]
    out = {
        "source": (f"scripts/significance_reference.py: dieboldmariano {version('dieboldmariano')} (dm_test, port of R "
                   f"forecast::dm.test with the HLN correction) cross-checked against numpy {np.__version__} / scipy "
                   f"{scipy.__version__} (formulas of src/significance.rs; stored figures) and statsmodels "
                   f"{version('statsmodels')} (acovf; OLS HAC covariance, uniform or bartlett kernel), "
                   f"Python {platform.python_version()}"),
        "convention": "d_t = loss(model_errors_t) - loss(baseline_errors_t); negative statistic: model better; "
                      "two-sided p-value from Student t with n - 1 degrees of freedom",
        "cases": [reference(c) for c in cases],
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
