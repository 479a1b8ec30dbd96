"""Per-group and worst-group metrics, and scorers that receive groups by routing.

Every metric takes ``groups`` as a keyword so that scikit-learn's metadata
routing can deliver it: ``get_scorer("worst_group_accuracy")`` requests it.
"""

import numpy as np
from sklearn import get_config
from sklearn.metrics import accuracy_score, make_scorer, mean_squared_error

from ._base import _group_labels


def _check_groups(y_true, groups):
    if groups is None:
        raise ValueError(
            "groups is required for a per-group metric; with metadata routing enabled, "
            "pass groups=... to fit/score and the scorer requests it."
        )
    n_groups = np.shape(groups)[0] if np.ndim(groups) else 0
    if n_groups != np.shape(y_true)[0]:
        raise ValueError(f"groups has {n_groups} entries but y has {np.shape(y_true)[0]} rows.")
    # 2-D groups (one column per attribute) are intersected as in fit.
    return _group_labels(groups, n_groups)[0]


def group_scores(y_true, y_pred, groups, metric=accuracy_score):
    """``metric`` computed on each group separately.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
    groups : array-like of shape (n_samples,)
    metric : callable, default=accuracy_score
        ``metric(y_true, y_pred) -> float``.

    Returns
    -------
    scores : dict
        Group label -> score, in sorted label order.

    Examples
    --------
    >>> from pergdro_sklearn.metrics import group_scores
    >>> group_scores([0, 1, 1, 0], [0, 1, 0, 0], groups=["a", "a", "b", "b"])
    {'a': 1.0, 'b': 0.5}
    """
    groups = _check_groups(y_true, groups)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {
        label.item() if hasattr(label, "item") else label: float(
            metric(y_true[groups == label], y_pred[groups == label])
        )
        for label in np.unique(groups)
    }


def worst_group_accuracy(y_true, y_pred, *, groups):
    """The lowest per-group accuracy.

    Examples
    --------
    >>> from pergdro_sklearn.metrics import worst_group_accuracy
    >>> worst_group_accuracy([0, 1, 1, 0], [0, 1, 0, 0], groups=[0, 0, 1, 1])
    0.5
    """
    return min(group_scores(y_true, y_pred, groups, accuracy_score).values())


def worst_group_error(y_true, y_pred, *, groups):
    """One minus :func:`worst_group_accuracy` (the highest per-group error rate)."""
    return 1.0 - worst_group_accuracy(y_true, y_pred, groups=groups)


def worst_group_mse(y_true, y_pred, *, groups):
    """The highest per-group mean squared error."""
    return max(group_scores(y_true, y_pred, groups, mean_squared_error).values())


def _log_loss_rows(y_true, proba, labels):
    index = np.searchsorted(labels, y_true)
    return -np.log(np.clip(proba[np.arange(len(index)), index], 1e-15, 1.0))


def worst_group_log_loss(y_true, y_proba, *, groups, labels=None):
    """The highest per-group mean cross-entropy of predicted probabilities.

    ``labels`` are the columns of ``y_proba`` (default: the sorted labels of ``y_true``).

    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn.metrics import worst_group_log_loss
    >>> proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    >>> round(worst_group_log_loss([0, 1, 1], proba, groups=[0, 0, 1]), 4)
    0.6931
    """
    y_true = np.asarray(y_true)
    groups = _check_groups(y_true, groups)
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    rows = _log_loss_rows(y_true, np.asarray(y_proba, dtype=float), labels)
    return max(float(rows[groups == g].mean()) for g in np.unique(groups))


def _proba_worst_log_loss(y_true, y_proba, *, groups, labels=None):
    # scikit-learn hands binary scorers only the positive column
    y_proba = np.asarray(y_proba, dtype=float)
    if y_proba.ndim == 1:
        y_proba = np.column_stack([1.0 - y_proba, y_proba])
    return worst_group_log_loss(y_true, y_proba, groups=groups, labels=labels)


_SCORERS = {
    "worst_group_accuracy": (worst_group_accuracy, True, "predict"),
    "worst_group_error": (worst_group_error, False, "predict"),
    "worst_group_mse": (worst_group_mse, False, "predict"),
    "worst_group_log_loss": (_proba_worst_log_loss, False, "predict_proba"),
}


def get_scorer(name):
    """A scikit-learn scorer for a worst-group metric.

    With metadata routing enabled (``sklearn.set_config(enable_metadata_routing=True)``)
    the scorer requests ``groups``, so ``GridSearchCV``, ``cross_validate`` and
    ``PerGDROSearchCV`` hand it each fold's group labels. Losses and errors are
    negated (greater is better), as scikit-learn's scorers are.

    Parameters
    ----------
    name : {"worst_group_accuracy", "worst_group_error", "worst_group_mse",
            "worst_group_log_loss"}

    Returns
    -------
    scorer : callable ``scorer(estimator, X, y, groups=...)``

    Examples
    --------
    >>> import numpy as np
    >>> import sklearn
    >>> from sklearn.dummy import DummyClassifier
    >>> from pergdro_sklearn.metrics import get_scorer
    >>> X, y, g = np.zeros((4, 1)), np.array([0, 0, 1, 0]), np.array([0, 0, 1, 1])
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     scorer = get_scorer("worst_group_accuracy")
    ...     scorer(DummyClassifier().fit(X, y), X, y, groups=g)
    0.5
    """
    if name not in _SCORERS:
        raise ValueError(f"Unknown scorer {name!r}; valid: {sorted(_SCORERS)}.")
    func, greater, method = _SCORERS[name]
    scorer = make_scorer(func, greater_is_better=greater, response_method=method)
    if get_config().get("enable_metadata_routing", False):
        scorer = scorer.set_score_request(groups=True)
    return scorer


__all__ = [
    "get_scorer",
    "group_scores",
    "worst_group_accuracy",
    "worst_group_error",
    "worst_group_log_loss",
    "worst_group_mse",
]
