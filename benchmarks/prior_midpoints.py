"""The NP-prior paper's protocol, over training seeds: a DCGAN per prior and seed, FID at prior samples,
at linear mid-points and at matched mid-points, mean +- std over seeds, paired tests of the differences.

    python benchmarks/prior_midpoints.py --dataset mnist_5k --runs-dir runs/prior_sweep --seeds 0 1 2 3 4 --matched
    python benchmarks/prior_midpoints.py --dataset mnist_5k --runs-dir runs/prior_sweep --seeds 0 1 2 3 4 --matched \\
        --no-train --markdown table.md                     # evaluate what is trained, train nothing
    python benchmarks/prior_midpoints.py --priors uniform normal nonparametric --seeds 0 1 2 --iterations 5000
    python benchmarks/prior_midpoints.py --dataset mnist_5k --presets --matched   # the shipped presets
    python benchmarks/prior_midpoints.py --iterations 100 --samples 500 --runs-dir /tmp/smoke   # smoke run

Training. Each (prior, seed) is one resumable ``zoo train`` run directory
``RUNS_DIR/RECIPE_seedS`` of the recipe ``mnist_dcgan_PRIOR`` (``--dataset mnist_5k``) or
``digits_dcgan_PRIOR`` (other one-channel sets, with ``data.name`` replaced), trained exactly as

    zoo train RECIPE --out RUNS_DIR/RECIPE_seedS --set seed=S --set eval.enabled=false [--set ...]

would (``--set`` adds overrides; ``--iterations N`` sets ``train.steps_per_epoch=100`` and
``train.epochs=N/100``, or one epoch of N steps when N is not a multiple of 100). A completed run is only evaluated; a missing or cut-off one is trained (or
continued from its last epoch); one that another process is training is skipped, so the benchmark can
run beside a sweep of the same directories and be re-run as runs complete. ``--no-train`` evaluates
only the completed runs. A run directory trained with another config is refused (use another
``--runs-dir``).

Evaluation. ``zoo.metrics.evaluate`` on ``--samples`` samples (10,000) per set, sample seed = the
training seed: FID and KID in every feature space of the dataset (``mnist_5k``: the zoo's MNIST
classifier, ``mnist``, and the second, differently built and trained one, ``mnist2``; digits: the
digits classifier), IS and precision/recall in the first. With ``--matched`` the same draws are also
scored with *matched* mid-points (``zoo.latent.midpoint(..., method="matched")``) for the i.i.d.
priors. Each run's results are cached in ``RUN_DIR/evaluation/`` (keyed by method, samples and seed,
checked against the SHA-256 of the model file and of the classifiers' weights, and the metric list),
so a re-run evaluates only new runs.

Statistics. Per prior and set: mean +- standard deviation (ddof 1) over the seeds. Each comparison
the docs state (prior A against prior B at one set, mid-points against prior samples of one model,
matched mid-points against the NP prior's linear ones) is paired over the seeds both have: the
paired t-test (two-sided) and the exact sign-flip permutation test of the mean difference. With 5
seeds the permutation test cannot go below p = 2/32 = 0.0625, so the t-test (which assumes roughly
normal per-seed differences) decides at 5 %; the permutation p is printed beside it as the
assumption-free check. A comparison is a *conclusion* only when FID in both feature spaces gives the
same significant sign; otherwise it is reported as a disagreement or as not established. A table
value is marked best (bold in ``--markdown``) only when its mean beats every other prior's by more
than two standard deviations (the larger of the two priors' std over seeds).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import pathlib
import sys

from zoo.files import sha256_file

# The paper's CelebA numbers: (IS prior, IS mid, FID prior, FID mid).
PAPER_CELEBA = {
    "uniform": (1.843, 1.369, 24.055, 40.371),
    "normal": (1.805, 1.371, 26.173, 42.136),
    "gamma": (1.776, 1.618, 29.912, 28.608),
    "cauchy": (1.625, 1.628, 59.601, 60.128),
    "nonparametric": (1.933, 1.681, 17.735, 19.115),
}


MATCHED_PRIORS = ("uniform", "normal", "cauchy", "nonparametric")  # the i.i.d. ones
# Dataset -> the recipe (and preset) prefix trained on it; other one-channel sets train the digits
# recipes with data.name replaced.
RECIPE_PREFIX = {"digits": "digits_dcgan", "mnist_5k": "mnist_dcgan"}
# A classifier family -> its second, independently trained feature space.
SECOND_SPACE = {"mnist": "mnist2"}
SETS = ("prior", "midpoint")
EVALUATION_DIR = "evaluation"
DEFAULT_RUNS_DIR = pathlib.Path("runs") / "prior_midpoints"
SIGNIFICANCE = 0.05


def recipe_prefix(dataset: str) -> str:
    return RECIPE_PREFIX.get(dataset, "digits_dcgan")


def family(dataset: str) -> str:
    """The digit classifier whose features score ``dataset``: ``digits`` or ``mnist``."""
    from zoo.metrics.classifier import for_dataset

    return for_dataset(dataset)


def feature_spaces(dataset: str) -> list[str]:
    """The feature spaces a dataset is scored in: its family, then the family's second one if any."""
    first = family(dataset)
    return [first, *([SECOND_SPACE[first]] if first in SECOND_SPACE else [])]


def metric_names(dataset: str) -> list[str]:
    spaces = feature_spaces(dataset)
    return [*(f"{s}-{m}" for s in spaces for m in ("fid", "kid")), f"{spaces[0]}-is", "precision-recall"]


# ---- run directories -----------------------------------------------------------------------------

def run_name(dataset: str, prior: str, seed: int) -> str:
    return f"{recipe_prefix(dataset)}_{prior}_seed{seed}"


def length_overrides(iterations: int | None) -> list[str]:
    """``--iterations N`` as recipe overrides: epochs of 100 steps when N is a multiple of 100 (a cut-off
    run then loses at most 100 steps), else one epoch of N steps (smoke runs)."""
    if iterations is None:
        return []
    if iterations < 1:
        raise ValueError(f"--iterations must be >= 1, got {iterations}")
    steps = 100 if iterations % 100 == 0 else iterations
    return [f"train.steps_per_epoch={steps}", f"train.epochs={iterations // steps}"]


def run_overrides(dataset: str, seed: int, extra=(), iterations: int | None = None) -> list[str]:
    """The ``zoo train --set`` overrides of one run."""
    data = [] if dataset in RECIPE_PREFIX else [f"data.name={dataset}"]
    return [f"seed={seed}", "eval.enabled=false", *data, *length_overrides(iterations), *extra]


def run_command(dataset: str, prior: str, seed: int, runs_dir, extra=(), iterations=None) -> list[str]:
    """The ``zoo train`` command that trains (or continues) one run directory."""
    recipe = f"{recipe_prefix(dataset)}_{prior}"
    sets = [item for pair in run_overrides(dataset, seed, extra, iterations) for item in ("--set", pair)]
    return ["zoo", "train", recipe, "--out", str(pathlib.Path(runs_dir) / run_name(dataset, prior, seed)), *sets]


def run_state(run_dir: pathlib.Path) -> str:
    """``completed`` (model written), ``partial`` (started, not finished: being trained, or cut off and
    continued when trained) or ``missing``."""
    from training import rundir as rundir_lib

    run = rundir_lib.RunDir(run_dir)
    if not run.is_run():
        return "missing"
    if (run / rundir_lib.MODEL_FILE).is_file() and run.run_record().get("status") == "completed":
        return "completed"
    return "partial"


def ensure_trained(dataset, prior, seed, runs_dir, *, extra=(), iterations=None, train=True) -> pathlib.Path | None:
    """The run's ``model.keras``, training (or continuing) the run first when ``train``; ``None`` when
    it is not complete and cannot be made so now (not training, another process on it, a failure)."""
    from training import config as config_lib
    from training import rundir as rundir_lib
    from zoo.errors import ZooError

    run_dir = pathlib.Path(runs_dir) / run_name(dataset, prior, seed)
    state = run_state(run_dir)
    overrides = run_overrides(dataset, seed, extra, iterations)
    config = config_lib.resolve(f"{recipe_prefix(dataset)}_{prior}", overrides)
    if state != "missing":  # a directory of another config is not ours to evaluate or continue
        changed = config_lib.diff(rundir_lib.RunDir(run_dir).saved_config(), config)
        if changed:
            listing = "; ".join(f"{k}: {json.dumps(a)} -> {json.dumps(b)}" for k, (a, b) in changed.items())
            raise SystemExit(f"{run_dir} holds a run of another config ({listing}); use another --runs-dir.")
    if state == "completed":
        return run_dir / rundir_lib.MODEL_FILE
    if not train:
        print(f"  {prior:13s} seed {seed}: {state}, not evaluated", flush=True)
        return None
    from training import run as run_lib

    command = run_command(dataset, prior, seed, runs_dir, extra, iterations)
    print(f"  {prior:13s} seed {seed}: training ({'continuing' if state == 'partial' else 'new'}): "
          f"{' '.join(command)}", flush=True)
    try:
        run_lib.train(config, run_dir, verbose=0, command=command)
    except ZooError as error:  # RunLockedError: another process is training it
        print(f"  {prior:13s} seed {seed}: not trained: {error}", flush=True)
        return None
    return run_dir / rundir_lib.MODEL_FILE


def cache_file(run_dir: pathlib.Path, method: str, samples: int, sample_seed: int) -> pathlib.Path:
    return run_dir / EVALUATION_DIR / f"prior_midpoints_{method}_{samples}_seed{sample_seed}.json"


def cached_evaluation(model_path: pathlib.Path, method: str, metrics, samples: int, sample_seed: int,
                      dataset: str, model=None):
    """``(report, model)``: ``evaluate``'s report of one run and mid-point method, from the run's cache
    when it was made from this model file with these metrics, else computed and cached (the model is
    loaded only then; pass it back in to reuse it)."""
    from training import rundir as rundir_lib

    from zoo.metrics.classifier import get_spec

    path = cache_file(model_path.parent, method, samples, sample_seed)
    digest = sha256_file(model_path)
    # Regenerated classifier weights change every number: they invalidate the cache too.
    features = {space: sha256_file(get_spec(space).weights_file) for space in feature_spaces(dataset)}
    if path.is_file():
        cached = json.loads(path.read_text())
        if (cached.get("model_sha256"), cached.get("features_sha256", features)) == (digest, features) \
                and set(metrics) <= set(cached["report"]["metrics"]):  # evaluate may add some (density-coverage)
            return cached["report"], model
    if model is None:
        import zoo

        model = zoo.load(model_path)
    from zoo.metrics import evaluate

    report = evaluate(model, list(metrics), samples=samples, seed=sample_seed, midpoint=True,
                      midpoint_method=method, dataset=dataset)
    rundir_lib.write_json(path, {"model_sha256": digest, "features_sha256": features, "report": report})
    return report, model


def row_of(report: dict, prior: str, method: str, seed: int, dataset: str) -> dict:
    """One run and mid-point method as a flat row: ``{"<space>-FID": {"prior": a, "midpoint": b}, ...}``
    under ``values``, with the family's FID/IS also as ``fid_prior``/``fid_mid``/``is_prior``/``is_mid``."""
    results = report["results"]
    values = {}
    for name, entry in results.items():
        if name.endswith("-KID-std") or "prior" not in entry:
            continue
        values[name] = {part: entry.get(part) for part in SETS}
    first = feature_spaces(dataset)[0]
    return {
        "prior": prior, "method": method, "seed": seed, "values": values,
        "fid_prior": values[f"{first}-FID"]["prior"], "fid_mid": values[f"{first}-FID"]["midpoint"],
        "is_prior": values[f"{first}-IS"]["prior"], "is_mid": values[f"{first}-IS"]["midpoint"],
    }


# ---- statistics -----------------------------------------------------------------------------------

def mean_std(values) -> tuple[float, float]:
    """Mean and standard deviation (ddof 1; NaN for one value) of a sequence."""
    import numpy as np

    array = np.asarray(values, np.float64)
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else math.nan


def sign_flip_p(differences) -> float:
    """Exact two-sided sign-flip permutation p-value of the mean of paired differences: the share of
    the 2^n sign assignments whose |mean| is at least the observed one (n <= 20)."""
    import numpy as np

    d = np.asarray(differences, np.float64)
    if d.size == 0 or d.size > 20:
        raise ValueError(f"sign_flip_p takes 1 to 20 differences, got {d.size}")
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))
    observed = abs(d.mean())
    flipped = np.abs(signs @ d) / d.size
    return float(np.mean(flipped >= observed * (1 - 1e-12)))


def paired_test(a, b) -> dict:
    """Paired comparison of per-seed values ``a`` and ``b`` (same seeds, same order): mean and std of
    ``a - b``, the paired t-test's two-sided p and the exact sign-flip permutation p."""
    import numpy as np
    from scipy import stats

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = a - b
    mean, std = mean_std(d)
    if d.size < 2:
        t_p = math.nan
    elif np.all(d == d[0]):
        t_p = 0.0 if d[0] != 0 else 1.0
    else:
        t_p = float(stats.ttest_rel(a, b).pvalue)
    return {"n": int(d.size), "mean_diff": mean, "std_diff": std, "t_p": t_p, "sign_flip_p": sign_flip_p(d)}


def outcome(test: dict) -> int:
    """+1 / -1 when the paired t-test finds ``a`` larger / smaller at 5 %, 0 otherwise."""
    if not test["n"] or math.isnan(test["t_p"]) or test["t_p"] >= SIGNIFICANCE:
        return 0
    return 1 if test["mean_diff"] > 0 else -1


def agreement(outcomes: dict[str, int]) -> str:
    """``conclusion`` (every space significant, same sign), ``disagree`` (significant, opposite signs),
    ``not established`` (otherwise)."""
    signs = set(outcomes.values())
    if signs in ({1}, {-1}):
        return "conclusion"
    if {1, -1} <= signs:
        return "disagree"
    return "not established"


def values_of(rows, prior: str, method: str, metric: str, part: str) -> dict[int, float]:
    """``{seed: value}`` of one prior, mid-point method, metric and set."""
    return {r["seed"]: r["values"][metric][part] for r in rows
            if r["prior"] == prior and r["method"] == method and metric in r["values"]
            and r["values"][metric][part] is not None}


def comparisons(rows, dataset: str) -> list[dict]:
    """The comparisons the docs state, each as ``{"label", "a", "b", "tests": {space: test}, "verdict"}``
    (``a``/``b``: ``(prior, method, set)``; each test compares a - b of FID over the shared seeds)."""
    priors = list(dict.fromkeys(r["prior"] for r in rows))
    methods = {(r["prior"], r["method"]) for r in rows}
    pairs = []
    for part in SETS:
        for first, second in itertools.combinations(priors, 2):
            pairs.append((f"{first} vs {second}, {'prior samples' if part == 'prior' else 'linear mid-points'}",
                          (first, "linear", part), (second, "linear", part)))
    for prior in priors:
        pairs.append((f"{prior}: linear mid-points vs prior samples", (prior, "linear", "midpoint"),
                      (prior, "linear", "prior")))
        if (prior, "matched") in methods:
            pairs.append((f"{prior}: matched mid-points vs prior samples", (prior, "matched", "midpoint"),
                          (prior, "linear", "prior")))
    if ("nonparametric", "linear") in methods:
        for prior in priors:
            if prior != "nonparametric" and (prior, "matched") in methods:
                pairs.append((f"{prior} matched mid-points vs nonparametric linear mid-points",
                              (prior, "matched", "midpoint"), ("nonparametric", "linear", "midpoint")))
    found = []
    for label, a, b in pairs:
        tests = {}
        for space in feature_spaces(dataset):
            metric = f"{space}-FID"
            va, vb = values_of(rows, a[0], a[1], metric, a[2]), values_of(rows, b[0], b[1], metric, b[2])
            seeds = sorted(set(va) & set(vb))
            if len(seeds) >= 2:
                tests[space] = {**paired_test([va[s] for s in seeds], [vb[s] for s in seeds]), "seeds": seeds}
        if tests:
            verdict = agreement({space: outcome(test) for space, test in tests.items()})
            if len(tests) < len(feature_spaces(dataset)) and verdict == "conclusion":
                verdict = "not established"  # one feature space is not enough
            found.append({"label": label, "a": a, "b": b, "tests": tests, "verdict": verdict})
    return found


def best_marks(summary: dict, column) -> set:
    """Priors whose mean in ``column`` (lower is better) beats every other prior's by more than two
    standard deviations (the larger of the two std over seeds); at most one."""
    entries = {prior: cells[column] for prior, cells in summary.items() if column in cells}
    if len(entries) < 2:
        return set()
    best = min(entries, key=lambda p: entries[p][0])
    mean, std = entries[best]
    for prior, (other_mean, other_std) in entries.items():
        if prior == best:
            continue
        spread = max(std, other_std)
        if math.isnan(spread) or other_mean - mean <= 2 * spread:
            return set()
    return {best}


def summary_table(rows, dataset: str) -> dict:
    """``{prior-method: {(metric, set): (mean, std)}}`` over seeds (rows: prior, method)."""
    table = {}
    for prior, method in dict.fromkeys((r["prior"], r["method"]) for r in rows):
        mine = [r for r in rows if r["prior"] == prior and r["method"] == method]
        cells = {}
        for metric in mine[0]["values"]:
            for part in SETS:
                values = [r["values"][metric][part] for r in mine if r["values"][metric][part] is not None]
                if values:
                    cells[(metric, part)] = mean_std(values)
        cells["seeds"] = sorted(r["seed"] for r in mine)
        table[f"{prior} {method}"] = cells
    return table


# ---- output ---------------------------------------------------------------------------------------

def _pm(cell, digits=2, bold=False) -> str:
    mean, std = cell
    text = f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")
    return f"**{text}**" if bold else text


def _metric_columns(dataset: str) -> list[tuple[str, str, int]]:
    """``(metric, set, digits)`` of the summary columns."""
    columns = []
    for space in feature_spaces(dataset):
        columns += [(f"{space}-FID", part, 2) for part in SETS]
        columns += [(f"{space}-KID", part, 2) for part in SETS]
    columns += [("recall", part, 3) for part in SETS]
    return columns


def markdown_summary(rows, dataset: str) -> str:
    """Mean ± std over seeds per prior and mid-point method; bold: beats every other prior by > 2 std
    in that column (compared among the same mid-point method)."""
    summary = summary_table(rows, dataset)
    columns = [c for c in _metric_columns(dataset) if any((c[0], c[1]) in cells for cells in summary.values())]
    bold = {}
    for method in ("linear", "matched"):
        group = {key: cells for key, cells in summary.items() if key.endswith(method)}
        for metric, part, _ in columns:
            if metric == "recall":  # higher is better
                flipped = {k: {(metric, part): (-v[(metric, part)][0], v[(metric, part)][1])}
                           for k, v in group.items() if (metric, part) in v}
                bold[(method, metric, part)] = best_marks(flipped, (metric, part))
            else:
                bold[(method, metric, part)] = best_marks(group, (metric, part))
    header = ["prior", "mid-points", "seeds"] + [
        f"{metric} {'prior' if part == 'prior' else 'mid'}" for metric, part, _ in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, cells in summary.items():
        prior, method = key.split(" ")
        row = [prior, method, str(len(cells["seeds"]))]
        for metric, part, digits in columns:
            if (metric, part) not in cells:
                row.append("-")
                continue
            mean, std = cells[(metric, part)]
            if method == "matched" and part == "prior":
                row.append("(same)")
                continue
            row.append(_pm((mean, std), digits, key in bold[(method, metric, part)]))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def markdown_seeds(rows, dataset: str) -> str:
    """Every seed's FID, prior -> mid-point, in each feature space."""
    spaces = feature_spaces(dataset)
    seeds = sorted({r["seed"] for r in rows})
    header = ["prior", "mid-points", "space"] + [f"seed {s}" for s in seeds]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for prior, method in dict.fromkeys((r["prior"], r["method"]) for r in rows):
        for space in spaces:
            cells = []
            for seed in seeds:
                match = [r for r in rows if (r["prior"], r["method"], r["seed"]) == (prior, method, seed)]
                value = match[0]["values"].get(f"{space}-FID") if match else None
                cells.append("-" if value is None else f"{value['prior']:.2f} -> {value['midpoint']:.2f}")
            lines.append("| " + " | ".join([prior, method, f"{space}-FID", *cells]) + " |")
    return "\n".join(lines)


def markdown_comparisons(found: list[dict], dataset: str) -> str:
    spaces = feature_spaces(dataset)
    header = ["comparison (FID, a - b)"] + [f"{s}: mean ± std, t p, sign-flip p" for s in spaces] + ["verdict"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for item in found:
        cells = []
        for space in spaces:
            test = item["tests"].get(space)
            cells.append("-" if test is None else
                         f"{_pm((test['mean_diff'], test['std_diff']))}, {test['t_p']:.3f}, {test['sign_flip_p']:.3f}")
        lines.append("| " + " | ".join([item["label"], *cells, item["verdict"]]) + " |")
    return "\n".join(lines)


def verdict(means: dict) -> str | None:
    """The target, on per-prior mean FIDs; None when uniform, normal or nonparametric is missing."""
    compared = ("uniform", "normal", "nonparametric")
    if not all(prior in means for prior in compared):
        return None
    ratio = {prior: means[prior]["fid_mid"] / means[prior]["fid_prior"] for prior in compared}
    smallest = min(ratio, key=ratio.get) == "nonparametric"
    best_mid = min(means[prior]["fid_mid"] for prior in compared)
    near_best = means["nonparametric"]["fid_mid"] <= 1.05 * best_mid
    return (f"target (nonparametric: smallest mid/prior ratio, best or near-best mid-point FID): "
            f"ratio {'smallest' if smallest else 'NOT smallest'} "
            f"({', '.join(f'{p} {r:.3f}' for p, r in ratio.items())}); mid-point FID "
            f"{'best or near-best' if near_best else 'NOT near-best'}: {'met' if smallest and near_best else 'NOT met'}")


def print_report(rows, args) -> dict:
    """Print the per-seed, summary and comparison tables; returns them for ``--json``."""
    dataset = args.dataset
    source = ("shipped presets" if args.presets else f"runs in {args.runs_dir}"
              + "".join(f" --set {pair}" for pair in args.set))
    print(f"\nDCGAN on {dataset} ({source}), {args.samples:,} samples per set; feature spaces "
          f"{', '.join(feature_spaces(dataset))}; paper: CelebA, Inception FID, linear mid-points")
    print("\nEvery seed, FID prior -> mid-point:")
    print(markdown_seeds(rows, dataset))
    print("\nMean ± std over seeds; bold: beats every other prior by > 2 std:")
    print(markdown_summary(rows, dataset))
    found = comparisons(rows, dataset)
    print("\nPaired over seeds (t-test decides at 5 %; the sign-flip test's floor with 5 seeds is 0.0625):")
    print(markdown_comparisons(found, dataset))
    means = {}
    for prior in dict.fromkeys(r["prior"] for r in rows):
        mine = [r for r in rows if r["prior"] == prior and r["method"] == "linear"]
        if mine:
            means[prior] = {k: mean_std([r[k] for r in mine])[0] for k in ("fid_prior", "fid_mid")}
            if prior in PAPER_CELEBA:
                _, _, fid, fid_mid = PAPER_CELEBA[prior]
                print(f"{prior:13s} mid/prior {means[prior]['fid_mid'] / means[prior]['fid_prior']:.3f}"
                      f" (paper, CelebA: {fid_mid / fid:.3f})")
    line = verdict(means)
    if line:
        print(line)
    summary = {key: {("seeds" if name == "seeds" else "/".join(name)): value for name, value in cells.items()}
               for key, cells in summary_table(rows, dataset).items()}
    return {"summary": summary, "comparisons": found}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--priors", nargs="+", default=list(PAPER_CELEBA), choices=list(PAPER_CELEBA))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--runs-dir", type=pathlib.Path, default=DEFAULT_RUNS_DIR,
                        help="where the run directories RECIPE_seedS are (default: %(default)s)")
    parser.add_argument("--no-train", dest="train", action="store_false",
                        help="evaluate the completed runs only; train or continue nothing")
    parser.add_argument("--iterations", type=int, default=None,
                        help="training steps; default: the recipe's (mnist_5k: 3,000)")
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--sample-seed", type=int, default=None,
                        help="evaluation seed of every run (default: the run's training seed)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a recipe override, as zoo train --set (repeatable)")
    parser.add_argument("--json", help="write every run's numbers, the summary and the tests here")
    parser.add_argument("--markdown", help="write the three tables (markdown) here")
    parser.add_argument("--matched", action="store_true",
                        help="also score matched mid-points (uniform, normal, cauchy, nonparametric) on the same generators")
    parser.add_argument("--presets", action="store_true",
                        help="score the shipped presets (digits_dcgan_PRIOR, mnist_dcgan_PRIOR) instead of runs "
                             "(--runs-dir, --iterations, --set and --seeds other than the sample seed do not apply)")
    parser.add_argument("--dataset", default="digits",
                        help="one-channel zoo.data set to train on and score against (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.presets:
        missing = [p for p in args.priors if p not in ("uniform", "normal", "nonparametric")]
        if missing or args.dataset not in RECIPE_PREFIX or args.set or args.iterations:
            parser.error("--presets exists for the uniform, normal and nonparametric priors on digits and mnist_5k, "
                         f"without --set or --iterations (got priors {args.priors}, dataset {args.dataset}, "
                         f"--set {args.set})")
    try:
        length_overrides(args.iterations)
    except ValueError as error:
        parser.error(str(error))

    metrics = metric_names(args.dataset)
    rows, waiting = [], []
    for seed in args.seeds:
        for prior in args.priors:
            sample_seed = seed if args.sample_seed is None else args.sample_seed
            methods = ["linear", "matched"] if args.matched and prior in MATCHED_PRIORS else ["linear"]
            if args.presets:
                import zoo.presets
                from zoo.metrics import evaluate

                model = zoo.presets.load(f"{recipe_prefix(args.dataset)}_{prior}")
                reports = [evaluate(model, metrics, samples=args.samples, seed=sample_seed, midpoint=True,
                                    midpoint_method=method, dataset=args.dataset) for method in methods]
            else:
                path = ensure_trained(args.dataset, prior, seed, args.runs_dir, extra=args.set,
                                      iterations=args.iterations, train=args.train)
                if path is None:
                    waiting.append(run_command(args.dataset, prior, seed, args.runs_dir, args.set, args.iterations))
                    continue
                model, reports = None, []
                for method in methods:
                    report, model = cached_evaluation(path, method, metrics, args.samples, sample_seed,
                                                      args.dataset, model)
                    reports.append(report)
            for method, report in zip(methods, reports):
                row = row_of(report, prior, method, seed, args.dataset)
                rows.append(row)
                fids = ", ".join(f"{k} {v['prior']:.2f} -> {v['midpoint']:.2f}" for k, v in row["values"].items()
                                 if k.endswith("-FID"))
                print(f"  {prior:13s} seed {seed} {method:8s}: {fids}", flush=True)
    if not rows:
        print("no completed runs to evaluate yet")
        return 1
    tables = print_report(rows, args)
    if waiting:
        print(f"\n{len(waiting)} run(s) not evaluated (not complete); each continues with:")
        for command in waiting:
            print("  " + " ".join(command))
    if args.markdown:
        pathlib.Path(args.markdown).write_text(
            "\n\n".join([markdown_seeds(rows, args.dataset), markdown_summary(rows, args.dataset),
                         markdown_comparisons(tables["comparisons"], args.dataset)]) + "\n")
    if args.json:
        settings = {k: (str(v) if isinstance(v, pathlib.Path) else v) for k, v in vars(args).items()}
        with open(args.json, "w") as handle:
            json.dump({"settings": settings, "runs": rows, **tables, "not_evaluated": waiting}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
