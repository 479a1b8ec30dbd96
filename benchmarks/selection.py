"""Which pick survives validation noise: the study behind PerGDROSearchCV's defaults.

Run from the repository root::

    python -m benchmarks.selection --quick      # synthetic scenarios only, 10 seeds
    python -m benchmarks.selection              # synthetic and real data, 10 seeds

For every scenario and seed, one search (the package's default search space and
budget of 16 evaluations) is run once; every selection rule then picks from the
same evaluations (:meth:`PerGDROSearchCV.pick_candidates`), and each pick is refit
on the training and validation rows and scored on the test rows; ``hedged`` is the
default rule (``paired_se``'s pick averaged with ERM unless it clearly beats ERM;
:mod:`benchmarks.selection_rules` is the study that chose it), and its pool holds
the search's default baselines (GroupDRO, the trees plain and group-balanced, a linear
model). ERM (our network with zero radii), GroupDRO and (real data) a linear model are
the reference rows.

Reported per scenario and rule: the worst-group and the average test metric (mean ±
std over seeds) and the paired difference to ERM and to GroupDRO with a 95%
t-interval. Writes ``benchmarks/results/selection[_quick].md`` and a figure.

Scenarios (none of them was used to choose the rules' constants):

- ``appendix_e``: the paper's Appendix E (group 3 drifts in training and validation,
  clean at test), per-sample Wasserstein ball;
- ``appendix_e_w2``: the same with the shared W2 budget;
- ``shift_g2``: the drift on group 2 (label 0) instead, away from its opposite class;
- ``imbalance_g0``: other imbalance (group 0 is small and drifts, group 2 large);
- ``no_shift``, ``shift_majority``, ``label_noise_g3``: where robustness should not
  pay: the same groups without any drift, the drift on the largest group (0), and a
  quarter of the labels of the small group 3 flipped in training and validation
  (clean at test) instead of a drift;
- ``compas``, ``adult``, ``communities``: real data (``pergdro_sklearn.datasets``),
  groups race, sex x race and plurality race; 60/20/20 splits stratified by group.

The synthetic test splits hold five times the validation rows, so that a worst-group
accuracy is measured to about two points rather than four.
"""

import argparse
import time

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import PredefinedSplit

from pergdro_sklearn import (
    EnsembleSelectionClassifier,
    EnsembleSelectionRegressor,
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn.metrics import group_scores

from ._common import (
    RESULTS,
    benchmark_data_home,
    feature_scaler,
    logger,
    markdown_table,
    paired,
    setup_logging,
    write_result,
)

# Appendix E geometry: four Gaussian groups in R^2 (the paper's means and labels).
MEANS = np.array([[5, 5], [-5, -5], [5, -5], [-5, 5]], dtype=float) / 3.0
LABELS = np.array([0, 1, 0, 1])
SHIFT_VARIANCE = 0.3
SYNTHETIC = {
    # name: (training rows per group, drifting group, drift mean, wasserstein_order)
    "appendix_e": ((500, 420, 140, 140), 3, (-2.0, -0.5), "inf"),
    "appendix_e_w2": ((500, 420, 140, 140), 3, (-2.0, -0.5), 2),
    "shift_g2": ((500, 420, 140, 140), 2, (2.0, -0.5), "inf"),
    "imbalance_g0": ((140, 420, 500, 140), 0, (2.0, 0.5), "inf"),
    # where robustness should not pay: no shift at all, a shift of the majority group,
    # and label noise (not a shift) in one small group's training and validation rows
    "no_shift": ((500, 420, 140, 140), 3, (0.0, 0.0), "inf"),
    "shift_majority": ((500, 420, 140, 140), 0, (2.0, 0.5), "inf"),
    "label_noise_g3": ((500, 420, 140, 140), 3, (0.0, 0.0), "inf"),
}
# Share of labels flipped in the noisy scenario's training and validation rows.
LABEL_NOISE = {"label_noise_g3": 0.25}
REAL = {
    "compas": ("fetch_compas", dict(groups="race"), "classification"),
    "adult": ("fetch_adult", dict(groups="sex_race"), "classification"),
    "communities": ("fetch_communities_crime", dict(groups="plurality_race"), "regression"),
}
RULES = ("hedged", "paired_se", "one_se")  # the default and the two previous defaults
DEFAULT_RULE = "hedged"
BUDGET = dict(n_initial_points=8, n_iter=16, n_points=8)  # the search's defaults


def synthetic_split(name, seed, test_factor=5):
    """Train / validation / test parts of a synthetic scenario."""
    counts, drifting, drift, _ = SYNTHETIC[name]
    rng = np.random.RandomState(seed)
    counts = np.asarray(counts)
    parts = {}
    for part, n, drifted in (("train", counts, True), ("val", counts // 2, True),
                             ("test", test_factor * (counts // 2), False)):
        groups = np.repeat(np.arange(4), n)
        X = MEANS[groups] + rng.standard_normal((groups.size, 2))
        if drifted and np.any(np.asarray(drift) != 0):
            rows = groups == drifting
            X[rows] += np.asarray(drift) + np.sqrt(SHIFT_VARIANCE) * rng.standard_normal(
                (int(rows.sum()), 2))
        y = LABELS[groups].copy()
        if drifted and name in LABEL_NOISE:
            rows = np.flatnonzero(groups == drifting)
            flip = rows[rng.uniform(size=rows.size) < LABEL_NOISE[name]]
            y[flip] = 1 - y[flip]
        parts[part] = (X, y, groups)
    return parts, "classification"


def real_split(bunch, task, seed):
    from pergdro_sklearn.datasets import train_val_test_split_by_group

    split = train_val_test_split_by_group(bunch.data, bunch.target, bunch.groups,
                                          min_group_size=30, random_state=seed)
    scaler = feature_scaler(split["X_train"])
    return {part: (scaler.transform(split[f"X_{part}"]), split[f"y_{part}"],
                   split[f"groups_{part}"]) for part in ("train", "val", "test")}, task


def metrics(task, y, pred, groups):
    """(worst-group, average): accuracy for classifiers, MSE for regressors."""
    if task == "classification":
        return min(group_scores(y, pred, groups).values()), float(np.mean(pred == y))
    return (max(group_scores(y, pred, groups, mean_squared_error).values()),
            float(mean_squared_error(y, pred)))


def network(task, args, order, seed):
    net = dict(hidden_layer_sizes=args.hidden, max_iter=args.epochs, batch_size=args.batch,
               random_state=seed)
    if task == "classification":
        return PerGDROClassifier(wasserstein_order=order, **net), GroupDROClassifier(**net)
    return PerGDRORegressor(wasserstein_order=order, **net), GroupDRORegressor(**net)


def refit(template, params_list, weights, X, y, groups, task, cache):
    """The picked candidates refit on ``X``: one model, or their weighted average.

    ``cache`` maps a candidate's parameters to its fitted model, so that rules that
    pick the same candidate share one fit.
    """
    from pergdro_sklearn._search.baselines import resolve_baselines

    models = []
    for params in params_list:
        if "model" in params:  # a baseline the rule picked
            key = params["model"]
            if key not in cache:
                baseline = next(b for b in resolve_baselines("auto", template)
                                if b.name == key)
                cache[key] = baseline.fit(X, y, groups)
            models.append(cache[key])
            continue
        key = repr(sorted((k, np.round(np.asarray(v, dtype=float), 12).tolist())
                          for k, v in params.items()))
        if key not in cache:
            cache[key] = clone(template).set_params(**params).fit(X, y, groups=groups)
        models.append(cache[key])
    if len(models) == 1:
        return models[0]
    ensemble = EnsembleSelectionClassifier if task == "classification" else \
        EnsembleSelectionRegressor
    return ensemble.from_fitted(models, weights)


def scenario(name, seed, args, bunch=None):
    """One seed of a scenario: train + validation rows, the search's validation split,
    the test rows, the task and the two networks (Per-GDRO template, GroupDRO)."""
    if name in SYNTHETIC:
        parts, task = synthetic_split(name, seed)
        order = SYNTHETIC[name][3]
    else:
        parts, task = real_split(bunch, REAL[name][2], seed)
        order = "inf"
    (Xtr, ytr, gtr), (Xva, yva, gva), test = parts["train"], parts["val"], parts["test"]
    fit = (np.vstack([Xtr, Xva]), np.concatenate([ytr, yva]), np.concatenate([gtr, gva]))
    cv = PredefinedSplit(np.r_[np.full(len(ytr), -1), np.zeros(len(yva))])
    return fit, cv, test, task, network(task, args, order, seed)


def configure(name, args, epochs_override=None):
    """Set the network sizes of ``name`` on ``args``; the real data set's bunch, or None."""
    bunch = None
    if name in SYNTHETIC:
        args.hidden, args.epochs, args.batch = (64, 64, 64), 100, 128
    else:
        import pergdro_sklearn.datasets as datasets

        loader, kwargs, _ = REAL[name]
        bunch = getattr(datasets, loader)(data_home=benchmark_data_home(args.data_home),
                                          **kwargs)
        args.hidden, args.epochs, args.batch = (64, 64), 30, 256
    if epochs_override:
        args.epochs = epochs_override
    return bunch


def run_seed(name, seed, args, bunch=None):
    torch.set_num_threads(1)
    (X, y, g), cv, (Xte, yte, gte), task, (template, gdro) = scenario(name, seed, args, bunch)
    rows = {}
    erm = clone(template).set_params(rho=0.0, epsilon=0.0).fit(X, y, groups=g)
    rows["ERM"] = metrics(task, yte, erm.predict(Xte), gte)
    rows["GroupDRO"] = metrics(task, yte, gdro.fit(X, y, groups=g).predict(Xte), gte)
    if name not in SYNTHETIC:
        linear = LogisticRegression(max_iter=2000) if task == "classification" else Ridge()
        rows["linear"] = metrics(task, yte, linear.fit(X, y).predict(Xte), gte)

    start = time.perf_counter()
    search = PerGDROSearchCV(template, selection="ensemble", refit=False, random_state=seed,
                             cv=cv, **BUDGET)
    search.fit(X, y, groups=g)
    search_time = time.perf_counter() - start
    params = search.cv_results_["params"]
    picks, cache = {}, {}
    for rule in RULES:
        indices, weights = search.pick_candidates(rule)
        model = refit(template, [params[i] for i in indices], weights, X, y, g, task, cache)
        rows[f"search, {rule}"] = metrics(task, yte, model.predict(Xte), gte)
        picks[rule] = [params[i]["model"] if "model" in params[i] else
                       (round(float(params[i]["rho"]), 3),
                        np.round(params[i]["epsilon"], 3).tolist()) for i in indices]
    results = search.cv_results_
    info = dict(task=task, search_time=search_time, picks=picks,
                collapsed=int(np.sum(results["collapsed"])),
                bounds=(search.rho_bounds_, search.epsilon_bounds_[:, 1].round(3).tolist()))
    return rows, info


def summarise(name, per_seed):
    task = per_seed[0][1]["task"]
    sign = 1 if task == "classification" else -1  # differences: positive is better
    methods = list(per_seed[0][0])
    metric = "accuracy" if task == "classification" else "MSE"
    table, summary = [], {}
    for method in methods:
        worst = np.array([r[0][method][0] for r in per_seed])
        avg = np.array([r[0][method][1] for r in per_seed])
        cells = [method, f"{worst.mean():.3f} ± {worst.std(ddof=1):.3f}",
                 f"{avg.mean():.3f} ± {avg.std(ddof=1):.3f}"]
        for base in ("ERM", "GroupDRO"):
            if method == base:
                cells.append("-")
                continue
            reference = np.array([r[0][base][0] for r in per_seed])
            mean, low, high = paired(sign * worst, sign * reference)
            cells.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
            summary[(method, base)] = (mean, low, high)
        table.append(cells)
    return table, summary, metric


def figure(summaries, path):
    """Paired worst-group difference to ERM per rule and scenario, with 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summaries)
    methods = sorted({m for s in summaries.values() for (m, b) in s if b == "ERM"},
                     key=lambda m: (not m.startswith("search"), m))
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * len(names), 4.8))
    width = 0.8 / max(len(methods), 1)
    for j, method in enumerate(methods):
        xs, ys, lows, highs = [], [], [], []
        for i, name in enumerate(names):
            if (method, "ERM") in summaries[name]:
                mean, low, high = summaries[name][(method, "ERM")]
                xs.append(i + (j - len(methods) / 2 + 0.5) * width)
                ys.append(mean)
                lows.append(mean - low)
                highs.append(high - mean)
        ax.errorbar(xs, ys, yerr=[lows, highs], fmt="o", capsize=3, label=method)
    ax.axhline(0.0, color="k", lw=1)
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylabel("worst-group test metric minus ERM's\n(paired; + is better; 95% CI)")
    ax.set_title("Selection rules against ERM (mean over seeds)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="synthetic scenarios only")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--scenarios", default=None, help="comma-separated subset")
    parser.add_argument("--jobs", type=int, default=2, help="seeds in parallel processes")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--output", default=None)
    parser.add_argument("--epochs", type=int, default=None, help="override (smoke runs)")
    args = parser.parse_args(argv)
    names = list(SYNTHETIC) if args.quick else [*SYNTHETIC, *REAL]
    if args.scenarios:
        names = args.scenarios.split(",")
    output = args.output or ("selection_quick" if args.quick else "selection")
    setup_logging()
    start = time.perf_counter()
    sections = [
        f"{args.seeds} seeds per scenario. Search: the package defaults (data-scaled radius "
        f"bounds, one shared scale of the per-group radii, objective worst-group loss) with "
        f"{BUDGET['n_iter']} evaluations ({BUDGET['n_initial_points']} initial points, then "
        f"GP + EI in rounds of {BUDGET['n_points']}) on the scenario's validation split; "
        "every rule picks from the same evaluations; picks are refit on train + validation.",
    ]
    summaries = {}
    epochs_override = args.epochs
    for name in names:
        bunch = configure(name, args, epochs_override)
        per_seed = Parallel(n_jobs=args.jobs)(
            delayed(run_seed)(name, seed, args, bunch) for seed in range(args.seeds))
        table, summaries[name], metric = summarise(name, per_seed)
        info = per_seed[0][1]
        sections += [
            f"## {name}",
            markdown_table(["method", f"worst-group {metric}", f"average {metric}",
                            "worst-group vs ERM", "worst-group vs GroupDRO"], table),
            f"Search time {np.mean([r[1]['search_time'] for r in per_seed]):.0f} s per seed; "
            f"collapsed candidates per search: "
            f"{np.mean([r[1]['collapsed'] for r in per_seed]):.1f}; seed 0 bounds rho "
            f"{np.round(info['bounds'][0], 3).tolist()}, epsilon upper "
            f"{info['bounds'][1]}; seed 0 picks: {info['picks']}",
        ]
        logger.info("%s done after %.0f s\n%s", name, time.perf_counter() - start,
                    sections[-2])
    path = RESULTS / f"{output}.png"
    figure(summaries, path)
    sections.append(f"![paired differences to ERM]({path.name})")
    write_result(output, "Selection rules of PerGDROSearchCV", sections,
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
