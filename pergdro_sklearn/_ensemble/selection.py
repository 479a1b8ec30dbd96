"""Greedy ensemble selection with replacement (Caruana et al., 2004), numpy only.

The candidates are given by their predictions on a validation set; the ensemble is
the average of the selected candidates' predictions, a candidate counted as often as
it was selected. Objectives are computed on that averaged prediction: the worst
group's mean loss, the worst group's error, or the mean loss over all rows.

Caruana, Niculescu-Mizil, Crew and Ksikes (2004), "Ensemble selection from libraries
of models", ICML.
"""

from numbers import Integral, Real

import numpy as np

from .._constants import DEFAULT_ENSEMBLE_MAX_MEMBERS
from .._scores import _log_loss_rows

SELECTION_OBJECTIVES = ("worst_group_loss", "worst_group_error", "loss")
TASKS = ("classification", "regression")


def _check_inputs(predictions, y, group_index, n_groups, task):
    """Validated ``(predictions (C, n, K), y, group_index, n_groups, task)``."""
    predictions = np.asarray(predictions, dtype=float)
    if predictions.ndim == 2:
        predictions = predictions[:, :, None]
    if predictions.ndim != 3:
        raise ValueError(
            "predictions must have shape (n_candidates, n_rows, n_columns), got "
            f"{predictions.shape}."
        )
    n_candidates, n_rows, n_columns = predictions.shape
    if n_candidates == 0 or n_rows == 0:
        raise ValueError(f"predictions is empty (shape {predictions.shape}).")
    y = np.asarray(y)
    if y.shape[0] != n_rows:
        raise ValueError(f"y has {y.shape[0]} rows but predictions have {n_rows}.")
    if task is None:
        task = "classification" if y.ndim == 1 and n_columns >= 2 else "regression"
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS} or None, got {task!r}.")
    if task == "classification":
        if y.ndim != 1 or y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= n_columns:
            raise ValueError(
                "For classification y must hold class indices in [0, n_classes), one per "
                "row, where n_classes is the last dimension of predictions."
            )
    else:
        y = np.asarray(y, dtype=float).reshape(n_rows, -1)
        if y.shape[1] != n_columns:
            raise ValueError(
                f"y has {y.shape[1]} output(s) but predictions have {n_columns} column(s)."
            )
    group_index = np.asarray(group_index)
    if not isinstance(n_groups, Integral) or n_groups < 1:
        raise ValueError(f"n_groups must be a positive integer, got {n_groups!r}.")
    if (group_index.shape != (n_rows,) or group_index.dtype.kind not in "iu"
            or group_index.min() < 0 or group_index.max() >= n_groups):
        raise ValueError(
            f"group_index must hold {n_rows} integers in [0, n_groups={n_groups})."
        )
    return predictions, y, group_index, int(n_groups), task


def _row_losses(predictions, y, task, kind):
    """Per-row loss (or error) of each candidate: shape (C, n)."""
    n_candidates, n_rows, n_columns = predictions.shape
    if task == "regression":
        return np.mean((predictions - y[None]) ** 2, axis=2)
    if kind == "error":
        return (np.argmax(predictions, axis=2) != y[None]).astype(float)
    # one flat call of the package's log loss on all candidates' rows at once
    rows = _log_loss_rows(predictions.reshape(-1, n_columns), np.tile(y, n_candidates))
    return rows.reshape(n_candidates, n_rows)


def _group_means(row_values, group_index, n_groups):
    """Mean of ``row_values`` (C, n) over each group's rows: (C, G), NaN where empty."""
    one_hot = np.zeros((group_index.shape[0], n_groups))
    one_hot[np.arange(group_index.shape[0]), group_index] = 1.0
    counts = one_hot.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, (row_values @ one_hot) / counts, np.nan)


def _objective_values(predictions, y, group_index, n_groups, task, objective):
    """Objective of each candidate's prediction (C,), ``inf`` where non-finite."""
    if objective == "loss":
        values = _row_losses(predictions, y, task, "loss").mean(axis=1)
    else:
        kind = "error" if objective == "worst_group_error" else "loss"
        per_group = _group_means(_row_losses(predictions, y, task, kind), group_index,
                                 n_groups)
        values = np.nanmax(per_group, axis=1)
    return np.where(np.isfinite(values), values, np.inf)


def candidate_group_losses(predictions, y, group_index, n_groups, kind="loss", task=None):
    """Mean loss (or error) per group of each candidate's predictions.

    Parameters
    ----------
    predictions : array-like of shape (n_candidates, n_rows, n_columns)
        Class probabilities (classification; columns in class order) or predicted
        targets (regression; one column per output).
    y : array-like of shape (n_rows,) or (n_rows, n_outputs)
        Class indices in ``[0, n_classes)`` (classification) or targets.
    group_index : array-like of int of shape (n_rows,)
        Group of each row, in ``[0, n_groups)``.
    n_groups : int
    kind : {"loss", "error"}, default="loss"
        ``"loss"``: log loss (the same per-row loss as
        :func:`pergdro_sklearn.metrics.worst_group_log_loss`) for classification, squared
        error averaged over outputs for regression. ``"error"``: the misclassification
        rate for classification, the squared error for regression.
    task : {"classification", "regression"} or None, default=None
        ``None`` infers classification when ``y`` is 1-D and ``predictions`` have two or
        more columns.

    Returns
    -------
    losses : ndarray of shape (n_candidates, n_groups)
        NaN for groups without rows.

    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn._ensemble.selection import candidate_group_losses
    >>> proba = np.array([[[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]]])
    >>> candidate_group_losses(proba, [0, 1, 1], [0, 0, 1], 2).round(4)
    array([[0.1643, 0.6931]])
    """
    if kind not in ("loss", "error"):
        raise ValueError(f"kind must be 'loss' or 'error', got {kind!r}.")
    predictions, y, group_index, n_groups, task = _check_inputs(
        predictions, y, group_index, n_groups, task)
    return _group_means(_row_losses(predictions, y, task, kind), group_index, n_groups)


def candidate_objectives(predictions, y, group_index, n_groups, objective="worst_group_loss",
                         task=None):
    """The selection objective of each candidate's predictions (lower is better).

    Parameters
    ----------
    predictions, y, group_index, n_groups, task
        As in :func:`candidate_group_losses`.
    objective : {"worst_group_loss", "worst_group_error", "loss"}, default="worst_group_loss"
        The largest per-group mean loss, the largest per-group error (1 - accuracy, or
        the mean squared error for regression), or the mean loss over all rows.

    Returns
    -------
    values : ndarray of shape (n_candidates,)
        ``inf`` for candidates whose predictions are not all finite.

    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn._ensemble.selection import candidate_objectives
    >>> proba = np.array([[[0.9, 0.1], [0.2, 0.8]], [[0.6, 0.4], [np.nan, np.nan]]])
    >>> candidate_objectives(proba, [0, 1], [0, 1], 2, "worst_group_error").tolist()
    [0.0, inf]
    """
    _check_objective(objective)
    predictions, y, group_index, n_groups, task = _check_inputs(
        predictions, y, group_index, n_groups, task)
    finite = np.all(np.isfinite(predictions), axis=(1, 2))
    values = np.full(predictions.shape[0], np.inf)
    if np.any(finite):
        values[finite] = _objective_values(predictions[finite], y, group_index, n_groups,
                                           task, objective)
    return values


def _check_objective(objective):
    if objective not in SELECTION_OBJECTIVES:
        raise ValueError(
            f"objective must be one of {list(SELECTION_OBJECTIVES)}, got {objective!r}."
        )


def greedy_ensemble_selection(predictions, y, group_index, n_groups,
                              objective="worst_group_loss",
                              max_members=DEFAULT_ENSEMBLE_MAX_MEMBERS, init_size=1,
                              tol=0.0, task=None):
    """Greedy ensemble selection with replacement (Caruana et al., 2004).

    The ensemble's prediction is the average of its members' predictions, a candidate
    counted as often as it was selected. Selection starts from the ``init_size`` best
    single candidates, then repeatedly adds the candidate (possibly one already in the
    ensemble) whose addition gives the lowest objective; it joins only if that lowers the
    ensemble's objective by more than ``tol``. Unlike an average of the top ``k``
    candidates, a candidate that would make the ensemble worse is never added. Every
    step scores all candidates at once.

    Parameters
    ----------
    predictions : array-like of shape (n_candidates, n_rows, n_columns)
        Validation predictions: class probabilities (classification; columns in class
        order) or predicted targets (regression; one column per output). Candidates
        with any non-finite value (failed fits) are never selected.
    y : array-like of shape (n_rows,) or (n_rows, n_outputs)
        Class indices in ``[0, n_classes)`` (classification) or targets.
    group_index : array-like of int of shape (n_rows,)
        Group of each row, in ``[0, n_groups)``.
    n_groups : int
    objective : {"worst_group_loss", "worst_group_error", "loss"}, default="worst_group_loss"
        Minimised on the averaged prediction: the largest per-group mean loss (log loss
        or squared error), the largest per-group error (1 - accuracy, or squared error
        for regression), or the mean loss over all rows.
    max_members : int, default=20
        Largest ensemble size, counting repeats.
    init_size : int, default=1
        Number of best single candidates the ensemble starts from (fewer when fewer
        candidates have finite predictions).
    tol : float, default=0.0
        A candidate joins only if the objective falls by more than ``tol``.
    task : {"classification", "regression"} or None, default=None
        ``None`` infers classification when ``y`` is 1-D and ``predictions`` have two or
        more columns.

    Returns
    -------
    counts : ndarray of int of shape (n_candidates,)
        How often each candidate was selected; ``counts.sum()`` is the ensemble size
        and ``counts / counts.sum()`` are the members' weights. Ties go to the lowest
        candidate index.

    Raises
    ------
    ValueError
        If no candidate has finite predictions.

    Examples
    --------
    Two candidates that err on different groups; together they are better on the worst
    group than either alone, and a third, poor candidate is left out:

    >>> import numpy as np
    >>> from pergdro_sklearn._ensemble.selection import greedy_ensemble_selection
    >>> y = np.array([0, 1, 0, 1])
    >>> group_index = np.array([0, 0, 1, 1])
    >>> good_on_0 = [[0.9, 0.1], [0.1, 0.9], [0.4, 0.6], [0.6, 0.4]]
    >>> good_on_1 = [[0.4, 0.6], [0.6, 0.4], [0.9, 0.1], [0.1, 0.9]]
    >>> poor = [[0.3, 0.7], [0.7, 0.3], [0.3, 0.7], [0.7, 0.3]]
    >>> greedy_ensemble_selection([good_on_0, good_on_1, poor], y, group_index, 2).tolist()
    [1, 1, 0]
    """
    _check_objective(objective)
    for name, value in (("max_members", max_members), ("init_size", init_size)):
        if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if init_size > max_members:
        raise ValueError(f"init_size={init_size} exceeds max_members={max_members}.")
    if not isinstance(tol, Real) or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}.")
    predictions, y, group_index, n_groups, task = _check_inputs(
        predictions, y, group_index, n_groups, task)
    finite = np.all(np.isfinite(predictions), axis=(1, 2))
    if not np.any(finite):
        raise ValueError(
            "No candidate has finite predictions (all failed); nothing to select."
        )
    # Failed candidates are dropped here and can never be selected below.
    usable = np.flatnonzero(finite)
    pool = predictions[usable]

    def score(preds):
        return _objective_values(preds, y, group_index, n_groups, task, objective)

    counts = np.zeros(pool.shape[0], dtype=np.int64)
    single = score(pool)
    start = np.argsort(single, kind="stable")[:init_size]
    counts[start] = 1
    total = pool[start].sum(axis=0)
    size = start.shape[0]
    current = score((total / size)[None])[0]
    while size < max_members:
        trial = score((total[None] + pool) / (size + 1))
        best = int(np.argmin(trial))  # first minimum: the lowest index wins ties
        if not trial[best] < current - tol:
            break
        counts[best] += 1
        total += pool[best]
        size += 1
        current = trial[best]
    result = np.zeros(predictions.shape[0], dtype=np.int64)
    result[usable] = counts
    return result


def ensemble_objective(predictions, y, group_index, n_groups, weights,
                       objective="worst_group_loss", task=None):
    """The objective of the weighted average of the candidates' predictions.

    Parameters
    ----------
    predictions, y, group_index, n_groups, objective, task
        As in :func:`greedy_ensemble_selection`.
    weights : array-like of shape (n_candidates,)
        Non-negative weights or selection counts (normalised here); candidates with
        weight 0 are ignored, even if their predictions are not finite.

    Returns
    -------
    value : float

    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn._ensemble.selection import ensemble_objective
    >>> proba = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> round(ensemble_objective(proba, [0], [0], 1, [1, 1]), 4)
    0.6931
    """
    _check_objective(objective)
    predictions, y, group_index, n_groups, task = _check_inputs(
        predictions, y, group_index, n_groups, task)
    weights = np.asarray(weights, dtype=float)
    if weights.shape != predictions.shape[:1] or np.any(weights < 0) or weights.sum() <= 0:
        raise ValueError(
            f"weights must be {predictions.shape[0]} non-negative numbers with a positive sum."
        )
    used = weights > 0
    average = np.tensordot(weights[used] / weights[used].sum(), predictions[used], axes=1)
    return float(_objective_values(average[None], y, group_index, n_groups, task,
                                   objective)[0])


__all__ = [
    "SELECTION_OBJECTIVES",
    "candidate_group_losses",
    "candidate_objectives",
    "ensemble_objective",
    "greedy_ensemble_selection",
]
