"""How PerGDROSearchCV picks among its evaluated candidates (numpy only).

The minimum of many noisy validation scores is mostly noise (the winner's curse):
with under 100 validation rows in the smallest group, candidates a few points
apart cannot be told apart, and the more candidates a search evaluates the more
likely its best-looking one is merely lucky. The rules here:

- ``"hedged"`` (default): ``"paired_se"``'s pick and ERM (the network with zero
  radii), averaged with equal weights. Validation rows are drawn like the
  training rows, so no rule can see the shift a test set may hold; when the pick
  differs from ERM, the average moves only half-way from ERM towards it, which
  halves what a wrong pick costs and keeps part of what a right one gains (the
  worst case over the study's scenarios, ``benchmarks/results/selection_rules.md``).
- ``"paired_se"``: the *most robust* candidate whose validation
  objective and average loss are both within one *paired* standard error of the
  best candidate's (the best by each, baselines included). The differences are
  taken row by row on the same validation rows, and their standard errors come
  from a bootstrap of those rows within each group: two networks trained on the
  same rows make correlated errors, so the paired error is several times smaller
  than the unpaired one that ``"one_se"`` uses, and a cost on the average (which
  the worst-group objective does not see) also rules a candidate out. Robustness
  is bought only where validation cannot show that it costs anything.
- ``"best"``: the lowest mean validation objective (what searches usually do).
- ``"one_se"``: the *most robust* candidate among those whose objective is within
  one standard error of the best candidate's, or of ERM's (the one-standard-error
  rule of Breiman et al., with the radii as the regularisation strength).
  Validation cannot show that any of them costs more than the best candidate, or
  than no robustness at all, and the larger radii insure against the shift that
  validation rows, drawn like the training rows, do not show.
- ``"gp_mean"``: the evaluated candidate with the lowest Gaussian-process
  posterior mean (scikit-optimize's ``expected_minimum`` restricted to evaluated
  points): the surrogate smooths each score with its neighbours'.
- ``"ensemble"``: greedy ensemble selection with replacement (Caruana et al.,
  2004) on the candidates' validation predictions, see
  :mod:`_ensemble.selection`.

Candidates whose fit failed, whose objective is not finite, or whose predictions
collapsed to one class are never picked, nor those halving dropped. When every
candidate left is collapsed (or dropped), the rule picks among the fully trained
candidates with a finite objective, collapsed ones included (among every one with
a finite objective if halving dropped all those), and a ``UserWarning`` says so.
"""

import warnings

import numpy as np

from .._constants import (
    HEDGE_MARGIN,
    PAIRED_BOOTSTRAP_RESAMPLES,
    PAIRED_BOOTSTRAP_SEED,
    PROBA_CLIP,
)
from .._warnings import warn_user

SELECTIONS = ("hedged", "paired_se", "best", "one_se", "gp_mean", "ensemble")
# Rules that read every candidate's validation predictions.
PREDICTION_RULES = ("hedged", "paired_se", "ensemble")


def eligible_candidates(objective, collapsed=None):
    """Mask of candidates that may be picked: finite objective, not collapsed."""
    objective = np.asarray(objective, dtype=float)
    mask = np.isfinite(objective)
    if collapsed is not None:
        mask &= ~np.asarray(collapsed, dtype=bool)
    return mask


def robustness(rho, epsilon, rho_high, epsilon_high):
    """How far each candidate reaches into the search box, in ``[0, 2]``.

    The mean over groups of ``epsilon_g / high_g`` plus ``rho / rho_high``; a
    dimension whose upper bound is 0 counts as 0.

    Parameters
    ----------
    rho : array-like of shape (n_candidates,)
    epsilon : array-like of shape (n_candidates, n_groups)
    rho_high : float
    epsilon_high : array-like of shape (n_groups,)

    Returns
    -------
    reach : ndarray of shape (n_candidates,)

    Examples
    --------
    >>> robustness([0.0, 1.0], [[0.0, 0.0], [1.0, 0.5]], 2.0, [1.0, 1.0]).tolist()
    [0.0, 1.25]
    """
    rho = np.asarray(rho, dtype=float)
    epsilon = np.asarray(epsilon, dtype=float).reshape(rho.shape[0], -1)
    epsilon_high = np.asarray(epsilon_high, dtype=float).reshape(-1)
    scale = np.where(epsilon_high > 0, epsilon_high, np.inf)
    reach = (epsilon / scale).mean(axis=1)
    if rho_high > 0:
        reach = reach + rho / rho_high
    return reach


def select_best(objective, eligible):
    """Index of the lowest objective among ``eligible`` candidates."""
    objective = np.where(eligible, np.asarray(objective, dtype=float), np.inf)
    return int(np.argmin(objective))


def one_se_threshold(objective, std_error, eligible, reference=None):
    """The objective under which a candidate is within one standard error of the best.

    The best eligible candidate's objective plus its standard error; with an
    eligible ``reference`` (ERM), the larger of that and the reference's objective
    plus its standard error. A NaN standard error counts as 0.

    Examples
    --------
    >>> round(float(one_se_threshold([1.0, 1.05, 1.3], [0.1, 0.1, 0.1], [True] * 3)), 6)
    1.1
    >>> float(one_se_threshold([1.0, 1.05, 1.3], [0.1, 0.1, 0.3], [True] * 3, reference=2))
    1.6
    """
    objective = np.asarray(objective, dtype=float)
    std_error = np.nan_to_num(np.asarray(std_error, dtype=float))
    best = select_best(objective, eligible)
    threshold = objective[best] + std_error[best]
    if reference is not None and np.asarray(eligible, dtype=bool)[reference]:
        threshold = max(threshold, objective[reference] + std_error[reference])
    return threshold


def select_one_se(objective, std_error, reach, eligible, reference=None):
    """Index of the most robust candidate within one standard error of the best.

    With a ``reference`` candidate (ERM), the threshold is the larger of the best
    candidate's objective plus its standard error and the reference's objective
    plus its standard error.

    Parameters
    ----------
    objective : array-like of shape (n_candidates,)
        Mean validation objective (lower is better).
    std_error : array-like of shape (n_candidates,)
        Its standard error; a NaN standard error of the best candidate makes the
        rule fall back to the best candidate.
    reach : array-like of shape (n_candidates,)
        :func:`robustness` of each candidate.
    eligible : array-like of bool
    reference : int or None, default=None
        Index of the ERM candidate (``rho = 0``, ``epsilon = 0``), if evaluated.

    Returns
    -------
    index : int
        Ties in ``reach`` go to the lower objective.

    Examples
    --------
    >>> select_one_se([1.0, 1.05, 1.3], [0.1, 0.1, 0.1], [0.0, 0.5, 1.0], [True] * 3)
    1
    >>> select_one_se([1.0, 1.05, 1.3, 1.25], [0.1, 0.1, 0.1, 0.1], [0.5, 0.6, 1.0, 0.0],
    ...               [True] * 4, reference=3)
    2
    """
    objective = np.asarray(objective, dtype=float)
    threshold = one_se_threshold(objective, std_error, eligible, reference)
    within = np.flatnonzero(np.asarray(eligible, dtype=bool) & (objective <= threshold))
    reach = np.asarray(reach, dtype=float)[within]
    order = np.lexsort((objective[within], -reach))
    return int(within[order[0]])


def validation_row_losses(predictions, y, task, objective="worst_group_loss"):
    """Each candidate's loss on each validation row, from its stored predictions.

    Parameters
    ----------
    predictions : ndarray of shape (n_candidates, n_rows, n_columns)
        Probabilities (classifiers, columns in class order) or predicted values; NaN
        for a candidate without predictions.
    y : ndarray of shape (n_rows,) or (n_rows, n_outputs)
        Class positions (classifiers) or targets.
    task : {"classification", "regression"}
    objective : str
        ``"worst_group_error"`` and ``"worst_group_accuracy"`` count errors (0 or
        1); every other objective the cross-entropy (classifiers) or the squared
        error (regressors).

    Returns
    -------
    objective_rows, loss_rows : ndarray of shape (n_candidates, n_rows)
        What the worst-group objective averages, and the loss (for the average).
    """
    predictions = np.asarray(predictions, dtype=float)
    n_rows = predictions.shape[1]
    if task == "classification":
        position = np.asarray(y).astype(np.int64)
        chosen = predictions[:, np.arange(n_rows), position]
        loss = -np.log(np.clip(np.nan_to_num(chosen, nan=1.0), PROBA_CLIP, 1.0))
        loss[np.isnan(chosen)] = np.nan
        if objective in ("worst_group_error", "worst_group_accuracy"):
            with np.errstate(invalid="ignore"):
                error = (np.nanargmax(np.nan_to_num(predictions, nan=-1.0), axis=2)
                         != position).astype(float)
            error[np.isnan(chosen)] = np.nan
            return error, loss
        return loss, loss
    target = np.asarray(y, dtype=float).reshape(n_rows, -1)
    loss = ((predictions - target[None]) ** 2).mean(axis=2)
    return loss, loss


def paired_bootstrap(objective_rows, loss_rows, group_index, n_groups, n_resamples, seed):
    """The worst-group objective and the average loss of every candidate, resampled.

    The validation rows are drawn with replacement within each group (every group
    keeps its size), the same draws for every candidate, so that differences
    between candidates are paired.

    Returns
    -------
    worst, average : ndarray of shape (n_resamples, n_candidates)
    """
    rng = np.random.RandomState(seed)
    n_candidates, n_rows = objective_rows.shape
    weights = np.zeros((n_resamples, n_rows))
    present = []
    for g in range(n_groups):
        rows = np.flatnonzero(group_index == g)
        if rows.size == 0:
            continue
        present.append(rows)
        draws = rng.randint(rows.size, size=(n_resamples, rows.size))
        counts = np.zeros((n_resamples, rows.size))
        np.add.at(counts, (np.arange(n_resamples)[:, None], draws), 1.0)
        weights[:, rows] = counts
    objective_rows = np.nan_to_num(objective_rows, nan=np.inf)
    worst = np.full((n_resamples, n_candidates), -np.inf)
    for rows in present:
        with np.errstate(invalid="ignore"):
            means = weights[:, rows] @ objective_rows[:, rows].T / rows.size
        worst = np.maximum(worst, np.nan_to_num(means, nan=np.inf))
    average = weights @ np.nan_to_num(loss_rows, nan=np.inf).T / n_rows
    return worst, average


def paired_standard_errors(resampled, reference):
    """Standard error of each candidate's difference to candidate ``reference``."""
    difference = resampled - resampled[:, [reference]]
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(difference.std(axis=0, ddof=1), nan=np.inf)


def paired_evidence(validation, eligible, objective="worst_group_loss"):
    """What the paired rules read from the validation predictions.

    Parameters
    ----------
    validation : tuple
        ``(predictions, y, group_index, n_groups, task)``, as :func:`pick` takes it.
    eligible : array-like of bool
        From :func:`eligible_rows`.
    objective : str

    Returns
    -------
    average : ndarray of shape (n_candidates,)
        Mean validation loss of every candidate.
    resampled : (ndarray, ndarray)
        :func:`paired_bootstrap`'s worst-group objective and average loss draws.
    usable : ndarray of bool
        The eligible candidates with a finite loss on every row (all the eligible
        ones when none has).
    """
    predictions, y, group_index, n_groups, task = validation
    objective_rows, loss_rows = validation_row_losses(predictions, y, task, objective)
    resampled = paired_bootstrap(objective_rows, loss_rows, group_index, n_groups,
                                 PAIRED_BOOTSTRAP_RESAMPLES, PAIRED_BOOTSTRAP_SEED)
    eligible = np.asarray(eligible, dtype=bool)
    average = (np.nanmean(loss_rows, axis=1) if loss_rows.size
               else np.zeros(eligible.shape[0]))
    usable = eligible & np.all(np.isfinite(loss_rows), axis=1)
    return average, resampled, (usable if usable.any() else eligible)


def select_paired_se(worst, average, resampled_worst, resampled_average, reach, eligible):
    """Index of the most robust candidate within one paired standard error of the best.

    A candidate qualifies when its worst-group objective exceeds the lowest one by
    at most the paired standard error of that difference, and its average loss
    exceeds the lowest average loss by at most the paired standard error of that
    difference (each best taken among the ``eligible``). Among those the largest
    ``reach`` wins, ties to the lower objective; with none, the best objective.

    Parameters
    ----------
    worst, average : array-like of shape (n_candidates,)
        Point values on the validation rows.
    resampled_worst, resampled_average : ndarray of shape (n_resamples, n_candidates)
        From :func:`paired_bootstrap`.
    reach : array-like of shape (n_candidates,)
        :func:`robustness` (0 for ERM and the baselines).
    eligible : array-like of bool

    Examples
    --------
    >>> boot = np.array([[1.0, 1.1, 1.4], [1.2, 1.3, 1.2], [1.1, 1.2, 1.0]])
    >>> int(select_paired_se([1.1, 1.2, 1.2], [0.5, 0.5, 0.5], boot, boot * 0 + 0.5,
    ...                      [0.0, 1.0, 2.0], [True] * 3))
    2
    """
    worst = np.asarray(worst, dtype=float)
    average = np.asarray(average, dtype=float)
    eligible = np.asarray(eligible, dtype=bool) & np.isfinite(worst) & np.isfinite(average)
    if not eligible.any():
        raise ValueError("No candidate has a finite validation objective and average loss.")
    best = select_best(worst, eligible)
    best_average = select_best(average, eligible)
    se_worst = paired_standard_errors(resampled_worst, best)
    se_average = paired_standard_errors(resampled_average, best_average)
    within = (eligible & (worst - worst[best] <= se_worst)
              & (average - average[best_average] <= se_average))
    within[best] |= not within.any()
    within = np.flatnonzero(within)
    reach = np.nan_to_num(np.asarray(reach, dtype=float)[within])
    order = np.lexsort((worst[within], -reach))
    return int(within[order[0]])


def hedge_with_erm(index, erm, worst=None, resampled_worst=None, margin=None,
                   error=None, resampled_error=None):
    """Rows and weights of ``"hedged"``: the pick and ERM at equal weights.

    The pick alone when it is ERM, when ERM cannot be picked (``erm`` None: not
    evaluated, failed, collapsed or dropped by halving), or when validation shows
    that ERM would only dilute it: its worst-group objective beats ERM's by more
    than ``margin`` paired standard errors (from ``resampled_worst``, see
    :func:`paired_bootstrap`), or its validation error rate ``error`` beats ERM's by
    more than ``margin`` paired standard errors (from ``resampled_error``) while its
    worst-group objective is at most one paired standard error above ERM's.
    ``margin=None`` always averages; ``error=None`` skips the error clause.

    Examples
    --------
    >>> rows, weights = hedge_with_erm(3, 0)
    >>> rows.tolist(), weights.tolist()
    ([3, 0], [0.5, 0.5])
    >>> hedge_with_erm(0, 0)[0].tolist(), hedge_with_erm(2, None)[0].tolist()
    ([0], [2])
    >>> boot = np.array([[1.0, 0.5], [1.1, 0.5], [0.9, 0.5]])  # SE of the difference 0.1
    >>> hedge_with_erm(1, 0, [1.0, 0.5], boot, margin=2.0)[0].tolist()  # 0.5 > 2 x 0.1
    [1]
    >>> hedge_with_erm(1, 0, [1.0, 0.9], boot, margin=2.0)[0].tolist()  # 0.1 < 2 x 0.1
    [1, 0]
    >>> errors = np.array([[0.20, 0.15], [0.21, 0.15], [0.19, 0.15]])  # SE 0.01
    >>> hedge_with_erm(1, 0, [1.0, 0.9], boot, 2.0, [0.20, 0.15], errors)[0].tolist()
    [1]
    """
    if erm is None or int(index) == int(erm):
        return np.array([int(index)]), np.array([1.0])
    if margin is not None:
        se = paired_standard_errors(np.asarray(resampled_worst, dtype=float), int(erm))
        worst = np.asarray(worst, dtype=float)
        gain = worst[erm] - worst[index]
        if gain > margin * se[index]:
            return np.array([int(index)]), np.array([1.0])
        if error is not None:
            error = np.asarray(error, dtype=float)
            se_error = paired_standard_errors(np.asarray(resampled_error, dtype=float),
                                              int(erm))
            if error[erm] - error[index] > margin * se_error[index] and gain >= -se[index]:
                return np.array([int(index)]), np.array([1.0])
    return np.array([int(index), int(erm)]), np.array([0.5, 0.5])


def error_evidence(validation, average, resampled_average):
    """The validation error rate of every candidate and its paired bootstrap draws.

    Classifiers: the share of misclassified validation rows, resampled as
    :func:`paired_bootstrap` resamples the losses (same seed, same draws).
    Regressors: the average loss and its draws, passed through.
    """
    predictions, y, group_index, n_groups, task = validation
    if task != "classification":
        return average, resampled_average
    errors, _ = validation_row_losses(predictions, y, task, "worst_group_error")
    _, resampled = paired_bootstrap(errors, errors, group_index, n_groups,
                                    PAIRED_BOOTSTRAP_RESAMPLES, PAIRED_BOOTSTRAP_SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a candidate without predictions
        return np.nanmean(errors, axis=1), resampled


def select_gp_mean(posterior_mean, eligible):
    """Index of the lowest surrogate posterior mean among ``eligible`` candidates."""
    return select_best(posterior_mean, eligible)


def worst_group_standard_error(row_losses, group_index, n_groups):
    """Standard error of the worst group's mean loss, from one validation part.

    Parameters
    ----------
    row_losses : ndarray of shape (n_rows,)
    group_index : ndarray of shape (n_rows,)
    n_groups : int

    Returns
    -------
    std_error : float
        ``std(loss in the worst group) / sqrt(rows in it)``; NaN with fewer than two
        rows there.

    Examples
    --------
    >>> float(worst_group_standard_error(np.array([1.0, 3.0, 0.0, 0.0]),
    ...                                  np.array([0, 0, 1, 1]), 2))
    1.0
    """
    row_losses = np.asarray(row_losses, dtype=float)
    counts = np.bincount(group_index, minlength=n_groups)
    sums = np.bincount(group_index, weights=row_losses, minlength=n_groups)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
    worst = int(np.argmax(means))
    rows = row_losses[group_index == worst]
    if rows.shape[0] < 2:
        return float("nan")
    return float(rows.std(ddof=1) / np.sqrt(rows.shape[0]))


def combine_standard_errors(split_errors, split_objectives):
    """Standard error of the mean objective over splits.

    From the per-split standard errors when they are known
    (``sqrt(sum se_k^2) / K``); otherwise from the spread of the split objectives
    (``std / sqrt(K)``, NaN for a single split).
    """
    split_errors = np.asarray(split_errors, dtype=float)
    split_objectives = np.asarray(split_objectives, dtype=float)
    k = split_objectives.shape[-1]
    if np.all(np.isfinite(split_errors)):
        return float(np.sqrt(np.sum(split_errors ** 2)) / k)
    if k > 1 and np.all(np.isfinite(split_objectives)):
        return float(split_objectives.std(ddof=1) / np.sqrt(k))
    return float("nan")


def collapsed_prediction(y_pred, is_classifier, y_true=None):
    """Whether predictions collapsed to a constant: one class for every row.

    For regressors: a prediction spread below 1e-3 of the targets' spread.
    """
    y_pred = np.asarray(y_pred)
    if y_pred.shape[0] < 2:
        return False
    if is_classifier:
        return bool(np.all(y_pred == y_pred[0]))
    spread = np.asarray(y_true, dtype=float).std(axis=0) if y_true is not None else 1.0
    return bool(np.all(np.asarray(y_pred, dtype=float).std(axis=0) <= 1e-3 * np.maximum(
        spread, 1e-12)))


def selection_columns(records, n_splits):
    """``cv_results_`` columns the pick uses, from the evaluation records.

    ``std_error_test_objective``: standard error of the mean objective (see
    :func:`combine_standard_errors`); ``collapsed``: the candidate predicted one
    class (or a constant) for every validation row of some split; ``failed``: its
    fit or scoring failed on some split.
    """
    std_error, collapsed = [], []
    failed = np.array([record.failed for record in records], dtype=bool)
    for record in records:
        errors = record.std_error or [float("nan")] * n_splits
        errors = [float("nan") if e is None else float(e) for e in errors]
        std_error.append(combine_standard_errors(errors, record.test_objective))
        collapsed.append(any(bool(c) for c in record.collapsed or [False]))
    return {"std_error_test_objective": np.array(std_error, dtype=float),
            "collapsed": np.array(collapsed, dtype=bool), "failed": failed}


def epsilon_matrix(results):
    """The radii of every row of ``cv_results_``, NaN for the baselines' rows."""
    params = results["params"]
    width = next((np.size(p["epsilon"]) for p in params if "epsilon" in p), 0)
    return np.array([np.asarray(p["epsilon"], dtype=float) if "epsilon" in p
                     else np.full(width, np.nan) for p in params], dtype=float).reshape(
        len(params), width)


def candidate_reach(results, rho_high, epsilon_high):
    """:func:`robustness` of every row of ``cv_results_``; 0 for the baselines."""
    reach = robustness(np.asarray(results["param_rho"], dtype=float), epsilon_matrix(results),
                       rho_high, epsilon_high)
    return np.nan_to_num(reach, nan=0.0)


def erm_row(results, mask=None):
    """Row of ``cv_results_`` of ERM (``rho = 0``, every ``epsilon = 0``), or None.

    Only rows where ``mask`` is True count (for example the eligible ones).
    """
    epsilon = epsilon_matrix(results)
    rows = (np.asarray(results["param_rho"]) == 0) & np.all(epsilon == 0, axis=1)
    if mask is not None:
        rows &= np.asarray(mask, dtype=bool)
    found = np.flatnonzero(rows)
    return int(found[0]) if found.size else None


def eligible_rows(results, selection=None):
    """Mask of the rows of ``cv_results_`` that a rule may pick.

    Finite objective, neither failed, nor collapsed, nor dropped by successive
    halving; when there is no such candidate, the fallback of :func:`_fallback`,
    which warns when ``selection`` (the rule about to pick) is given.
    """
    means = np.asarray(results["mean_test_objective"], dtype=float)
    failed = np.asarray(results["failed"], dtype=bool)
    eligible = eligible_candidates(means, results["collapsed"]) & ~failed
    if "dropped" in results:  # stopped by successive halving: not fully trained
        eligible &= ~np.asarray(results["dropped"], dtype=bool)
    if not eligible.any():
        eligible = _fallback(means, failed, results, selection)
    return eligible


def _ensemble_objective(objective):
    """The validation objective greedy selection optimises for a search objective."""
    return objective if objective in ("worst_group_loss", "worst_group_error") else \
        "worst_group_loss"


def _fallback(means, failed, results, selection):
    """The candidates a rule picks from when none is eligible (every one collapsed, or
    every one that did not collapse was dropped by halving), with a warning that says so:
    the fully trained ones with a finite objective, collapsed or not; else every one with
    a finite objective. Warns when ``selection`` is given."""
    usable = np.isfinite(means) & ~failed
    collapsed = np.asarray(results["collapsed"], dtype=bool)
    dropped = np.asarray(results.get("dropped", np.zeros_like(collapsed)), dtype=bool)
    trained = usable & ~dropped
    fallback = trained if trained.any() else usable
    if selection is None:
        return fallback
    warn_user(
        f"Every candidate that could be picked has collapsed validation predictions (one "
        f"class, or a constant, for every row): {int((collapsed & usable).sum())} of "
        f"{int(usable.sum())} collapsed" + (f", and halving dropped the other "
        f"{int((usable & ~collapsed).sum())}" if (usable & ~collapsed).any() else "")
        + f". selection={selection!r} picks among the "
        + ("fully trained candidates, collapsed ones included" if trained.any()
           else "candidates with a finite objective, collapsed or dropped ones included")
        + "; the refit model is likely to predict one class. Narrow the radii's bounds "
        "(large radii let the adversary cross the class margin) or train longer.",
        UserWarning)
    return fallback


def pick(selection, results, *, rho_high, epsilon_high, objective="worst_group_loss",
         validation=None):
    """Rows of ``results`` (``cv_results_``) that a selection rule picks, with weights.

    Parameters
    ----------
    selection : {"hedged", "paired_se", "best", "one_se", "gp_mean", "ensemble"}
    results : dict
        ``cv_results_`` with ``mean_test_objective``, ``std_error_test_objective``,
        ``collapsed``, ``gp_mean_test_objective``, ``param_rho`` and ``params``.
    rho_high : float
        Upper bound of ``rho`` (scales :func:`robustness`).
    epsilon_high : array-like of shape (n_groups,)
        Upper bounds of the radii.
    objective : str, default="worst_group_loss"
        The search's objective (what ensemble selection optimises, when it is a
        per-group one; the worst-group loss otherwise).
    validation : tuple or None
        ``(predictions, y, group_index, n_groups, task)`` for ``"hedged"``,
        ``"paired_se"`` and ``"ensemble"``:
        predictions of shape ``(n_candidates, n_rows, n_columns)`` on the
        validation rows of every split, stacked.

    Returns
    -------
    indices : ndarray of int
        Picked rows; one for every rule but ``"ensemble"`` and ``"hedged"`` (the
        pick first, then ERM).
    weights : ndarray of float
        Their weights (summing to 1).
    """
    from .._ensemble.selection import greedy_ensemble_selection

    means = np.asarray(results["mean_test_objective"], dtype=float)
    eligible = eligible_rows(results, selection)
    if selection in PREDICTION_RULES and validation is None:
        raise ValueError(
            f"selection={selection!r} needs the candidates' validation predictions, which "
            "the search keeps only when it was fitted with selection='paired_se' or "
            "'ensemble'.")
    if selection in ("paired_se", "hedged"):
        average, resampled, usable = paired_evidence(validation, eligible, objective)
        index = select_paired_se(means, average, *resampled,
                                 candidate_reach(results, rho_high, epsilon_high), usable)
        if selection == "hedged":
            return hedge_with_erm(index, erm_row(results, usable), means, resampled[0],
                                  HEDGE_MARGIN, *error_evidence(validation, average,
                                                                resampled[1]))
    elif selection == "best":
        index = select_best(means, eligible)
    elif selection == "one_se":
        reach = candidate_reach(results, rho_high, epsilon_high)
        index = select_one_se(means, results["std_error_test_objective"], reach, eligible,
                              reference=erm_row(results, eligible))
    elif selection == "gp_mean":
        posterior = np.asarray(results["gp_mean_test_objective"], dtype=float)
        index = (select_gp_mean(posterior, eligible) if np.isfinite(posterior[eligible]).all()
                 else select_best(means, eligible))
    elif selection == "ensemble":
        predictions, y, group_index, n_groups, task = validation
        predictions = np.array(predictions, dtype=float)
        # an ensemble is of networks: the baselines are never selected
        network = ~np.isnan(np.asarray(results["param_rho"], dtype=float))
        members = eligible & network
        if not members.any():  # every network collapsed (or was dropped): say so
            failed = np.asarray(results["failed"], dtype=bool)
            members = _fallback(means, failed | ~network, results, selection) & network
        predictions[~members] = np.nan
        counts = greedy_ensemble_selection(predictions, y, group_index, n_groups,
                                           objective=_ensemble_objective(objective),
                                           task=task)
        indices = np.flatnonzero(counts)
        return indices, counts[indices] / counts.sum()
    else:
        raise ValueError(f"selection must be one of {list(SELECTIONS)}, got {selection!r}.")
    return np.array([index]), np.array([1.0])


__all__ = [
    "PREDICTION_RULES",
    "SELECTIONS",
    "candidate_reach",
    "epsilon_matrix",
    "paired_bootstrap",
    "paired_evidence",
    "paired_standard_errors",
    "select_paired_se",
    "validation_row_losses",
    "collapsed_prediction",
    "combine_standard_errors",
    "eligible_candidates",
    "eligible_rows",
    "erm_row",
    "error_evidence",
    "hedge_with_erm",
    "one_se_threshold",
    "pick",
    "robustness",
    "select_best",
    "selection_columns",
    "select_gp_mean",
    "select_one_se",
    "worst_group_standard_error",
]
