"""Per-group shift stress report on COMPAS: ERM, GroupDRO, the default search, HGB.

Run from the repository root::

    python -m benchmarks.shift_report              # the recorded run (results/)
    python -m benchmarks.shift_report --n-iter 8   # a smaller search budget

The search is the package's default one (16 evaluations in two batched rounds, its
baselines in the pool): what it returns is reported, a network or a baseline.

COMPAS with race groups (``fetch_compas``; data folder from ``--data-home``, else
``$PERGDRO_DATA_HOME``, else ``shared/data`` next to the repository, else the loaders'
cache), one seed: a train / validation / test split stratified by group
(``train_val_test_split_by_group``, groups of fewer than 30 rows dropped), features
standardised with the training split's statistics, every model fitted on train +
validation with its defaults: ERM (``PerGDROClassifier(rho=0, epsilon=0)``),
``GroupDROClassifier()``, ``PerGDROSearchCV(PerGDROClassifier())`` (its own
holdout) and ``HistGradientBoostingClassifier()``. Each is reported on the test
split by :func:`pergdro_sklearn.metrics.group_shift_report` (order ``"inf"``: every
row moves at most ``r`` in standardised units; the gradient attack for the networks,
the random search for the trees). Writes ``benchmarks/results/shift_report.md`` and
``shift_report.png``.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn.datasets import fetch_compas, train_val_test_split_by_group
from pergdro_sklearn.metrics import group_shift_report

from ._common import (
    RESULTS,
    benchmark_data_home,
    logger,
    markdown_table,
    setup_logging,
    write_result,
)

RADII = (0.0, 0.05, 0.1, 0.25, 0.5, 1.0)
POINTS = 5
MIN_GROUP_SIZE = 30


def models(seed, n_iter):
    search = dict(random_state=seed) if n_iter is None else dict(n_iter=n_iter,
                                                                 random_state=seed)
    return {
        "ERM": PerGDROClassifier(rho=0.0, epsilon=0.0, random_state=seed),
        "GroupDRO": GroupDROClassifier(random_state=seed),
        # verbose=1 prints the search's progress; it changes nothing else
        "Per-GDRO search": PerGDROSearchCV(PerGDROClassifier(random_state=seed), verbose=1,
                                           **search),
        "HistGradientBoosting": HistGradientBoostingClassifier(random_state=seed),
    }


def table(report):
    names = [f"{r:g}" for r in report.attrs["radii"]]
    header = ["group", "n", "accuracy [95% CI]"] + [f"acc @ {n}" for n in names] + [
        f"radius to lose {POINTS} pt", "loss @ 0.1", "certified bound @ 0.1"]
    rows = []
    for label, row in report.iterrows():
        rows.append([label, int(row["n"]),
                     f"{row['metric']:.3f} [{row['metric_low']:.3f}, {row['metric_high']:.3f}]",
                     *[f"{row[f'metric_at_{n}']:.3f}" for n in names],
                     f"{row[f'radius_to_lose_{POINTS}pt']:g}",
                     f"{row['loss_at_0.1']:.3f}", f"{row['certified_bound_at_0.1']:.3f}"])
    return markdown_table(header, rows)


def figure(reports, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pergdro_sklearn.plotting import GroupShiftDisplay

    fig, axes = plt.subplots(1, len(reports), figsize=(4.6 * len(reports), 4.0), sharey=True)
    for ax, (name, report) in zip(axes, reports.items()):
        ax.set_xscale("symlog", linthresh=0.05)  # before drawing: the display sets the ticks
        GroupShiftDisplay.from_report(report, name=name, ax=ax)
        ax.legend(fontsize=7, title="group", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-iter", type=int, default=None,
                        help="the search's budget (default: the search's own, 16)")
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    setup_logging()
    torch.set_num_threads(1)
    bunch = fetch_compas(data_home=benchmark_data_home(args.data_home))
    split = train_val_test_split_by_group(bunch.data, bunch.target, bunch.groups,
                                          min_group_size=MIN_GROUP_SIZE, random_state=args.seed)
    scaler = StandardScaler().fit(split["X_train"])
    X_fit = scaler.transform(np.vstack([split["X_train"], split["X_val"]]))
    y_fit = np.concatenate([split["y_train"], split["y_val"]])
    g_fit = np.concatenate([split["groups_train"], split["groups_val"]])
    X_test, y_test, g_test = (scaler.transform(split["X_test"]), split["y_test"],
                              split["groups_test"])
    start = time.perf_counter()
    reports, sections, timings = {}, [], []
    for name, model in models(args.seed, args.n_iter).items():
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if isinstance(model, HistGradientBoostingClassifier):
                model.fit(X_fit, y_fit)
            else:
                model.fit(X_fit, y_fit, groups=g_fit)
        fit_time = time.perf_counter() - t0
        t0 = time.perf_counter()
        reports[name] = group_shift_report(model, X_test, y_test, g_test, radii=RADII,
                                           points=POINTS, random_state=args.seed)
        report_time = time.perf_counter() - t0
        timings.append([name, reports[name].attrs["attack"], f"{fit_time:.0f}",
                        f"{report_time:.1f}"])
        picked = ""
        if isinstance(model, PerGDROSearchCV):
            params = {k: (v if isinstance(v, str) else np.round(v, 3).tolist()
                          if hasattr(v, "__len__") else round(v, 3))
                      for k, v in model.best_params_.items()}
            picked = (f" Picked: the baseline {params['model']!r}." if "model" in params
                      else f" Picked: {params}.")
        sections.append(f"## {name}\n\nAttack: {reports[name].attrs['attack']}.{picked}\n\n"
                        + table(reports[name]))
        logger.info("%s: fit %.0f s, report %.1f s", name, fit_time, report_time)
    dropped = split["dropped_groups"]
    budget = "n_iter=16, its default" if args.n_iter is None else f"n_iter={args.n_iter}"
    intro = (
        f"COMPAS, race groups, seed {args.seed} (one seed). Split by group "
        f"(train {len(split['y_train'])}, validation {len(split['y_val'])}, test "
        f"{len(y_test)} rows; groups under {MIN_GROUP_SIZE} rows dropped: "
        f"{', '.join(map(str, dropped)) or 'none'}); features standardised on the training "
        "split; every model fitted on train + validation with its defaults "
        f"(the search: {budget}). Test rows attacked group by group, order \"inf\" (each row "
        "moves at most r, L2, "
        "in standardised units): the networks by 10-step PGD on their training loss, the "
        "trees by the random search (100 queries per radius). Accuracy with its 95% "
        "bootstrap interval (1000 resamples); the attacked accuracies are what the attack "
        "found (upper bounds on the worst case); the certified bound is Proposition 1's on "
        "the group's attacked mean cross-entropy (clean loss + Lip(l) r).")
    sections = [intro, markdown_table(["model", "attack", "fit (s)", "report (s)"], timings),
                *sections, "![the shift report per model](shift_report.png)"]
    figure(reports, RESULTS / "shift_report.png")
    write_result("shift_report", "Per-group shift stress report (COMPAS)", sections,
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
