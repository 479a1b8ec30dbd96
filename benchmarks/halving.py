"""Does successive halving change the search's pick? Paired runs with and without it.

Run from the repository root::

    python -m benchmarks.halving                       # 4 synthetic scenarios, 10 seeds
    python -m benchmarks.halving --scenarios compas    # real data (pergdro_sklearn.datasets)

For every scenario and seed (the scenarios and splits of ``benchmarks/selection.py``)
the same search runs twice, with the same seed: once training every candidate for
``max_iter`` epochs and once with ``halving_factor`` (default 3, three rungs). Each
search's default pick (``selection="one_se"``, ``refit_seeds=5``: an average of five
networks of the picked radii) is refit on train + validation and scored on the test
rows. Reported per scenario: the worst-group test metric of both, the paired
difference (halving minus full, positive is better) with a 95% t-interval, the
search's wall time and the epochs trained (summed over candidates) of both.
Writes ``benchmarks/results/halving.md``.
"""

import argparse
import time

import numpy as np
import torch
from joblib import Parallel, delayed

from pergdro_sklearn import PerGDROSearchCV

from ._common import logger, markdown_table, paired, setup_logging, write_result
from .selection import SYNTHETIC, configure, metrics, scenario

BUDGETS = {
    # name: search arguments
    "default": dict(n_initial_points=8, n_iter=16, n_points=4),
    "large": dict(n_initial_points=16, n_iter=48, n_points=8),
}


def run_seed(name, seed, args, bunch=None):
    torch.set_num_threads(1)
    (X, y, g), cv, (Xte, yte, gte), task, (template, _) = scenario(name, seed, args, bunch)
    out = {}
    for label, factor in (("full", None), ("halving", args.factor)):
        start = time.perf_counter()
        # the study's protocol (results/halving.md): the one-standard-error pick of five
        # networks among the candidates only, as when it was run
        search = PerGDROSearchCV(template, random_state=seed, cv=cv, n_jobs=1,
                                 halving_factor=factor, halving_rungs=args.rungs,
                                 selection="one_se", refit_seeds=5, baselines=None,
                                 **BUDGETS[args.budget])
        search.fit(X, y, groups=g)
        seconds = time.perf_counter() - start
        results = search.cv_results_
        out[label] = dict(
            score=metrics(task, yte, search.predict(Xte), gte),
            seconds=seconds,
            epochs=int(np.sum(results["n_epochs"])),
            dropped=int(np.sum(results["dropped"])),
            pick=(round(float(search.best_params_["rho"]), 3),
                  np.round(search.best_params_["epsilon"], 3).tolist()),
        )
    return task, out


def summarise(per_seed):
    task = per_seed[0][0]
    sign = 1 if task == "classification" else -1  # differences: positive is better
    metric = "accuracy" if task == "classification" else "MSE"
    worst = {k: np.array([r[1][k]["score"][0] for r in per_seed]) for k in ("full", "halving")}
    rows = []
    for label in ("full", "halving"):
        seconds = np.array([r[1][label]["seconds"] for r in per_seed])
        epochs = np.array([r[1][label]["epochs"] for r in per_seed])
        dropped = np.array([r[1][label]["dropped"] for r in per_seed])
        cells = [label, f"{worst[label].mean():.3f} ± {worst[label].std(ddof=1):.3f}"]
        if label == "full":
            cells.append("-")
        else:
            mean, low, high = paired(sign * worst["halving"], sign * worst["full"])
            cells.append(f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]")
        cells += [f"{seconds.mean():.1f}", f"{epochs.mean():.0f}", f"{dropped.mean():.1f}"]
        rows.append(cells)
    same = np.mean([r[1]["full"]["pick"] == r[1]["halving"]["pick"] for r in per_seed])
    return rows, metric, same


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--scenarios", default=",".join(SYNTHETIC))
    parser.add_argument("--budget", default="default", choices=sorted(BUDGETS))
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--rungs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="seeds in parallel processes")
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--output", default="halving")
    parser.add_argument("--epochs", type=int, default=None, help="override (smoke runs)")
    args = parser.parse_args(argv)
    setup_logging()
    start = time.perf_counter()
    budget = BUDGETS[args.budget]
    sections = [
        f"{args.seeds} seeds per scenario; the scenarios and splits of "
        "`benchmarks/selection.py`. Each seed runs the same search twice (same seed, "
        f"package defaults, {budget['n_iter']} evaluations: {budget['n_initial_points']} "
        f"initial points, then GP + EI in rounds of {budget['n_points']}; one job): "
        f"without halving, and with `halving_factor={args.factor:g}`, "
        f"`halving_rungs={args.rungs}`. The default pick of each (one_se, an average of 5 "
        "networks) is refit on train + validation and scored on the test rows. 'vs full' is "
        "the paired difference halving minus full (positive is better) with a 95% "
        "t-interval; epochs are summed over the search's candidates.",
    ]
    epochs_override = args.epochs
    for name in args.scenarios.split(","):
        bunch = configure(name, args, epochs_override)
        per_seed = Parallel(n_jobs=args.jobs)(
            delayed(run_seed)(name, seed, args, bunch) for seed in range(args.seeds))
        rows, metric, same = summarise(per_seed)
        sections += [
            f"## {name}",
            markdown_table(["search", f"worst-group {metric}", "vs full",
                            "search seconds", "epochs trained", "candidates dropped"], rows),
            f"Same pick with and without halving in {same:.0%} of the seeds.",
        ]
        logger.info("%s done after %.0f s\n%s", name, time.perf_counter() - start,
                    sections[-2])
    return write_result(args.output, "Successive halving in PerGDROSearchCV", sections,
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
