"""Which pick rule to ship: candidate rules for the search's default, worst case first.

Run from the repository root::

    python -m benchmarks.selection_rules            # 7 synthetic scenarios + COMPAS, Communities
    python -m benchmarks.selection_rules --scenarios shift_majority --seeds 3
    python -m benchmarks.selection_rules --cv 3   # three folds instead of one holdout
    python -m benchmarks.selection_rules --scenarios adult --output selection_rules_adult
    python -m benchmarks.selection_rules --refit-seeds 3  # the default rule refit as 3 networks

For every scenario and seed, one default search (``PerGDROSearchCV`` with every
parameter at its default but the split, baselines included) is run once; every
rule below then picks from the same evaluations, each pick is refit on the training
and validation rows and scored on the test rows. The synthetic scenarios and their
networks are those of :mod:`benchmarks.selection` (validation rows drawn like the
training rows, test rows clean); COMPAS and Communities use the protocol of
:mod:`benchmarks.real_data` (the search's own 20% holdout, default networks).

The rules are study objects, not package API. All take the search's validation
predictions and compare candidates by paired bootstrap standard errors (the
package's :func:`paired_bootstrap`, 200 resamples); "within" means a worst-group
objective within ``k`` paired SE of the lowest and an average loss within ``k``
paired SE of the lowest:

- ``paired_se``: the most robust candidate within (the package's default; the
  study checks it picks what ``pick_candidates("paired_se")`` picks);
- ``paired_se, GroupDRO robust``: the same with GroupDRO counted as the corner of
  the ``rho`` axis (reach 1) instead of not robust;
- ``least robust``: the least robust candidate within (the classic one-SE rule,
  with robustness as the complexity);
- ``median reach``: a bounded preference: the median reach of those within;
- ``lowest within``: the lowest worst-group objective among those within;
- ``half SE``: the most robust within half a paired SE;
- ``best``: the lowest worst-group objective (no noise model);
- ``average, unless k SE``: the lowest average validation loss (what a user
  selecting by loss gets), unless the lowest worst-group objective beats that
  candidate's by more than ``k`` paired SE: then ``paired_se``'s pick (k = 1, 2);
- ``ERM, unless k SE``: ERM (zero radii), unless a candidate beats ERM's
  worst-group objective by more than ``k`` paired SE without an average loss more
  than one paired SE above ERM's: then the lowest such objective (k = 1, 2);
- ``ensemble``: greedy ensemble selection on the worst-group validation loss (the
  package's ``selection="ensemble"``, networks only);
- ``ensemble with baselines``: the same with the baselines in the pool;
- ``paired_se + ERM``: the equal-weight average of ``paired_se``'s pick and ERM;
- ``paired_se + ERM, unless k SE``: the same, unless the pick's worst-group
  objective beats ERM's by more than ``k`` paired SE: then the pick alone (k = 1, 2);
- ``paired_se + reference, unless 2 SE``: the same with the reference in ERM's
  place: the lowest average validation loss among ERM and the baselines (the model
  a user comparing the usual ones by validation loss would take);
- ``paired_se + ERM, unless a baseline or 2 SE``: ``paired_se + ERM, unless 2 SE``,
  but a baseline pick (trees, linear model, GroupDRO) is kept alone;
- ``paired_se + ERM, unless 2 SE, worst or average``: the pick alone also when its
  average validation loss beats ERM's by more than 2 paired SE and its worst-group
  objective is no higher than ERM's;
- ``paired_se + ERM, unless 2 SE or more accurate``: the pick alone also when its
  validation error rate (classifiers; regressors: the average loss) beats ERM's by
  more than 2 paired SE and its worst-group objective is at most one paired SE above
  ERM's. The error rate, not the log loss, because the log loss also rewards
  calibration: a network that ends training overconfident loses average log loss to
  a linear model by many SE without losing accuracy.

Every other rule's pick is refit as one network per picked row. A further row is
the package's default itself: its rule with the pick refit as
``PerGDROSearchCV(refit_seeds=k)`` refits it (each network k times, averaged; k is
the package's ``refit_seeds`` default, or those given to ``--refit-seeds``; ERM's
row, the reference, stays one network).

Reported: per scenario, each rule's worst-group and average test metric and the
paired difference to ERM (95% t-interval); then the worst case of every rule over
the scenarios, the criterion the default is chosen by. Writes
``benchmarks/results/selection_rules.md``.
"""

import argparse
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import clone

from pergdro_sklearn import (
    EnsembleSelectionClassifier,
    EnsembleSelectionRegressor,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn._constants import (
    DEFAULT_EARLY_STOPPING_LOSS,
    DEFAULT_REFIT_SEEDS,
    EARLY_STOPPING_LOSSES,
    HEDGE_MARGIN,
)
from pergdro_sklearn._ensemble.selection import greedy_ensemble_selection
from pergdro_sklearn._search.baselines import resolve_baselines
from pergdro_sklearn._search.pick import _refit_seeds
from pergdro_sklearn._search.selection import (
    candidate_reach,
    eligible_rows,
    erm_row,
    error_evidence,
    hedge_with_erm,
    paired_evidence,
    paired_standard_errors,
    select_best,
)
from pergdro_sklearn.datasets import train_val_test_split_by_group

from . import real_data, selection
from ._common import (
    benchmark_data_home,
    feature_scaler,
    logger,
    markdown_table,
    paired,
    setup_logging,
    write_result,
)

REAL = {"compas": "COMPAS (race)", "communities": "Communities and Crime (plurality race)",
        "adult": "Adult (sex x race)",
        # data no default was chosen on: run only as a reference (--scenarios hmda,...)
        "hmda": "HMDA Boston (race x single)", "hmda_race": "HMDA Boston (race)",
        "slid": "SLID Ontario wages (sex x language)",
        "slid_language": "SLID Ontario wages (language)"}
# Adult (39,000 rows, 90 s a search) runs on its own: --scenarios adult.
SCENARIOS = (*selection.SYNTHETIC, "compas", "communities")
# Scenarios where robustness should not pay (the default must not lose there).
NO_PAY = ("no_shift", "shift_majority", "label_noise_g3")


class Evaluations:
    """What a rule sees of one finished search: validation objective, average loss,
    their paired bootstrap draws, eligibility, reach and the baselines' names."""

    def __init__(self, search, task):
        results = search.cv_results_
        validation = (search.validation_predictions_, search._validation_target,
                      search._validation_groups, search.groups_.shape[0], task)
        self.worst = np.asarray(results["mean_test_objective"], dtype=float)
        # the package's own inputs of the paired rules
        self.average, (self.bw, self.ba), usable = paired_evidence(
            validation, eligible_rows(results))
        self.eligible = usable & np.isfinite(self.worst)
        self.reach = candidate_reach(results, search.rho_bounds_[1],
                                     search.epsilon_bounds_[:, 1])
        self.models = [p.get("model") for p in results["params"]]
        self.erm = erm_row(results, self.eligible)
        self.validation = validation
        # the validation error rate and its paired draws (regressors: the average loss)
        self.error, self.be = error_evidence(validation, self.average, self.ba)

    def reach_with(self, group_dro_reach):
        reach = self.reach.copy()
        reach[[m == "group_dro" for m in self.models]] = group_dro_reach
        return reach

    def within(self, k=1.0):
        best = select_best(self.worst, self.eligible)
        best_average = select_best(self.average, self.eligible)
        se_worst = paired_standard_errors(self.bw, best)
        se_average = paired_standard_errors(self.ba, best_average)
        mask = (self.eligible & (self.worst - self.worst[best] <= k * se_worst)
                & (self.average - self.average[best_average] <= k * se_average))
        mask[best] |= not mask.any()
        return np.flatnonzero(mask)


def _by(e, rows, reach, most=True):
    order = np.lexsort((e.worst[rows], -reach[rows] if most else reach[rows]))
    return int(rows[order[0]])


def most_robust(e, k=1.0, group_dro_reach=0.0):
    return _by(e, e.within(k), e.reach_with(group_dro_reach))


def least_robust(e):
    return _by(e, e.within(), e.reach, most=False)


def median_reach(e):
    rows = e.within()
    order = np.lexsort((e.worst[rows], e.reach[rows]))
    return int(rows[order[(len(order) - 1) // 2]])


def lowest_within(e):
    rows = e.within()
    return int(rows[np.argmin(e.worst[rows])])


def average_unless(e, k):
    best = select_best(e.worst, e.eligible)
    best_average = select_best(e.average, e.eligible)
    se = paired_standard_errors(e.bw, best_average)[best]
    return most_robust(e) if e.worst[best_average] - e.worst[best] > k * se else best_average


def erm_unless(e, k):
    if e.erm is None:
        return most_robust(e)
    se_worst = paired_standard_errors(e.bw, e.erm)
    se_average = paired_standard_errors(e.ba, e.erm)
    better = (e.eligible & (e.worst[e.erm] - e.worst > k * se_worst)
              & (e.average - e.average[e.erm] <= se_average))
    if not better.any():
        return e.erm
    rows = np.flatnonzero(better)
    return int(rows[np.argmin(e.worst[rows])])


def ensemble_with_baselines(e):
    predictions, y, group_index, n_groups, task = e.validation
    predictions = np.array(predictions, dtype=float)
    predictions[~e.eligible] = np.nan
    counts = greedy_ensemble_selection(predictions, y, group_index, n_groups, task=task)
    rows = np.flatnonzero(counts)
    return rows, counts[rows] / counts.sum()


# Rules that return several rows and their weights (an average of refit models).
ENSEMBLE_RULES = {
    "ensemble": None,  # the package's rule, from pick_candidates
    "ensemble with baselines": ensemble_with_baselines,
    "paired_se + ERM": None,  # paired_se's pick and ERM, equal weights
    "paired_se + ERM, unless 1 SE": None,
    "paired_se + ERM, unless 2 SE": None,
    "paired_se + reference, unless 2 SE": None,
    "paired_se + ERM, unless a baseline or 2 SE": None,
    "paired_se + ERM, unless 2 SE, worst or average": None,
    "paired_se + ERM, unless 2 SE or more accurate": None,
}


def clearly_better_than_erm(e, row, k):
    """Whether ``row``'s worst-group objective beats ERM's by more than k paired SE."""
    if e.erm is None or row == e.erm:
        return True
    se = paired_standard_errors(e.bw, e.erm)[row]
    return bool(e.worst[e.erm] - e.worst[row] > k * se)


def clearly_better_on_average(e, row, k):
    """Whether ``row``'s average validation loss beats ERM's by more than ``k`` paired
    SE while its worst-group objective is no higher than ERM's."""
    if e.erm is None or row == e.erm:
        return True
    se = paired_standard_errors(e.ba, e.erm)[row]
    return bool(e.average[e.erm] - e.average[row] > k * se
                and e.worst[row] <= e.worst[e.erm])


def reference(e):
    """The lowest average validation loss among ERM and the baselines: what a user
    comparing the usual models by validation loss would take instead."""
    rows = [i for i in np.flatnonzero(e.eligible) if e.models[i] or i == e.erm]
    return int(rows[np.argmin(e.average[rows])]) if rows else None


def hedge(e, row, anchor):
    """``row`` and ``anchor`` at equal weights, unless ``row`` is ``anchor`` or beats
    its worst-group objective by more than two paired SE: then ``row`` alone (the
    package's hedge without its error clause, ``anchor`` in ERM's place; ``row`` alone
    when there is no ``anchor``)."""
    return hedge_with_erm(row, anchor, e.worst, e.bw, HEDGE_MARGIN)


RULES = {
    "paired_se": most_robust,
    "paired_se, GroupDRO robust": lambda e: most_robust(e, group_dro_reach=1.0),
    "least robust": least_robust,
    "median reach": median_reach,
    "lowest within": lowest_within,
    "half SE": lambda e: most_robust(e, k=0.5),
    "best": lambda e: select_best(e.worst, e.eligible),
    "average, unless 1 SE": lambda e: average_unless(e, 1.0),
    "average, unless 2 SE": lambda e: average_unless(e, 2.0),
    "ERM, unless 1 SE": lambda e: erm_unless(e, 1.0),
    "ERM, unless 2 SE": lambda e: erm_unless(e, 2.0),
}


def load(name, seed, data_home):
    """Fit rows, the search's ``cv`` (None: its own holdout), test rows, task, template."""
    if name in selection.SYNTHETIC:
        args = argparse.Namespace()
        selection.configure(name, args)
        fit, cv, test, task, (template, _) = selection.scenario(name, seed, args)
        return fit, cv, test, task, template
    bunch = real_data.load(REAL[name], data_home)
    task = real_data.DATASETS[REAL[name]][2]
    split = train_val_test_split_by_group(bunch.data, bunch.target, bunch.groups,
                                          min_group_size=real_data.MIN_GROUP_SIZE,
                                          random_state=seed)
    X = np.vstack([split["X_train"], split["X_val"]])
    scaler = feature_scaler(X)
    fit = (scaler.transform(X), np.concatenate([split["y_train"], split["y_val"]]),
           np.concatenate([split["groups_train"], split["groups_val"]]))
    test = (scaler.transform(split["X_test"]), split["y_test"], split["groups_test"])
    kind = PerGDROClassifier if task == "classification" else PerGDRORegressor
    return fit, None, test, task, kind(random_state=seed)


def seeded_rule(k):
    """The row of the package's default rule refit as ``refit_seeds=k`` refits it."""
    return f"paired_se + ERM, unless 2 SE or more accurate, refit_seeds={k}"


def run_seed(name, seed, data_home, folds=None, network=None,
             refit_seeds=(DEFAULT_REFIT_SEEDS,)):
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")  # the networks' convergence notes
    (X, y, g), cv, (Xte, yte, gte), task, template = load(name, seed, data_home)
    if network:  # a study setting of every network (ERM's refit included)
        template = template.set_params(**network)
    if folds:  # k group-stratified folds of the training and validation rows
        cv = folds
    search = PerGDROSearchCV(template, refit=False, random_state=seed,
                             **({} if cv is None else dict(cv=cv)))
    search.fit(X, y, groups=g)
    e = Evaluations(search, task)
    picks = {rule: f(e) for rule, f in RULES.items()}
    if picks["paired_se"] != int(search.pick_candidates("paired_se")[0][0]):
        raise RuntimeError("the study's paired_se differs from the package's")
    erm = clone(template).set_params(rho=0.0, epsilon=0.0).fit(X, y, groups=g)
    averages = {"ensemble": search.pick_candidates("ensemble"),
                "ensemble with baselines": ensemble_with_baselines(e),
                "paired_se + reference, unless 2 SE": hedge(e, picks["paired_se"],
                                                            reference(e))}
    if e.models[picks["paired_se"]]:
        averages["paired_se + ERM, unless a baseline or 2 SE"] = [picks["paired_se"]], [1.0]
    else:
        averages["paired_se + ERM, unless a baseline or 2 SE"] = hedge(
            e, picks["paired_se"], e.erm)
    params = search.cv_results_["params"]
    baselines = {b.name: b for b in resolve_baselines("auto", template)}
    fitted = {}
    needed = set(picks.values()) | {i for i, m in enumerate(e.models) if m}
    for rows_, _ in averages.values():
        needed |= {int(r) for r in rows_}
    for row in sorted(needed):
        if e.models[row]:
            fitted[row] = baselines[e.models[row]].fit(X, y, g)
        else:
            fitted[row] = clone(template).set_params(**params[row]).fit(X, y, groups=g)
    def score(model):
        return selection.metrics(task, yte, model.predict(Xte), gte)

    kind = EnsembleSelectionClassifier if task == "classification" else \
        EnsembleSelectionRegressor
    rows = {"ERM": score(erm)}
    rows.update({m: score(fitted[i]) for i, m in enumerate(e.models) if m})
    rows.update({rule: score(fitted[row]) for rule, row in picks.items()})
    for rule, (members, weights) in averages.items():
        rows[rule] = score(kind.from_fitted([fitted[int(r)] for r in members], weights,
                                            groups=g))
    hedged = score(kind.from_fitted([fitted[picks["paired_se"]], erm], [0.5, 0.5], groups=g))
    rows["paired_se + ERM"] = hedged
    for k in (1, 2):
        rows[f"paired_se + ERM, unless {k} SE"] = (
            rows["paired_se"] if clearly_better_than_erm(e, picks["paired_se"], k) else hedged)
    clear = (clearly_better_than_erm(e, picks["paired_se"], 2)
             or clearly_better_on_average(e, picks["paired_se"], 2))
    rows["paired_se + ERM, unless 2 SE, worst or average"] = (
        rows["paired_se"] if clear else hedged)
    # the package's own "hedged" (its error clause included)
    members, _ = hedge_with_erm(picks["paired_se"], e.erm, e.worst, e.bw, HEDGE_MARGIN,
                                e.error, e.be)
    if members.tolist() != search.pick_candidates("hedged")[0].tolist():
        raise RuntimeError("the study's hedged differs from the package's")
    rows["paired_se + ERM, unless 2 SE or more accurate"] = (
        rows["paired_se"] if members.size == 1 else hedged)
    # the same rule refit as the package's refit_seeds=k refits it
    indices, weights = search.pick_candidates("hedged")
    for k in refit_seeds:
        if k == 1:
            continue
        models, shares = [], []
        for row, random_state, share in seeded_members(indices, weights, e.models, seed, k):
            if random_state is None and row in fitted:
                models.append(fitted[row])
            elif e.models[row]:  # a network baseline (GroupDRO) with a derived seed
                models.append(baselines[e.models[row]].with_seed(random_state).fit(X, y, g))
            else:
                one = params[row] if random_state is None else {
                    **params[row], "random_state": random_state}
                models.append(clone(template).set_params(**one).fit(X, y, groups=g))
            shares.append(share)
        rows[seeded_rule(k)] = score(
            models[0] if len(models) == 1 else kind.from_fitted(models, np.array(shares),
                                                                groups=g))
    return task, rows, evidence(e, picks["paired_se"], members.size == 1)


def seeded_members(indices, weights, models, seed, k, network_baselines=("group_dro",)):
    """The models that ``PerGDROSearchCV(refit_seeds=k, random_state=seed)``
    refits for the picked ``indices``: ``(row, random_state, weight)``, with
    ``random_state`` None for the estimator's own seed. A network row (a searched
    candidate, or a baseline named in ``network_baselines``) is refit with that seed
    and ``k - 1`` seeds derived from it, sharing its weight; any other baseline row
    (``models[row]`` non-empty) is refit once; baselines first as in the package."""
    seeds = [None] + _refit_seeds(seed, k)[1:] if k > 1 else [None]
    baselines, networks = [], []
    for row, weight in zip(np.asarray(indices).tolist(), np.asarray(weights, float).tolist()):
        shares = [(row, s, weight / len(seeds)) for s in seeds]
        if models[row] in network_baselines:
            baselines += shares
        elif models[row]:
            baselines.append((row, None, weight))
        else:
            networks += shares
    return baselines + networks


def evidence(e, row, alone):
    """What validation says of ``row`` against ERM: its gain on the worst-group
    objective, the average loss and the error rate, each in paired SE (+ favours
    ``row``), and whether ``"hedged"`` keeps it alone."""
    name = e.models[row] or ("ERM" if row == e.erm else "per_gdro")
    if e.erm is None or row == e.erm:
        return name, None, None, None, alone
    gains = []
    for point, draws in ((e.worst, e.bw), (e.average, e.ba), (e.error, e.be)):
        se = paired_standard_errors(draws, e.erm)[row]
        gain = point[e.erm] - point[row]
        # an SE of 0: the same predictions as ERM on every row (a gain of 0)
        gains.append(gain / se if se > 0 else np.sign(gain) * np.inf if gain else 0.0)
    return (name, *gains, alone)


def evidence_table(per_seed_evidence):
    """Per seed: ``paired_se``'s pick, its validation gains on ERM, the hedge."""
    cells = []
    for seed, (name, worst, average, error, alone) in enumerate(per_seed_evidence):
        gains = (["-"] * 3 if worst is None else
                 [f"{v:+.1f}" for v in (worst, average, error)])
        cells.append([seed, name, *gains, "alone" if alone else "averaged with ERM"])
    return markdown_table(["seed", "paired_se's pick", "objective gain (SE)",
                           "average-loss gain (SE)", "error-rate gain (SE)", "hedged"],
                          cells)


def summarise(name, per_seed):
    """The scenario's table and, per rule, the paired worst-group difference to ERM."""
    task = per_seed[0][0]
    sign = 1 if task == "classification" else -1  # + is better; MSE in points too
    methods = list(per_seed[0][1])
    erm = np.array([rows["ERM"][0] for _, rows in per_seed])
    table, versus = [], {}
    for method in methods:
        worst = np.array([rows[method][0] for _, rows in per_seed])
        avg = np.array([rows[method][1] for _, rows in per_seed])
        cells = [method, f"{worst.mean():.3f} ± {worst.std(ddof=1):.3f}",
                 f"{avg.mean():.3f} ± {avg.std(ddof=1):.3f}"]
        if method == "ERM":
            cells.append("-")
        else:
            versus[method] = paired(100 * sign * (worst - erm))
            cells.append("{:+.2f} [{:+.2f}, {:+.2f}]".format(*versus[method]))
        table.append(cells)
    metric = "accuracy" if task == "classification" else "MSE"
    header = ["method", f"worst-group {metric}", f"average {metric}",
              "worst-group vs ERM (points)"]
    return markdown_table(header, table), versus


def worst_case(summaries, refit_seeds=()):
    """Per rule: its lowest mean difference to ERM over the scenarios, where, how many
    scenarios have a loss whose interval excludes 0, and the mean gain elsewhere; the
    rules, then the default refit with each ``refit_seeds`` k > 1."""
    rows = []
    seeded = [seeded_rule(k) for k in refit_seeds if k > 1]
    for rule in (*RULES, *ENSEMBLE_RULES, *seeded):
        means = {name: s[rule][0] for name, s in summaries.items()}
        lowest = min(means, key=means.get)
        losses = [name for name, s in summaries.items() if s[rule][2] < 0]
        shifted = [means[n] for n in means if n in selection.SYNTHETIC and n not in NO_PAY]
        rows.append([rule, f"{means[lowest]:+.2f} ({lowest})", str(len(losses)) +
                     (f" ({', '.join(losses)})" if losses else ""),
                     f"{np.mean(shifted):+.2f}" if shifted else "-"])
    rows.sort(key=lambda r: -float(r[1].split()[0]))
    return markdown_table(["rule", "lowest mean vs ERM (scenario)",
                           "scenarios with a significant loss", "mean gain, shifted scenarios"],
                          rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--data-home", default=None)
    parser.add_argument("--cv", type=int, default=None,
                        help="score on this many group-stratified folds of the training "
                        "and validation rows instead of the scenario's holdout")
    parser.add_argument("--output", default=None,
                        help="results file name without .md (default selection_rules, "
                        "or selection_rules_cv<k>)")
    parser.add_argument("--early-stopping-loss", choices=EARLY_STOPPING_LOSSES,
                        default=DEFAULT_EARLY_STOPPING_LOSS,
                        help="early_stopping_loss of every network in the study")
    parser.add_argument("--refit-seeds", type=lambda v: tuple(int(k) for k in v.split(",")),
                        default=(DEFAULT_REFIT_SEEDS,),
                        help="comma-separated k: report the package's default rule "
                        "refit as refit_seeds=k does it (an average of k networks per "
                        "network pick; default: the package's refit_seeds)")
    args = parser.parse_args(argv)
    network = real_data.network_params(args)
    setup_logging()
    data_home = benchmark_data_home(args.data_home)
    start = time.perf_counter()
    summaries, sections = {}, []
    for name in args.scenarios.split(","):
        results = Parallel(n_jobs=args.jobs)(
            delayed(run_seed)(name, seed, data_home, args.cv, network, args.refit_seeds)
            for seed in range(args.seeds))
        table, summaries[name] = summarise(name, [r[:2] for r in results])
        sections += [f"## {name}", "", table,
                     "Validation evidence of `paired_se`'s pick against ERM (gains in "
                     "paired standard errors, + favours the pick; the error rate is the "
                     "average loss for regressors):",
                     evidence_table([r[2] for r in results])]
        logger.info("%s done after %.0f s", name, time.perf_counter() - start)
    scoring = (f"scored on {args.cv} group-stratified folds of train + validation"
               if args.cv else "scored on the scenario's holdout (synthetic: its validation "
               "split; real data: the search's default 20%)")
    intro = (
        f"{args.seeds} seeds per scenario; one default search per seed ({scoring}; 16 "
        "evaluations, "
        "the four default baselines in the pool), every rule picking from the same "
        "evaluations; picks refit on train + validation and scored on test. Differences "
        "are in points (accuracy x 100, or MSE x 100 with the sign flipped so that + is "
        "better), paired by seed, 95% t-intervals. Rules: see the module docstring."
        + (f" Study setting, not the defaults: every network with `{network}`."
           if network else ""))
    sections = [intro, "## Worst case over the scenarios", "",
                worst_case(summaries, args.refit_seeds), *sections]
    output = args.output or ("selection_rules" + (f"_cv{args.cv}" if args.cv else ""))
    write_result(output, "Selection rules for the default search", sections,
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
