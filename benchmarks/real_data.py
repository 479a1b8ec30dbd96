"""Per-GDRO against baselines on real data: COMPAS, Adult, Communities and Crime.

Run from the repository root::

    python -m benchmarks.real_data              # 5 seeds, all three data sets
    python -m benchmarks.real_data --quick      # 2 seeds, smaller budget

The data come from ``pergdro_sklearn.datasets`` (``fetch_compas``, ``fetch_adult``,
``fetch_communities_crime``) with the data folder given by ``--data-home``, else
``$PERGDRO_DATA_HOME``, else a ``shared/data`` folder next to the repository if there is one,
else the loaders' default cache (``~/pergdro_sklearn_data``, downloaded on first use).

Each seed draws a train / validation / test split stratified by group (and class);
groups with fewer than 30 rows are dropped and reported. Features are
standardised with the training split's statistics. Methods: ERM (our network with
zero radii), GroupDRO, PerGDROSearchCV with each objective (the same evaluation
budget for each), and LogisticRegression / Ridge as the simple reference.
Writes ``benchmarks/results/real_data[_quick].md``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import PredefinedSplit
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn.datasets import (
    fetch_adult,
    fetch_communities_crime,
    fetch_compas,
    train_val_test_split_by_group,
)
from pergdro_sklearn.metrics import group_scores

from ._common import (
    RESULTS,
    benchmark_data_home,
    logger,
    markdown_table,
    mean_std,
    setup_logging,
    write_result,
)

DATASETS = {
    # name: (loader, kwargs, task, shared_epsilon in the search)
    "COMPAS (race)": (fetch_compas, dict(groups="race"), "classification", False),
    "Adult (sex x race)": (fetch_adult, dict(groups="sex_race"), "classification", True),
    "Communities and Crime (plurality race)": (
        fetch_communities_crime, dict(groups="plurality_race"), "regression", False),
}
OBJECTIVES = ("robust", "worst_group_loss", "worst_group_error")
MIN_GROUP_SIZE = 30


def evaluate(task, y_true, pred, groups):
    """(average, worst-group, per-group dict): accuracy or MSE."""
    if task == "classification":
        per = group_scores(y_true, pred, groups)
        return float(np.mean(pred == y_true)), min(per.values()), per
    per = group_scores(y_true, pred, groups, mean_squared_error)
    return float(mean_squared_error(y_true, pred)), max(per.values()), per


def load(name, data_home):
    """The Bunch of one of ``DATASETS``."""
    loader, kwargs, _, _ = DATASETS[name]
    return loader(data_home=data_home, **kwargs)


def run(name, bunch, seed, args):
    _, _, task, shared = DATASETS[name]
    split = train_val_test_split_by_group(
        bunch.data, bunch.target, bunch.groups, min_group_size=MIN_GROUP_SIZE,
        random_state=seed)
    scaler = StandardScaler().fit(split["X_train"])
    Xtr, Xva, Xte = (scaler.transform(split[f"X_{s}"]) for s in ("train", "val", "test"))
    ytr, yva, yte = split["y_train"], split["y_val"], split["y_test"]
    gtr, gva, gte = split["groups_train"], split["groups_val"], split["groups_test"]
    net = dict(hidden_layer_sizes=args.hidden, max_iter=args.epochs, batch_size=args.batch,
               random_state=seed)
    if task == "classification":
        pergdro, gdro = PerGDROClassifier, GroupDROClassifier
        linear = LogisticRegression(max_iter=2000)
    else:
        pergdro, gdro = PerGDRORegressor, GroupDRORegressor
        linear = Ridge(alpha=1.0)
    results, times = {}, {}

    def record(label, model, fit):
        start = time.perf_counter()
        fit()
        times[label] = time.perf_counter() - start
        results[label] = evaluate(task, yte, model.predict(Xte), gte)

    erm = pergdro(rho=0.0, epsilon=0.0, **net)
    record("ERM (ours)", erm, lambda: erm.fit(Xtr, ytr, groups=gtr))
    dro = gdro(**net)
    record("GroupDRO", dro, lambda: dro.fit(Xtr, ytr, groups=gtr))
    ref_name = "LogisticRegression" if task == "classification" else "Ridge"
    record(ref_name, linear, lambda: linear.fit(Xtr, ytr))

    X_tv, y_tv = np.vstack([Xtr, Xva]), np.concatenate([ytr, yva])
    g_tv = np.concatenate([gtr, gva])
    fold = PredefinedSplit(np.r_[np.full(len(ytr), -1), np.zeros(len(yva))])
    picks = {}
    for objective in OBJECTIVES:
        label = f"Per-GDRO search ({objective})"
        search = PerGDROSearchCV(
            pergdro(**net), rho_bounds=(0.0, 2.0), epsilon_bounds=(0.0, args.max_epsilon),
            shared_epsilon=shared, objective=objective, n_initial_points=args.initial,
            n_iter=args.budget, n_points=args.points, initial_point_generator="lhs", cv=fold,
            refit=False, random_state=seed)
        start = time.perf_counter()
        search.fit(X_tv, y_tv, groups=g_tv)
        model = pergdro(**net, **search.best_params_).fit(Xtr, ytr, groups=gtr)
        times[label] = time.perf_counter() - start
        results[label] = evaluate(task, yte, model.predict(Xte), gte)
        picks[objective] = search.best_params_
    meta = dict(dropped=split["dropped_groups"], n_train=len(ytr), n_val=len(yva),
                n_test=len(yte), n_features=Xtr.shape[1], task=task)
    return results, times, picks, meta


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
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--figure-only", action="store_true",
                        help="redraw the figure from an existing results file")
    parser.add_argument("--data-home", default=None,
                        help="data folder (default: $PERGDRO_DATA_HOME, ../shared/data next "
                        "to the repository, or the loaders' cache ~/pergdro_sklearn_data)")
    parser.add_argument("--epochs", type=int, default=None, help="override (smoke runs)")
    parser.add_argument("--budget", type=int, default=None,
                        help="candidates per search, override (smoke runs)")
    parser.add_argument("--output", default=None,
                        help="results file name without .md (default real_data[_quick])")
    args = parser.parse_args(argv)
    output = args.output or ("real_data_quick" if args.quick else "real_data")
    if args.figure_only:
        figure(summary_from_markdown(RESULTS / f"{output}.md"), RESULTS / f"{output}.png")
        return
    quick = args.quick
    args.seeds = args.seeds or (2 if quick else 5)
    args.epochs = args.epochs or (10 if quick else 30)
    args.hidden = (64, 64)
    args.batch = 256
    budget = args.budget
    args.initial, args.budget, args.points = (4, 8, 4) if quick else (8, 16, 4)
    if budget:
        args.budget = budget
        args.initial, args.points = min(args.initial, budget), min(args.points, budget)
    args.max_epsilon = 1.0
    setup_logging()
    torch.set_num_threads(1)
    data_home = benchmark_data_home(args.data_home)
    # Load (and, if needed, download) every data set before any training starts.
    bunches = {name: load(name, data_home) for name in args.datasets.split(",")}
    start = time.perf_counter()
    sections = [
        f"{args.seeds} seeds; MLP with hidden layers {args.hidden}, {args.epochs} epochs, "
        f"batch {args.batch}; each Per-GDRO search evaluates {args.budget} candidates "
        f"({args.initial} Latin-hypercube initial points, then GP + EI in rounds of "
        f"{args.points}), rho in [0, 2], epsilon in [0, {args.max_epsilon}] per group "
        "(one shared epsilon for Adult's 10 groups), one fixed validation split. Groups "
        f"with fewer than {MIN_GROUP_SIZE} rows are dropped before splitting.",
    ]
    summary = {}
    for name, bunch in bunches.items():
        per_seed = []
        for seed in range(args.seeds):
            per_seed.append(run(name, bunch, seed, args))
            logger.info("%s seed %d done after %.0f s", name, seed, time.perf_counter() - start)
        task = per_seed[0][3]["task"]
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
        meta = per_seed[0][3]
        sections += [
            f"## {name}",
            f"{meta['n_train']} train / {meta['n_val']} validation / {meta['n_test']} test "
            f"rows, {meta['n_features']} features; dropped groups: {meta['dropped'] or 'none'}.",
            markdown_table(header, rows),
            f"Per-group test {metric}:",
            markdown_table(["method", *group_names], group_rows),
            "Radii picked (seed 0): " + "; ".join(
                f"{k}: rho={v['rho']:.2f}, eps={np.round(np.asarray(v['epsilon']), 2).tolist()}"
                for k, v in per_seed[0][2].items()),
        ]
        logger.info("\n".join(sections[-5:]))
    figure(summary, RESULTS / f"{output}.png")
    sections.append(f"![average vs worst group]({output}.png)")
    return write_result(output, "Real data benchmarks", sections, time.perf_counter() - start)


if __name__ == "__main__":
    main()
