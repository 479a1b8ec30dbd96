"""The default search against what a user would pick instead, on real data.

Run from the repository root::

    python -m benchmarks.real_data              # 10 seeds, every data set
    python -m benchmarks.real_data --quick      # 2 seeds
    python -m benchmarks.real_data --datasets "COMPAS (race)" --seeds 10

The data come from ``pergdro_sklearn.datasets`` (``fetch_compas``, ``fetch_adult``,
``fetch_communities_crime``, ``fetch_hmda``, ``fetch_slid``) with the data folder given by
``--data-home``, else ``$PERGDRO_DATA_HOME``, else a ``shared/data`` folder next to the
repository if there is one; a data set that folder lacks is read from the loaders' default cache
(``~/pergdro_sklearn_data``, downloaded on first use). HMDA and SLID were added after every
default was chosen and no study reads them: they check the defaults on data they were not
tuned on.

Each seed draws a train / validation / test split stratified by group (and class) with
``train_val_test_split_by_group``; groups with fewer than 30 rows are dropped and
reported. Every method is fitted on train + validation with its defaults (numerical
columns standardised on those rows, 0/1 indicator columns left at 0/1), as a user would:
``PerGDROSearchCV(PerGDROClassifier())`` with every search parameter at its default (it
holds out its own validation rows), ERM (our network with zero radii), GroupDRO,
LogisticRegression / Ridge, and scikit-learn's HistGradientBoosting, plain and with
group-balanced sample weights. The test rows score them all. The paired difference of
the default search to the best baseline (by mean over seeds, for each metric) comes with
a 95% t-interval. The time of the search is compared with one ``MLPClassifier`` /
``MLPRegressor`` fit with the same layers for 100 epochs on the same rows, in the same
process (torch and the BLAS of scikit-learn each on one thread). Writes
``benchmarks/results/real_data[_quick].md`` and a figure.

``--early-stopping-loss worst_group`` (or ``average``) sets that ``early_stopping_loss`` in every
network of the package in the run (the search's estimator, and so its candidates and its
network baselines, ERM and GroupDRO), a study of what early stopping follows; the
results then describe that setting, not the defaults. ``--refit-seeds k`` sets the
search's ``refit_seeds`` (a study of averaging the refit over k seeds). """

import argparse
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.neural_network import MLPClassifier, MLPRegressor
from threadpoolctl import threadpool_limits

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn._constants import (
    DEFAULT_EARLY_STOPPING_LOSS,
    DEFAULT_HIDDEN_LAYER_SIZES,
    DEFAULT_REFIT_SEEDS,
    EARLY_STOPPING_LOSSES,
)
from pergdro_sklearn._search.baselines import group_balanced_weights
from pergdro_sklearn.datasets import (
    fetch_adult,
    fetch_communities_crime,
    fetch_compas,
    fetch_hmda,
    fetch_slid,
    train_val_test_split_by_group,
)
from pergdro_sklearn.metrics import group_scores

from ._common import (
    RESULTS,
    benchmark_data_home,
    feature_scaler,
    logger,
    markdown_table,
    mean_std,
    paired,
    setup_logging,
    write_result,
)

DATASETS = {
    # name: (loader, kwargs, task)
    "COMPAS (race)": (fetch_compas, dict(groups="race"), "classification"),
    "Adult (sex x race)": (fetch_adult, dict(groups="sex_race"), "classification"),
    "Communities and Crime (plurality race)": (
        fetch_communities_crime, dict(groups="plurality_race"), "regression"),
    # HMDA and SLID are not used to choose any default: a check on data they were not tuned on
    "HMDA Boston (race x single)": (fetch_hmda, dict(groups="race_single"), "classification"),
    "SLID Ontario wages (sex x language)": (
        fetch_slid, dict(groups="sex_language"), "regression"),
    "HMDA Boston (race)": (fetch_hmda, dict(groups="race"), "classification"),
    "SLID Ontario wages (language)": (fetch_slid, dict(groups="language"), "regression"),
}
MIN_GROUP_SIZE = 30
SEARCH = "default search"
BASELINES = ("ERM (ours)", "GroupDRO", "linear", "HistGradientBoosting",
             "HistGradientBoosting, group-balanced")


def evaluate(task, y_true, pred, groups):
    """(average, worst-group, per-group dict): accuracy or MSE."""
    if task == "classification":
        per = group_scores(y_true, pred, groups)
        return float(np.mean(pred == y_true)), min(per.values()), per
    per = group_scores(y_true, pred, groups, mean_squared_error)
    return float(mean_squared_error(y_true, pred)), max(per.values()), per


def load(name, data_home):
    """The Bunch of one of ``DATASETS``: from ``data_home`` if it holds the data set's
    files, else from the loaders' default cache (downloaded there on first use)."""
    loader, kwargs, _ = DATASETS[name]
    try:
        return loader(data_home=data_home, download_if_missing=False, **kwargs)
    except FileNotFoundError:
        if data_home is not None:
            logger.info("%s is not in %s: reading the loaders' cache", name, data_home)
        return loader(**kwargs)


def mlp_seconds(task, X, y, seed):
    """One sklearn MLP fit with the package's default layers for 100 epochs."""
    kind = MLPClassifier if task == "classification" else MLPRegressor
    start = time.perf_counter()
    # one BLAS thread, as torch trains on one thread here: the same hardware for both
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        kind(hidden_layer_sizes=DEFAULT_HIDDEN_LAYER_SIZES, max_iter=100, tol=0.0,
             n_iter_no_change=10**9, random_state=seed).fit(X, y)
    return time.perf_counter() - start


def default_search(task, seed, network=None, search=None):
    final = (PerGDROClassifier if task == "classification" else PerGDRORegressor)(
        random_state=seed, **(network or {}))
    return PerGDROSearchCV(final, random_state=seed, **(search or {}))


def network_params(args):
    """Parameters set in every network of the package (empty: the defaults)."""
    loss = getattr(args, "early_stopping_loss", None)
    return {} if loss in (None, DEFAULT_EARLY_STOPPING_LOSS) else {"early_stopping_loss": loss}


def search_params(args):
    """Parameters set in the search (empty: the defaults)."""
    seeds = getattr(args, "refit_seeds", None)
    return {} if seeds in (None, DEFAULT_REFIT_SEEDS) else {"refit_seeds": seeds}


def run(name, bunch, seed, args):
    task = DATASETS[name][2]
    split = train_val_test_split_by_group(
        bunch.data, bunch.target, bunch.groups, min_group_size=MIN_GROUP_SIZE,
        random_state=seed)
    X = np.vstack([split["X_train"], split["X_val"]])
    y = np.concatenate([split["y_train"], split["y_val"]])
    g = np.concatenate([split["groups_train"], split["groups_val"]])
    scaler = feature_scaler(X)
    X, Xte = scaler.transform(X), scaler.transform(split["X_test"])
    yte, gte = split["y_test"], split["groups_test"]
    classifier = task == "classification"
    network = network_params(args)
    models = {
        "ERM (ours)": ((PerGDROClassifier if classifier else PerGDRORegressor)(
            rho=0.0, epsilon=0.0, random_state=seed, **network), dict(groups=g)),
        "GroupDRO": ((GroupDROClassifier if classifier else GroupDRORegressor)(
            random_state=seed, **network), dict(groups=g)),
        "linear": (LogisticRegression(max_iter=1000) if classifier else Ridge(), {}),
        "HistGradientBoosting": ((HistGradientBoostingClassifier if classifier else
                                  HistGradientBoostingRegressor)(random_state=seed), {}),
        "HistGradientBoosting, group-balanced": (
            (HistGradientBoostingClassifier if classifier else
             HistGradientBoostingRegressor)(random_state=seed),
            dict(sample_weight=group_balanced_weights(g))),
    }
    results, times = {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes of the networks
        for label, (model, kwargs) in models.items():
            start = time.perf_counter()
            model.fit(X, y, **kwargs)
            times[label] = time.perf_counter() - start
            results[label] = evaluate(task, yte, model.predict(Xte), gte)
        search = default_search(task, seed, network, search_params(args))
        start = time.perf_counter()
        search.fit(X, y, groups=g)
        times[SEARCH] = time.perf_counter() - start
    results[SEARCH] = evaluate(task, yte, search.predict(Xte), gte)
    mlp = mlp_seconds(task, X, y, seed)
    pick = search.best_params_
    picked = pick.get("model", "per_gdro")
    if len(search.selected_indices_) > 1:  # selection="hedged" averaged it with ERM
        picked += " + ERM"
    network = ~np.isnan(np.asarray(search.cv_results_["param_rho"], dtype=float))
    collapsed = np.asarray(search.cv_results_["collapsed"], dtype=bool)
    meta = dict(dropped=split["dropped_groups"], n_rows=len(y), n_test=len(yte),
                smallest_test=int(np.unique(gte, return_counts=True)[1].min()),
                # network candidates predicting one class (or a constant) on validation;
                # the first candidate is ERM
                collapsed=(int(collapsed[network].sum()), int(network.sum()),
                           bool(collapsed[0])),
                n_features=X.shape[1], task=task, mlp=mlp, picked=picked,
                pick=(None if "model" in pick else
                      (round(float(pick["rho"]), 3),
                       np.round(np.asarray(pick["epsilon"]), 4).tolist())))
    return results, times, meta


def comparison(per_seed, task):
    """Rows: the default search minus each baseline, worst-group and average, paired."""
    sign = 1 if task == "classification" else -1  # positive: the search is better
    rows, best = [], {}
    for k, what in ((1, "worst-group"), (0, "average")):
        means = {m: np.mean([r[0][m][k] for r in per_seed]) for m in BASELINES}
        best[what] = max(means, key=lambda m: sign * means[m])
    for m in BASELINES:
        cells = [m + "".join(f" (best {w})" for w, b in best.items() if b == m)]
        for k in (1, 0):
            d, lo, hi = paired([sign * r[0][SEARCH][k] for r in per_seed],
                               [sign * r[0][m][k] for r in per_seed])
            cells.append(f"{d:+.4f} [{lo:+.4f}, {hi:+.4f}]")
        rows.append(cells)
    return rows, best


def per_seed_line(per_seed, seeds, task, best):
    """The worst-group difference to the best worst-group baseline, seed by seed, with
    the search's worst group and both models' score on it.

    A mean over 10 seeds can rest on one seed: where the smallest test group has a
    handful of rows, one row changes its accuracy by many points.
    """
    classifier = task == "classification"
    sign, scale, digits = (1, 100, 2) if classifier else (-1, 1, 4)
    unit = "accuracy (points)" if classifier else "MSE"
    cells = []
    for s, r in zip(seeds, per_seed):
        ours, theirs = r[0][SEARCH][2], r[0][best][2]
        group = (min if classifier else max)(ours, key=ours.get)
        diff = sign * scale * (r[0][SEARCH][1] - r[0][best][1])
        cells.append(f"seed {s}: {diff:+.{digits}f} ({group}: {ours[group]:.3f} against "
                     f"{theirs[group]:.3f})")
    smallest = min(r[2]["smallest_test"] for r in per_seed)
    text = (f"Per seed, the search's worst-group {unit} minus {best}'s (+ is better), "
            "with the search's worst group and its score there against the baseline's: "
            + ", ".join(cells) + f". The smallest test group has {smallest} rows")
    if task == "classification":
        text += (f" on some seed, so one of its rows moves its accuracy by "
                 f"{100 / smallest:.1f} points")
    return text + "."


def by_pick_line(per_seed, task, best):
    """The worst-group difference to the best worst-group baseline, averaged over the
    seeds of each pick of the search: which picks a mean gap comes from."""
    sign, scale, digits = (1, 100, 2) if task == "classification" else (-1, 1, 4)
    unit = "points" if task == "classification" else "MSE"
    diffs = {}
    for r in per_seed:
        diffs.setdefault(r[2]["picked"], []).append(
            sign * scale * (r[0][SEARCH][1] - r[0][best][1]))
    order = sorted(diffs, key=lambda k: (-len(diffs[k]), k))
    return (f"By the search's pick, its worst-group difference to {best} ({unit}, + is "
            "better), mean over the pick's seeds and their sum: " + ", ".join(
                f"{k}: {len(diffs[k])} seed{'s' if len(diffs[k]) > 1 else ''}, "
                f"{np.mean(diffs[k]):+.{digits}f} (sum {np.sum(diffs[k]):+.{digits}f})"
                for k in order) + ".")


def collapse_line(per_seed, seeds):
    """How many of the search's network candidates predicted one class (a constant, for
    regressors) on every validation row, seed by seed: those are never picked."""
    counts = [r[2]["collapsed"] for r in per_seed]
    if not any(n for n, _, _ in counts):
        return "No network candidate of the search predicted one class on validation."
    return ("Network candidates of the search that predicted one class (regressors: a "
            "constant) on every validation row, never picked: " + ", ".join(
                f"seed {s}: {n} of {total}" + (" (ERM among them)" if erm else "")
                for s, (n, total, erm) in zip(seeds, counts)) + ".")


def figure(summary, path):
    """Average against worst-group metric per method, one panel per data set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(summary), figsize=(6 * len(summary), 4.8))
    axes = np.atleast_1d(axes)
    for ax, (name, (metric, methods)) in zip(axes, summary.items()):
        for method, (avg, avg_sd, worst, worst_sd) in methods.items():
            ax.errorbar(avg, worst, xerr=avg_sd, yerr=worst_sd, fmt="o", capsize=3,
                        label=method)
        better = "up and right" if metric == "accuracy" else "down and left"
        ax.set_xlabel(f"average {metric}")
        ax.set_ylabel(f"worst-group {metric}")
        ax.set_title(f"{name}\n(better: {better}; mean ± std over seeds)", fontsize=10)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def summary_from_markdown(path):
    """Means and stds of the main tables of a results file (to redraw its figure)."""
    summary, name, metric = {}, None, None
    for line in Path(path).read_text().splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
        elif line.startswith("| method | average"):
            metric = line.split("|")[2].strip().split()[-1]
            summary[name] = (metric, {})
        elif name in summary and line.startswith("| ") and "±" in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if len(cells) == 4:
                avg, worst = (tuple(float(v) for v in c.split("±")) for c in cells[1:3])
                summary[name][1][cells[0]] = (*avg, *worst)
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--figure-only", action="store_true",
                        help="redraw the figure from an existing results file")
    parser.add_argument("--data-home", default=None,
                        help="data folder (default: $PERGDRO_DATA_HOME, ../shared/data next "
                        "to the repository, or the loaders' cache ~/pergdro_sklearn_data)")
    parser.add_argument("--output", default=None,
                        help="results file name without .md (default real_data[_quick])")
    parser.add_argument("--early-stopping-loss", choices=EARLY_STOPPING_LOSSES,
                        default=DEFAULT_EARLY_STOPPING_LOSS,
                        help="early_stopping_loss of every network of the package in the run")
    parser.add_argument("--refit-seeds", type=int, default=DEFAULT_REFIT_SEEDS,
                        help="refit_seeds of the search (a study setting)")
    args = parser.parse_args(argv)
    output = args.output or ("real_data_quick" if args.quick else "real_data")
    if args.figure_only:
        figure(summary_from_markdown(RESULTS / f"{output}.md"), RESULTS / f"{output}.png")
        return
    args.seeds = args.seeds or (2 if args.quick else 10)
    setup_logging()
    torch.set_num_threads(1)
    data_home = benchmark_data_home(args.data_home)
    # Load (and, if needed, download) every data set before any training starts.
    bunches = {name: load(name, data_home) for name in args.datasets.split(",")}
    start = time.perf_counter()
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    sections = [
        f"{args.seeds} seeds (split seeds {seeds.start} to {seeds.stop - 1}); every method "
        "fitted with its defaults on train + validation (numerical columns standardised, "
        "0/1 indicators left at 0/1), scored on test. "
        "`default search` is `PerGDROSearchCV(PerGDROClassifier(random_state=seed), "
        "random_state=seed)` (or the regressor) with every other parameter at its default; "
        f"groups with fewer than {MIN_GROUP_SIZE} rows are dropped before splitting. "
        "Differences are the search minus the baseline, paired by seed, signed so that "
        "positive means the search is better, with 95% t-intervals."
        + ("" if not network_params(args) else
           f" Study setting, not the defaults: every network of the package (the search's "
           f"estimator, ERM (ours), GroupDRO) with `{network_params(args)}`.")
        + ("" if not search_params(args) else
           f" Study setting, not the defaults: the search with `{search_params(args)}`."),
    ]
    summary = {}
    for name, bunch in bunches.items():
        per_seed = []
        for seed in seeds:
            per_seed.append(run(name, bunch, seed, args))
            logger.info("%s seed %d done after %.0f s (search %.1f s, MLP %.1f s, picked %s)",
                        name, seed, time.perf_counter() - start, per_seed[-1][1][SEARCH],
                        per_seed[-1][2]["mlp"], per_seed[-1][2]["picked"])
        task = per_seed[0][2]["task"]
        metric = "accuracy" if task == "classification" else "MSE"
        methods = list(per_seed[0][0])
        group_names = sorted(per_seed[0][0][methods[0]][2])
        header = ["method", f"average {metric}", f"worst-group {metric}", "fit time (s)"]
        rows = [[m, mean_std([r[0][m][0] for r in per_seed]),
                 mean_std([r[0][m][1] for r in per_seed]),
                 f"{np.mean([r[1][m] for r in per_seed]):.1f}"] for m in methods]
        group_rows = [[m, *[mean_std([r[0][m][2][g] for r in per_seed]) for g in group_names]]
                      for m in methods]
        summary[name] = (metric, {
            m: (np.mean([r[0][m][0] for r in per_seed]), np.std([r[0][m][0] for r in per_seed]),
                np.mean([r[0][m][1] for r in per_seed]), np.std([r[0][m][1] for r in per_seed]))
            for m in methods})
        compare, best = comparison(per_seed, task)
        ratios = np.array([r[1][SEARCH] / r[2]["mlp"] for r in per_seed])
        picked = Counter(r[2]["picked"] for r in per_seed)
        meta = per_seed[0][2]
        sections += [
            f"## {name}",
            f"{meta['n_rows']} train + validation rows, {meta['n_test']} test rows, "
            f"{meta['n_features']} features; dropped groups: {meta['dropped'] or 'none'}.",
            markdown_table(header, rows),
            "The default search against each baseline (paired by seed):",
            markdown_table(["baseline", f"worst-group {metric} difference",
                            f"average {metric} difference"], compare),
            per_seed_line(per_seed, seeds, task, best["worst-group"]),
            by_pick_line(per_seed, task, best["worst-group"]),
            collapse_line(per_seed, seeds),
            f"Time: the default search took {mean_std([r[1][SEARCH] for r in per_seed], 1)} s, "
            f"{ratios.mean():.2f} ± {ratios.std(ddof=1) if len(ratios) > 1 else 0:.2f} times "
            f"one MLP fit of 100 epochs ({mean_std([r[2]['mlp'] for r in per_seed], 1)} s) "
            f"in the same process (largest ratio {ratios.max():.2f}).",
            "Picked by the default search: " + ", ".join(
                f"{k} {v}/{len(per_seed)}" for k, v in picked.most_common())
            + "; radii of the Per-GDRO picks: " + "; ".join(
                f"seed {s}: rho={r[2]['pick'][0]}, eps={r[2]['pick'][1]}"
                for s, r in zip(seeds, per_seed) if r[2]["pick"] is not None) + ".",
            f"Per-group test {metric}:",
            markdown_table(["method", *group_names], group_rows),
        ]
        logger.info("\n".join(sections[-10:-2]))
    figure(summary, RESULTS / f"{output}.png")
    sections.append(f"![average vs worst group]({output}.png)")
    return write_result(output, "Real data: the default search against the alternatives",
                        sections, time.perf_counter() - start)


if __name__ == "__main__":
    main()
