"""The network on real tabular data: which training defaults hold up.

Run from the repository root::

    python -m benchmarks.tabular_network                 # 10 seeds, three data sets
    python -m benchmarks.tabular_network --seeds 3       # a smoke run
    python -m benchmarks.tabular_network --output tabular_network_encodings \
        --variants "one-hot columns at 0/1;piecewise-linear, 8 bins;periodic, 8 frequencies"

On the splits of ``benchmarks.real_data`` (train + validation to fit, test to score),
ERM networks (our network with zero radii) with the package's defaults and with one
setting changed at a time: early stopping off, weight decay ``alpha`` 1e-3 and 1e-2,
two hidden layers of 256, two of 64, and the design's fixed batch of 128. A Per-GDRO
network at ``rho = 1`` (no within-group radius) with and without GroupDRO's
generalization adjustment (``C = 2``) shows what the adjustment does to the small
groups. Three input encodings, each fitted on train + validation and fed to a default
ERM network: binary (one-hot) columns left at 0/1 instead of standardised;
piecewise-linear encoding of the numerical columns (more than 10 distinct values) on
8 quantile bins; and periodic features of the standardised numerical columns, the
column beside sines and cosines of 8 fixed random frequencies (Gorishniy et al.,
2022, learn theirs; fixed ones are the random-Fourier-feature variant). Reported:
worst-group and average test metric, mean ± std, and the paired
difference to the defaults' row with a 95% t-interval; fit time. Writes
``benchmarks/results/<output>.md`` (default ``tabular_network``); ``--variants`` picks
rows by label, separated by semicolons.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import PerGDROClassifier, PerGDRORegressor
from pergdro_sklearn.datasets import train_val_test_split_by_group

from ._common import (
    benchmark_data_home,
    format_paired,
    logger,
    markdown_table,
    setup_logging,
    write_result,
)
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
# label: input encoding (a function of the raw fit rows, test rows and seed)
ENCODINGS = ("one-hot columns at 0/1", "piecewise-linear, 8 bins", "periodic, 8 frequencies")
N_BINS = 8
N_FREQUENCIES = 8


def _numeric(X):
    """Columns with more than 10 distinct values."""
    return np.array([np.unique(X[:, j]).size > 10 for j in range(X.shape[1])])


def encode(label, X, X_test, seed):
    """``X`` and ``X_test`` under one of ``ENCODINGS``, fitted on ``X``."""
    scaler = StandardScaler().fit(X)
    Z, Z_test = scaler.transform(X), scaler.transform(X_test)
    if label == "one-hot columns at 0/1":
        binary = np.array([np.unique(X[:, j]).size <= 2 for j in range(X.shape[1])])
        high = X[:, binary].max(axis=0)
        Z[:, binary] = X[:, binary] == high
        Z_test[:, binary] = X_test[:, binary] == high
        return Z, Z_test
    numeric = _numeric(X)
    if label == "piecewise-linear, 8 bins":
        def ple(A, scaled):
            out = [scaled[:, ~numeric]]
            for j in np.flatnonzero(numeric):
                edges = np.unique(np.quantile(X[:, j], np.linspace(0, 1, N_BINS + 1)))
                low, width = edges[:-1], np.diff(edges)
                out.append(np.clip((A[:, [j]] - low) / width, 0.0, 1.0))
            return np.hstack(out)
        return ple(X, Z), ple(X_test, Z_test)
    if label == "periodic, 8 frequencies":
        frequencies = np.random.default_rng(seed).normal(size=(1, N_FREQUENCIES))
        def periodic(A):
            out = [A[:, ~numeric]]
            for j in np.flatnonzero(numeric):
                angle = 2 * np.pi * A[:, [j]] * frequencies
                out += [A[:, [j]], np.sin(angle), np.cos(angle)]
            return np.hstack(out)
        return periodic(Z), periodic(Z_test)
    raise ValueError(label)


def run(name, bunch, seed, labels):
    task = DATASETS[name][2]
    split = train_val_test_split_by_group(bunch.data, bunch.target, bunch.groups,
                                          min_group_size=MIN_GROUP_SIZE, random_state=seed)
    X = np.vstack([split["X_train"], split["X_val"]])
    y = np.concatenate([split["y_train"], split["y_val"]])
    g = np.concatenate([split["groups_train"], split["groups_val"]])
    raw, raw_test = X, split["X_test"]
    scaler = StandardScaler().fit(X)
    X, Xte = scaler.transform(X), scaler.transform(split["X_test"])
    kind = PerGDROClassifier if task == "classification" else PerGDRORegressor
    out = {}
    for label in labels:
        params = VARIANTS.get(label, {})
        model = kind(**{"rho": 0.0, "epsilon": 0.0, "random_state": seed, **params})
        inputs, inputs_test = (X, Xte) if label in VARIANTS else encode(label, raw, raw_test,
                                                                        seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(inputs, y, groups=g)
        seconds = time.perf_counter() - start
        average, worst, _ = evaluate(task, split["y_test"], model.predict(inputs_test),
                                     split["groups_test"])
        out[label] = (worst, average, seconds, model.n_iter_)
    return task, out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--output", default="tabular_network")
    parser.add_argument("--variants", default=None,
                        help="semicolon-separated rows to fit besides the defaults (default: "
                        "all of VARIANTS and ENCODINGS)")
    args = parser.parse_args(argv)
    setup_logging()
    torch.set_num_threads(1)
    home = benchmark_data_home(args.data_home)
    labels = ["defaults", *(args.variants.split(";") if args.variants else
                            [*list(VARIANTS)[1:], *ENCODINGS])]
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
            per_seed.append(run(name, bunch, seed, labels))
            logger.info("%s seed %d done after %.0f s", name, seed, time.perf_counter() - start)
        task = per_seed[0][0]
        sign = 1 if task == "classification" else -1
        metric = "accuracy" if task == "classification" else "MSE"
        rows = []
        for label in labels:
            worst = [sign * r[1][label][0] for r in per_seed]
            avg = [sign * r[1][label][1] for r in per_seed]
            ref_w = [sign * r[1]["defaults"][0] for r in per_seed]
            ref_a = [sign * r[1]["defaults"][1] for r in per_seed]
            w = np.array([r[1][label][0] for r in per_seed])
            a = np.array([r[1][label][1] for r in per_seed])
            rows.append([
                label, f"{w.mean():.4f} ± {w.std(ddof=1):.4f}",
                f"{a.mean():.4f} ± {a.std(ddof=1):.4f}",
                "-" if label == "defaults" else format_paired(worst, ref_w),
                "-" if label == "defaults" else format_paired(avg, ref_a),
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
