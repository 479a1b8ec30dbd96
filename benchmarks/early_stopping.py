"""Early stopping on the paper's Appendix E data: epochs used and worst-group accuracy.

Run from the repository root::

    python -m benchmarks.early_stopping            # 10 seeds
    python -m benchmarks.early_stopping --seeds 3  # quicker

For each seed, each method is fitted for ``max_iter=100`` epochs without early
stopping, and with ``early_stopping=True`` (10% of each group's training rows held
out, stratified by class; stop after 10 epochs without an improvement of the
monitored validation loss, the package's default ``early_stopping_loss="auto"``: the
average for ERM, the worst group's for GroupDRO and Per-GDRO; the best epoch's model
kept). Reported: epochs, worst-group test accuracy and its paired difference (early
stopping minus 100 epochs, 95% t-interval). Writes
``benchmarks/results/early_stopping.md``.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.metrics import worst_group_accuracy

from ._common import logger, markdown_table, mean_std, paired, setup_logging, write_result

NET = dict(hidden_layer_sizes=(64, 64, 64), max_iter=100, batch_size=128,
           learning_rate_init=1e-3)
METHODS = {
    "ERM": lambda seed, **kw: PerGDROClassifier(rho=0.0, epsilon=0.0, random_state=seed,
                                                **NET, **kw),
    "GroupDRO": lambda seed, **kw: GroupDROClassifier(random_state=seed, **NET, **kw),
    # the paper's BO pick (Appendix E.2, trial 244)
    "Per-GDRO (rho=0, eps=(0, 0, 0, 1.8))": lambda seed, **kw: PerGDROClassifier(
        rho=0.0, epsilon=[0.0, 0.0, 0.0, 1.8], random_state=seed, **NET, **kw),
}


def run(seeds):
    rows = []
    for name, make in METHODS.items():
        results = {False: [], True: []}
        for seed in range(seeds):
            data = make_shifted_groups(shuffle=False, random_state=seed)
            for early in (False, True):
                est = make(seed, early_stopping=early, n_iter_no_change=10)
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    est.fit(data.X_train, data.y_train, groups=data.groups_train)
                seconds = time.perf_counter() - start
                worst = worst_group_accuracy(data.y_test, est.predict(data.X_test),
                                             groups=data.groups_test)
                results[early].append((est.n_iter_, est.best_epoch_, worst, seconds))
            logger.info("%s seed %d: %s", name, seed,
                        {k: v[-1] for k, v in results.items()})
        full = np.array(results[False], dtype=float)
        for early in (False, True):
            r = np.array(results[early], dtype=float)
            if early:
                mean, low, high = paired(100 * r[:, 2], 100 * full[:, 2])
                diff = f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"
            else:
                diff = "-"
            rows.append([name, "yes" if early else "no", mean_std(r[:, 0], 1),
                         mean_std(r[:, 1], 1), mean_std(r[:, 2]), diff,
                         mean_std(r[:, 3], 2)])
    header = ["method", "early stopping", "epochs run", "epoch kept", "worst-group test acc.",
              "vs 100 epochs (points)", "fit seconds"]
    return markdown_table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    setup_logging()
    torch.set_num_threads(1)
    start = time.perf_counter()
    intro = (
        "Appendix E data (`make_shifted_groups(shuffle=False, random_state=seed)`), "
        f"{args.seeds} seeds, "
        "mean ± std over seeds. MLP 2-64-64-64-2, Adam 1e-3, batch 128, `max_iter=100`. "
        "With early stopping: `validation_fraction=0.1` (each group's training rows, "
        "stratified by class), `n_iter_no_change=10`, `tol=1e-4`, monitored quantity the "
        "package default (`early_stopping_loss='auto'`: the average validation loss for "
        "ERM, the worst group's for GroupDRO and Per-GDRO), best epoch's model kept (so it "
        "trains on 90% of the training rows). Worst-group accuracy on the test split, and "
        "its paired difference to the same method without early stopping (95% "
        "t-interval). One torch thread."
    )
    write_result("early_stopping", "Early stopping on Appendix E", [intro, run(args.seeds)],
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
