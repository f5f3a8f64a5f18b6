"""The README's interval table from the JSON reports of scripts/interval_benchmark.sh.

    python3 scripts/interval_table.py OUT_DIR

Per file, distribution and level: interval score per unit of the naive forecast's MAE on the same
days (coverage in the most volatile fifth in brackets) for the model and every interval baseline,
and the model's overall coverage, and the Diebold–Mariano p-value of the model against the
constant band and against GARCH(1,1)-t (reports from before the test have none: "-"); then, per
distribution, the averages over the real files (all but the synthetic sample) that the issue's
targets are stated in, and how many files' gains over GARCH are significant (p < 0.05).
"""
import json, pathlib, sys

out = pathlib.Path(sys.argv[1])
rows, summary = [], {}
order = ["sample", "AAPL", "MSFT", "NVDA", "JPM", "XOM", "SAN.MC", "LTC"]
reports = sorted(out.glob("*.json"), key=lambda p: (p.stem.rsplit("_", 1)[1], order.index(p.stem.rsplit("_", 1)[0]) if p.stem.rsplit("_", 1)[0] in order else 99))
print("| file | head | level | model | constant band | EWMA normal | GARCH(1,1)-t | model coverage | model vs constant (p) | GARCH vs constant | model vs GARCH (p) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for path in reports:
    name, dist = path.stem.rsplit("_", 1)
    report = json.loads(path.read_text())
    step = report["intervals"][0]
    mae = step["naive_mae"]
    methods = {m["method"]: m for m in step["methods"]}
    levels = [x["level"] for x in step["methods"][0]["levels"]]
    for l, level in enumerate(levels):
        cell = lambda m: "%.3f (%.3f)" % (methods[m]["levels"][l]["interval_score"] / mae, methods[m]["levels"][l]["coverage_high_vol"]) if m in methods else "-"
        score = lambda m: methods[m]["levels"][l]["interval_score"]
        model_gain = 1 - score("model") / score("constant")
        garch_gain = 1 - score("garch-t") / score("constant") if "garch-t" in methods else float("nan")
        vs_garch = 1 - score("model") / score("garch-t") if "garch-t" in methods else float("nan")
        coverage = methods["model"]["levels"][l]["coverage"]
        tests = {t["baseline"]: t["test"]["p_value"] for t in step.get("significance", []) if t["level"] == level}
        p = lambda m: "-" if tests.get(m) is None else ("< 0.001" if tests[m] < 0.001 else "%.2g" % tests[m])
        print(f"| {name} | {dist} | {level} | {cell('model')} | {cell('constant')} | {cell('ewma')} | {cell('garch-t')} | {coverage:.3f} | {model_gain:+.1%} ({p('constant')}) | {garch_gain:+.1%} | {vs_garch:+.1%} ({p('garch-t')}) |")
        if name != "sample":
            s = summary.setdefault((dist, level), [])
            better = vs_garch > 0 and tests.get("garch-t") is not None and tests["garch-t"] < 0.05
            worse = vs_garch < 0 and tests.get("garch-t") is not None and tests["garch-t"] < 0.05
            s.append((model_gain, garch_gain, methods["model"]["levels"][l]["coverage_high_vol"], coverage, vs_garch, better, worse))
print()
print("| head | level | files | model vs constant | GARCH-t vs constant | model vs GARCH-t | significantly better / worse than GARCH-t | model high-vol coverage | model coverage |")
print("|---|---|---|---|---|---|---|---|---|")
for (dist, level), s in sorted(summary.items()):
    mean = lambda i: sum(x[i] for x in s) / len(s)
    count = lambda i: sum(1 for x in s if x[i])
    print(f"| {dist} | {level} | {len(s)} | {mean(0):+.1%} | {mean(1):+.1%} | {mean(4):+.1%} | {count(5)} / {count(6)} | {mean(2):.3f} | {mean(3):.3f} |")
