"""The network on real tabular data: which training defaults hold up.

Run from the repository root::

    python -m benchmarks.tabular_network                 # 10 seeds, three data sets
    python -m benchmarks.tabular_network --seeds 3       # a smoke run

On the splits of ``benchmarks.real_data`` (train + validation to fit, test to score),
ERM networks (our network with zero radii) with the package's defaults and with one
setting changed at a time: early stopping off, weight decay ``alpha`` 1e-3 and 1e-2,
two hidden layers of 256, two of 64, and the design's fixed batch of 128. A Per-GDRO
network at ``rho = 1`` (no within-group radius) with and without GroupDRO's
generalization adjustment (``C = 2``) shows what the adjustment does to the small
groups. Reported: worst-group and average test metric, mean ± std, and the paired
difference to the defaults' row with a 95% t-interval; fit time. Writes
``benchmarks/results/tabular_network.md``.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from scipy import stats
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import PerGDROClassifier, PerGDRORegressor
from pergdro_sklearn.datasets import train_val_test_split_by_group

from ._common import benchmark_data_home, logger, markdown_table, setup_logging, write_result
from .real_data import DATASETS, MIN_GROUP_SIZE, evaluate, load

VARIANTS = {
    # label: parameters changed from the defaults (rho = epsilon = 0 unless set)
    "defaults": {},
    "early_stopping=False": dict(early_stopping=False),
    "alpha=1e-3": dict(alpha=1e-3),
    "alpha=1e-2": dict(alpha=1e-2),
    "hidden (256, 256)": dict(hidden_layer_sizes=(256, 256)),
    "hidden (64, 64)": dict(hidden_layer_sizes=(64, 64)),
    "batch_size=128": dict(batch_size=128),
    "Per-GDRO rho=1": dict(rho=1.0),
    "Per-GDRO rho=1, C=2": dict(rho=1.0, generalization_adjustment=2.0),
}


def run(name, bunch, seed):
    task = DATASETS[name][2]
    split = train_val_test_split_by_group(bunch.data, bunch.target, bunch.groups,
                                          min_group_size=MIN_GROUP_SIZE, random_state=seed)
    X = np.vstack([split["X_train"], split["X_val"]])
    y = np.concatenate([split["y_train"], split["y_val"]])
    g = np.concatenate([split["groups_train"], split["groups_val"]])
    scaler = StandardScaler().fit(X)
    X, Xte = scaler.transform(X), scaler.transform(split["X_test"])
    kind = PerGDROClassifier if task == "classification" else PerGDRORegressor
    out = {}
    for label, params in VARIANTS.items():
        model = kind(**{"rho": 0.0, "epsilon": 0.0, "random_state": seed, **params})
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y, groups=g)
        seconds = time.perf_counter() - start
        average, worst, _ = evaluate(task, split["y_test"], model.predict(Xte),
                                     split["groups_test"])
        out[label] = (worst, average, seconds, model.n_iter_)
    return task, out


def paired(values, reference):
    diff = np.asarray(values) - np.asarray(reference)
    half = stats.t.ppf(0.975, diff.shape[0] - 1) * diff.std(ddof=1) / np.sqrt(diff.shape[0])
    return f"{diff.mean():+.4f} [{diff.mean() - half:+.4f}, {diff.mean() + half:+.4f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--output", default="tabular_network")
    args = parser.parse_args(argv)
    setup_logging()
    torch.set_num_threads(1)
    home = benchmark_data_home(args.data_home)
    start = time.perf_counter()
    sections = [
        f"{args.seeds} seeds; splits, fitting and scoring as in `benchmarks.real_data`; "
        "every row is one network fitted on train + validation. Differences are the "
        "variant minus the defaults' row, paired by seed, signed so that positive is "
        "better (for MSE: the defaults' minus the variant's), with 95% t-intervals.",
    ]
    for name in args.datasets.split(","):
        bunch = load(name, home)
        per_seed = []
        for seed in range(args.seeds):
            per_seed.append(run(name, bunch, seed))
            logger.info("%s seed %d done after %.0f s", name, seed, time.perf_counter() - start)
        task = per_seed[0][0]
        sign = 1 if task == "classification" else -1
        metric = "accuracy" if task == "classification" else "MSE"
        rows = []
        for label in VARIANTS:
            worst = [sign * r[1][label][0] for r in per_seed]
            avg = [sign * r[1][label][1] for r in per_seed]
            ref_w = [sign * r[1]["defaults"][0] for r in per_seed]
            ref_a = [sign * r[1]["defaults"][1] for r in per_seed]
            w = np.array([r[1][label][0] for r in per_seed])
            a = np.array([r[1][label][1] for r in per_seed])
            rows.append([
                label, f"{w.mean():.4f} ± {w.std(ddof=1):.4f}",
                f"{a.mean():.4f} ± {a.std(ddof=1):.4f}",
                "-" if label == "defaults" else paired(worst, ref_w),
                "-" if label == "defaults" else paired(avg, ref_a),
                f"{np.mean([r[1][label][2] for r in per_seed]):.1f}",
                f"{np.mean([r[1][label][3] for r in per_seed]):.0f}",
            ])
        sections += [f"## {name}", markdown_table(
            ["network", f"worst-group {metric}", f"average {metric}",
             "worst-group vs defaults", "average vs defaults", "fit time (s)", "epochs"],
            rows)]
        logger.info("\n".join(sections[-2:]))
    return write_result(args.output, "The network on real tabular data", sections,
                        time.perf_counter() - start)


if __name__ == "__main__":
    main()
