"""Overlapping groups on Adult: memberships against intersections, and hidden labels.

Run from the repository root::

    python -m benchmarks.memberships            # 10 seeds
    python -m benchmarks.memberships --seeds 2  # a quick look

Adult (``fetch_adult``) with race and sex as 7 *overlapping* groups (2 sexes + 5 races:
every row is in one sex group and one race group), given as a
:class:`~pergdro_sklearn.Memberships`. Each seed draws a train / validation / test split
stratified by the 10 sex x race intersections (``train_val_test_split_by_group``; the
validation part is not used: every setting is fixed) and standardises the features
with the training part's statistics. Every fit is a ``GroupDROClassifier`` with the
same settings (a (64, 64) network, 12 epochs, batches of 512, Adam at 2e-3), so only the
groups differ:

- ``intersections``: GroupDRO on the 10 sex x race intersections (labels);
- ``memberships``: GroupDRO on the 7 overlapping groups (memberships);
- ``hidden, estimated``: half of the training rows' groups hidden (at random), their
  memberships estimated by the default classifier (one LogisticRegression per group)
  from the labelled rows (``unknown_groups="estimate"``);
- ``hidden, dropped``: the same hidden rows dropped, the labelled half trained on.

The score is the worst accuracy over the 7 overlapping groups on the test part (each
group's rows), with the worst intersection's accuracy beside it. Paired differences
over the seeds come with 95% t-intervals. Writes ``benchmarks/results/memberships.md``.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import GroupDROClassifier, Memberships
from pergdro_sklearn.datasets import fetch_adult, train_val_test_split_by_group
from pergdro_sklearn.metrics import worst_group_accuracy

from ._common import (
    benchmark_data_home,
    format_paired,
    markdown_table,
    mean_std,
    setup_logging,
    write_result,
)

SETTINGS = dict(hidden_layer_sizes=(64, 64), max_iter=12, batch_size=512,
                learning_rate_init=2e-3, step_size=0.01)
METHODS = ("intersections", "memberships", "hidden, estimated", "hidden, dropped")


def overlapping(labels):
    """The 7 overlapping groups (``sex=...``, ``race=...``) of ``"sex|race"`` labels."""
    sex_race = np.array([label.split("|") for label in labels], dtype=object)
    import pandas as pd

    return Memberships.from_attributes(pd.DataFrame({"sex": sex_race[:, 0],
                                                     "race": sex_race[:, 1]}))


def run_seed(X, y, labels, seed):
    split = train_val_test_split_by_group(X, y, labels, random_state=seed)
    scaler = StandardScaler().fit(split["X_train"])
    X_tr, X_te = scaler.transform(split["X_train"]), scaler.transform(split["X_test"])
    y_tr, y_te = split["y_train"], split["y_test"]
    m_tr, m_te = overlapping(split["groups_train"]), overlapping(split["groups_test"])
    rng = np.random.RandomState(seed)
    hidden = rng.rand(X_tr.shape[0]) < 0.5
    m_hidden = m_tr.matrix.copy()
    m_hidden[hidden] = np.nan
    kept = np.flatnonzero(~hidden)

    def fit(groups, rows=None, **extra):
        rows = np.arange(X_tr.shape[0]) if rows is None else rows
        est = GroupDROClassifier(random_state=seed, **SETTINGS, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_tr[rows], y_tr[rows], groups=groups)
        pred = est.predict(X_te)
        return (worst_group_accuracy(y_te, pred, m_te),
                worst_group_accuracy(y_te, pred, split["groups_test"]))

    out = {}
    out["intersections"] = fit(split["groups_train"])
    out["memberships"] = fit(m_tr)
    out["hidden, estimated"] = fit(Memberships(m_hidden, m_tr.names),
                                   unknown_groups="estimate")
    out["hidden, dropped"] = fit(m_tr[kept], rows=kept)
    return out, X_tr.shape[0], X_te.shape[0], int(hidden.sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args(argv)
    setup_logging()
    start = time.perf_counter()
    adult = fetch_adult(data_home=benchmark_data_home(args.data_home))
    X, y, labels = adult.data, adult.target, np.asarray(adult.groups, dtype=str)
    scores = {m: [] for m in METHODS}
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        out, n_train, n_test, n_hidden = run_seed(X, y, labels, seed)
        for m in METHODS:
            scores[m].append(out[m])
        print(f"seed {seed}: " + ", ".join(f"{m} {out[m][0]:.4f}" for m in METHODS)
              + f" ({time.perf_counter() - t0:.0f} s)", flush=True)
    worst = {m: [s[0] for s in scores[m]] for m in METHODS}
    cells = {m: [s[1] for s in scores[m]] for m in METHODS}
    table = markdown_table(
        ["groups trained on", "worst overlapping-group accuracy", "worst intersection accuracy"],
        [[m, mean_std(worst[m], 4), mean_std(cells[m], 4)] for m in METHODS])
    diffs = markdown_table(
        ["paired difference (worst overlapping-group accuracy)", "mean [95% t-interval]"],
        [["memberships - intersections",
          format_paired(worst["memberships"], worst["intersections"])],
         ["hidden, estimated - memberships (fully labelled)",
          format_paired(worst["hidden, estimated"], worst["memberships"])],
         ["hidden, estimated - hidden, dropped",
          format_paired(worst["hidden, estimated"], worst["hidden, dropped"])]])
    setup = (f"Adult, {args.seeds} seeds; {n_train} training rows ({n_hidden} with their "
             f"groups hidden in the hidden settings), {n_test} test rows per seed. "
             f"GroupDROClassifier with {SETTINGS} in every setting. Scores: mean ± std "
             "over the seeds.")
    write_result("memberships", "Memberships on Adult: 7 overlapping groups (sex, race)",
                 [setup, "## Test accuracy", table, "## Paired differences", diffs],
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
