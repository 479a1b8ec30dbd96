"""How PerGDROSearchCV picks among its evaluated candidates (numpy only).

The minimum of many noisy validation scores is mostly noise (the winner's curse):
with under 100 validation rows in the smallest group, candidates a few points
apart cannot be told apart, and the more candidates a search evaluates the more
likely its best-looking one is merely lucky. The rules here:

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

import numpy as np

from .._warnings import warn_user

SELECTIONS = ("best", "one_se", "gp_mean", "ensemble")


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


def erm_row(results, mask=None):
    """Row of ``cv_results_`` of ERM (``rho = 0``, every ``epsilon = 0``), or None.

    Only rows where ``mask`` is True count (for example the eligible ones).
    """
    epsilon = np.array([p["epsilon"] for p in results["params"]], dtype=float)
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
    selection : {"best", "one_se", "gp_mean", "ensemble"}
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
        ``(predictions, y, group_index, n_groups, task)`` for ``"ensemble"``:
        predictions of shape ``(n_candidates, n_rows, n_columns)`` on the
        validation rows of every split, stacked.

    Returns
    -------
    indices : ndarray of int
        Picked rows; one for every rule but ``"ensemble"``.
    weights : ndarray of float
        Their weights (summing to 1).
    """
    from .._ensemble.selection import greedy_ensemble_selection

    means = np.asarray(results["mean_test_objective"], dtype=float)
    eligible = eligible_rows(results, selection)
    if selection == "best":
        index = select_best(means, eligible)
    elif selection == "one_se":
        epsilon = np.array([p["epsilon"] for p in results["params"]], dtype=float)
        reach = robustness(results["param_rho"], epsilon, rho_high, epsilon_high)
        index = select_one_se(means, results["std_error_test_objective"], reach, eligible,
                              reference=erm_row(results, eligible))
    elif selection == "gp_mean":
        posterior = np.asarray(results["gp_mean_test_objective"], dtype=float)
        index = (select_gp_mean(posterior, eligible) if np.isfinite(posterior[eligible]).all()
                 else select_best(means, eligible))
    elif selection == "ensemble":
        if validation is None:
            raise ValueError(
                "selection='ensemble' needs the candidates' validation predictions, which "
                "the search keeps only when it was fitted with selection='ensemble'.")
        predictions, y, group_index, n_groups, task = validation
        predictions = np.array(predictions, dtype=float)
        predictions[~eligible] = np.nan  # never selected
        counts = greedy_ensemble_selection(predictions, y, group_index, n_groups,
                                           objective=_ensemble_objective(objective),
                                           task=task)
        indices = np.flatnonzero(counts)
        return indices, counts[indices] / counts.sum()
    else:
        raise ValueError(f"selection must be one of {list(SELECTIONS)}, got {selection!r}.")
    return np.array([index]), np.array([1.0])


__all__ = [
    "SELECTIONS",
    "collapsed_prediction",
    "combine_standard_errors",
    "eligible_candidates",
    "eligible_rows",
    "erm_row",
    "one_se_threshold",
    "pick",
    "robustness",
    "select_best",
    "selection_columns",
    "select_gp_mean",
    "select_one_se",
    "worst_group_standard_error",
]
