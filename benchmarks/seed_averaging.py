"""Seed averaging: does the average of three seeds beat one network, for ERM and GroupDRO?

The search refits each picked network with ``refit_seeds`` seeds and averages them
(the default three): the estimator's own seed and seeds derived from it, as
``PerGDROSearchCV`` derives them. This study asks whether that helps each kind of
network the search can return, independently of any pick: on every seed of every
scenario, ERM (``rho = 0``, ``epsilon = 0``) and GroupDRO (the search's baseline, with
the searched network's architecture and training) are fitted on train + validation
once per seed, and the first network alone is compared with the average of the three
on test, paired by split seed::

    python -m benchmarks.seed_averaging --seeds 30

Scenarios are those of :mod:`benchmarks.selection_rules` (the seven synthetic ones,
``compas``, ``adult`` and ``communities``), read by its ``load``.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import clone

from pergdro_sklearn import EnsembleSelectionClassifier, EnsembleSelectionRegressor
from pergdro_sklearn._constants import DEFAULT_REFIT_SEEDS
from pergdro_sklearn._search.baselines import resolve_baselines
from pergdro_sklearn._search.pick import _refit_seeds

from . import selection
from ._common import benchmark_data_home, markdown_table, paired, setup_logging, write_result
from .selection_rules import load

SCENARIOS = ("appendix_e", "appendix_e_w2", "shift_g2", "imbalance_g0", "no_shift",
             "shift_majority", "label_noise_g3", "compas", "communities")
METHODS = ("ERM", "GroupDRO")


def seeded_fits(estimator, X, y, groups, k):
    """``estimator`` fitted with the seeds a search refit gives it: its own
    ``random_state`` first, then ``k - 1`` derived from it."""
    own = estimator.random_state
    seeds = [own] + _refit_seeds(own, k)[1:]  # derived seeds (None where own is None)
    return [clone(estimator).set_params(random_state=s).fit(X, y, groups=groups)
            for s in seeds]


def average(fits, task, groups):
    """The equal-weight average of ``fits``, as the search's refit builds it."""
    kind = EnsembleSelectionClassifier if task == "classification" else \
        EnsembleSelectionRegressor
    return kind.from_fitted(fits, np.full(len(fits), 1.0 / len(fits)), groups=groups)


def run_seed(name, seed, data_home, k=DEFAULT_REFIT_SEEDS):
    """Per method: (worst-group, average) of one network and of the average of ``k``."""
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # the networks' convergence notes
    (X, y, g), _, (Xte, yte, gte), task, template = load(name, seed, data_home)
    networks = {"ERM": clone(template).set_params(rho=0.0, epsilon=0.0),
                "GroupDRO": resolve_baselines(["group_dro"], template)[0].estimator}
    out = {}
    for method, estimator in networks.items():
        fits = seeded_fits(estimator, X, y, g, k)
        out[method] = (selection.metrics(task, yte, fits[0].predict(Xte), gte),
                       selection.metrics(task, yte, average(fits, task, g).predict(Xte),
                                         gte))
    return task, out


def summarise(per_seed, k=DEFAULT_REFIT_SEEDS):
    """Rows per method: one network, the average, and the paired gain in points
    (accuracy x 100, or MSE x 100 with the sign flipped: + favours the average)."""
    task = per_seed[0][0]
    sign = 100.0 if task == "classification" else -100.0
    metric = "accuracy" if task == "classification" else "MSE"
    rows = []
    for method in METHODS:
        one = np.array([r[method][0] for _, r in per_seed])  # (seed, worst / average)
        avg = np.array([r[method][1] for _, r in per_seed])
        cells = [method]
        for column in (0, 1):
            cells += [f"{one[:, column].mean():.4f}", f"{avg[:, column].mean():.4f}"]
        for column in (0, 1):
            mean, low, high = paired(sign * avg[:, column], sign * one[:, column])
            cells.append(f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]")
        rows.append(cells)
    header = ["network", f"worst-group {metric}, one", f"worst-group {metric}, {k} seeds",
              f"average {metric}, one", f"average {metric}, {k} seeds",
              "worst-group gain (points)", "average gain (points)"]
    return markdown_table(header, rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--output", default="seed_averaging",
                        help="results file name without .md")
    args = parser.parse_args(argv)
    setup_logging()
    data_home = benchmark_data_home(args.data_home)
    start = time.perf_counter()
    sections = [
        f"{args.seeds} split seeds per scenario. ERM and GroupDRO (the search's "
        "defaults: the network of `PerGDROClassifier()` or `PerGDRORegressor()`; "
        "synthetic scenarios: the selection study's network) fitted on train + "
        f"validation with {DEFAULT_REFIT_SEEDS} seeds, the estimator's own and "
        "those the search's refit derives from it; `one` is the first network alone, "
        f"`{DEFAULT_REFIT_SEEDS} seeds` the equal-weight average of their predictions. "
        "Gains are the average minus one network, paired by split seed, with 95% "
        "t-intervals."]
    for name in args.scenarios.split(","):
        results = Parallel(n_jobs=args.jobs)(
            delayed(run_seed)(name, seed, data_home) for seed in range(args.seeds))
        sections += [f"## {name}", summarise(results)]
    write_result(args.output, "Seed averaging: one network against three seeds",
                 sections, time.perf_counter() - start)


if __name__ == "__main__":
    main()
