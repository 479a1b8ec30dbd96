"""Per-group and worst-group metrics, and scorers that receive groups by routing.

The implementation behind :mod:`pergdro_sklearn.metrics` (which re-exports the
public names only). Every metric takes ``groups`` positionally or as a keyword, so
that scikit-learn's metadata routing can deliver it:
``get_scorer("worst_group_accuracy")`` requests it. ``sensitive_features``
(fairlearn's name) is accepted as an alias of ``groups`` in direct calls; the scorers
request ``groups`` only.
"""

import functools
from dataclasses import dataclass

import numpy as np
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.metrics._scorer import _Scorer
from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import MetadataRequest

from ._constants import PROBA_CLIP
from ._groups import group_labels, groups_or_alias, positions_in
from ._memberships import group_rows, is_memberships


def _check_groups(y_true, groups):
    if groups is None:
        raise ValueError(
            "groups is required for a per-group metric (sensitive_features is accepted as "
            "its alias in direct calls). scikit-learn's cross_validate "
            "and searches hand it to a scorer only with metadata routing: call "
            "sklearn.set_config(enable_metadata_routing=True) and pass "
            "params={'groups': groups}; the scorers of pergdro_sklearn.metrics.get_scorer "
            "request it."
        )
    n_groups = len(groups) if is_memberships(groups) else (
        np.shape(groups)[0] if np.ndim(groups) else 0)
    if n_groups != np.shape(y_true)[0]:
        raise ValueError(f"groups has {n_groups} entries but y has {np.shape(y_true)[0]} rows.")
    # 2-D groups (one column per attribute) are intersected as in fit.
    return groups if is_memberships(groups) else group_labels(groups, n_groups)[0]


def group_parts(groups):
    """``[(label, rows, weights or None)]`` of checked groups, in sorted label order.

    Labels give each group's rows; :class:`~pergdro_sklearn.Memberships` give the rows
    of positive membership and, for soft memberships, the memberships as weights.
    """
    if is_memberships(groups):
        return group_rows(groups)
    return [(label, np.flatnonzero(groups == label), None) for label in np.unique(groups)]


def _key(label):
    return label.item() if hasattr(label, "item") else label


def _weighted(metric, y_true, y_pred, weights):
    """``metric`` on the rows given, weighted by ``weights`` (memberships) if any."""
    if weights is None:
        return float(metric(y_true, y_pred))
    try:
        return float(metric(y_true, y_pred, sample_weight=weights))
    except TypeError:
        raise ValueError(
            f"{getattr(metric, '__name__', metric)!r} takes no sample_weight, which soft "
            "memberships need (each row weighted by its membership).") from None


def group_scores(y_true, y_pred, groups=None, metric=accuracy_score, *,
                 sensitive_features=None):
    """``metric`` computed on each group separately.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
    groups : array-like of shape (n_samples,)
    metric : callable, default=accuracy_score
        ``metric(y_true, y_pred) -> float``.
    sensitive_features : array-like of shape (n_samples,), default=None
        Alias of ``groups`` (fairlearn's name); pass one of the two.

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
    groups = _check_groups(y_true, groups_or_alias(groups, sensitive_features))
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return {_key(label): _weighted(metric, y_true[rows], y_pred[rows], weights)
            for label, rows, weights in group_parts(groups)}


def worst_group_accuracy(y_true, y_pred, groups=None, *, sensitive_features=None):
    """The lowest per-group accuracy.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group label of each row, positionally or as ``groups=``; several columns
        are intersected (one group per combination), as in ``fit``.
    sensitive_features : array-like of shape (n_samples,), default=None
        Alias of ``groups`` (fairlearn's name); pass one of the two.

    Returns
    -------
    accuracy : float

    Examples
    --------
    >>> from pergdro_sklearn.metrics import worst_group_accuracy
    >>> worst_group_accuracy([0, 1, 1, 0], [0, 1, 0, 0], groups=[0, 0, 1, 1])
    0.5
    >>> worst_group_accuracy([0, 1, 1, 0], [0, 1, 0, 0], [0, 0, 1, 1])
    0.5
    """
    return min(group_scores(y_true, y_pred, groups, accuracy_score,
                            sensitive_features=sensitive_features).values())


def worst_group_error(y_true, y_pred, groups=None, *, sensitive_features=None):
    """One minus :func:`worst_group_accuracy` (the highest per-group error rate).

    Parameters are those of :func:`worst_group_accuracy`.
    """
    return 1.0 - worst_group_accuracy(y_true, y_pred, groups,
                                      sensitive_features=sensitive_features)


def worst_group_mse(y_true, y_pred, groups=None, *, sensitive_features=None):
    """The highest per-group mean squared error.

    Parameters are those of :func:`worst_group_accuracy` (``y`` may have several
    outputs, averaged as :func:`sklearn.metrics.mean_squared_error` does).
    """
    return max(group_scores(y_true, y_pred, groups, mean_squared_error,
                            sensitive_features=sensitive_features).values())


def _log_loss_rows(proba, index):
    """Each row's cross-entropy ``-log p[row, index[row]]``, probabilities clipped."""
    return -np.log(np.clip(proba[np.arange(index.shape[0]), index], PROBA_CLIP, 1.0))


def worst_group_log_loss(y_true, y_proba, groups=None, *, labels=None,
                         sensitive_features=None):
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
    groups = _check_groups(y_true, groups_or_alias(groups, sensitive_features))
    labels = np.unique(y_true) if labels is None else np.asarray(labels)
    rows = _log_loss_rows(np.asarray(y_proba, dtype=float), positions_in(labels, y_true, "y_true"))
    return max(float(np.average(rows[part], weights=weights))
               for _, part, weights in group_parts(groups))


def _final_step(estimator, X):
    """The last step of (nested) Pipelines, and ``X`` as that step receives it."""
    while isinstance(estimator, Pipeline):
        X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    return estimator, X


def group_loss_scores(estimator, X, y, groups=None, *, sensitive_features=None):
    """Mean clean training loss of each group present in ``groups``.

    The loss is the fitted estimator's own (cross-entropy for classifiers, its
    ``loss`` for regressors), without the within-group attack. A Pipeline ending in
    a Per-GDRO estimator is evaluated on its transformed ``X``.

    Parameters
    ----------
    estimator : fitted PerGDROClassifier, PerGDRORegressor or Pipeline ending in one
    X, y : array-like
    groups : array-like of shape (n_samples,)
    sensitive_features : array-like of shape (n_samples,), default=None
        Alias of ``groups`` (fairlearn's name); pass one of the two.

    Returns
    -------
    losses : dict
        Group label -> mean loss, in sorted label order.
    """
    groups = _check_groups(y, groups_or_alias(groups, sensitive_features))
    final, Xt = _final_step(estimator, X)
    if not hasattr(final, "group_losses"):
        return _any_model_group_losses(estimator, X, y, groups)
    clean = np.asarray(final.group_losses(Xt, y, groups, epsilon=0.0)["clean"], dtype=float)
    present = {label for label, _, _ in group_parts(groups)}
    return {(label.item() if hasattr(label, "item") else label): float(value)
            for label, value in zip(final.groups_, clean) if label in present}


def row_losses(estimator, X, y):
    """Each row's loss under a model that is not a Per-GDRO network.

    Cross-entropy of ``predict_proba`` (clipped like the log loss) for classifiers,
    the squared error of ``predict`` (averaged over outputs) for regressors.
    """
    if is_classifier(estimator):
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(f"{type(estimator).__name__} has no predict_proba: a per-group "
                             "loss needs probabilities.")
        proba = np.asarray(estimator.predict_proba(X), dtype=float)
        return _log_loss_rows(proba, positions_in(estimator.classes_, np.asarray(y), "y"))
    n = np.shape(y)[0]
    pred = np.asarray(estimator.predict(X), dtype=float).reshape(n, -1)
    return ((pred - np.asarray(y, dtype=float).reshape(n, -1)) ** 2).mean(axis=1)


def _any_model_group_losses(estimator, X, y, groups):
    """Per-group mean of :func:`row_losses`, in sorted label order."""
    rows = row_losses(estimator, X, y)
    return {(g.item() if hasattr(g, "item") else g): float(rows[groups == g].mean())
            for g in np.unique(groups)}


def _worst_loss(estimator, X, y, *, groups):
    return max(group_loss_scores(estimator, X, y, groups=groups).values())


def _robust_risk(estimator, X, y, *, groups):
    final, Xt = _final_step(estimator, X)
    if not hasattr(final, "robust_risk"):
        raise ValueError(f"{type(final).__name__} has no robust_risk: the robust objective "
                         "needs a Per-GDRO estimator.")
    return float(final.robust_risk(Xt, y, groups))


@dataclass(frozen=True)
class GroupMetric:
    """One name of the registry: what it computes and which way is better.

    ``classifier`` and ``regressor`` are ``metric(y_true, y_response, *, groups)``
    for each kind of estimator (None: not defined for it), fed by
    ``response_method``; with ``response_method=None`` the number comes from the
    fitted estimator itself, ``from_estimator(estimator, X, y, *, groups)``.
    """

    greater_is_better: bool
    response_method: object = "predict"
    classifier: object = None
    regressor: object = None
    from_estimator: object = None

    def compute(self, estimator, X, y, *, groups):
        """The metric of a fitted ``estimator`` on ``(X, y, groups)`` (not negated)."""
        if self.from_estimator is not None:
            return float(self.from_estimator(estimator, X, y, groups=groups))
        func = self.regressor if is_regressor(estimator) else self.classifier
        kind = "regressors" if is_regressor(estimator) else "classifiers"
        if func is None:
            raise ValueError(f"This metric is not defined for {kind}.")
        response = getattr(estimator, self.response_method)(X)
        if self.response_method == "predict_proba":
            return float(func(y, response, groups=groups, labels=estimator.classes_))
        return float(func(y, response, groups=groups))


# The one registry of names: the scorers of get_scorer and the objectives of
# PerGDROSearchCV (which minimises the metric, or its negative when greater is better).
GROUP_METRICS = {
    "worst_group_accuracy": GroupMetric(True, classifier=worst_group_accuracy),
    "worst_group_error": GroupMetric(False, classifier=worst_group_error,
                                     regressor=worst_group_mse),
    "worst_group_mse": GroupMetric(False, regressor=worst_group_mse),
    "worst_group_log_loss": GroupMetric(False, "predict_proba",
                                        classifier=worst_group_log_loss),
    "worst_group_loss": GroupMetric(False, None, from_estimator=_worst_loss),
    "robust": GroupMetric(False, None, from_estimator=_robust_risk),
}


def score_group_metric(name, estimator, X, y, *, groups=None, sensitive_features=None):
    """The registered metric ``name`` of a fitted ``estimator`` (not negated).

    Parameters
    ----------
    name : str
        A key of ``GROUP_METRICS``: ``"worst_group_accuracy"``,
        ``"worst_group_error"`` (misclassification rate for classifiers, mean squared
        error for regressors), ``"worst_group_mse"``, ``"worst_group_log_loss"``,
        ``"worst_group_loss"`` (the estimator's own clean loss, Per-GDRO estimators)
        or ``"robust"`` (Eq. (9) with the estimator's own radii, Per-GDRO estimators).
    estimator : fitted estimator or Pipeline
    X, y : array-like
    groups : array-like of shape (n_samples,)
    sensitive_features : array-like of shape (n_samples,), default=None
        Alias of ``groups`` (fairlearn's name); pass one of the two.

    Returns
    -------
    value : float
    """
    if name not in GROUP_METRICS:
        raise ValueError(f"Unknown scorer {name!r}; valid: {sorted(GROUP_METRICS)}.")
    groups = groups_or_alias(groups, sensitive_features)
    return GROUP_METRICS[name].compute(estimator, X, y, groups=groups)


class _GroupScorer(_Scorer):
    """A scikit-learn scorer for a name of ``GROUP_METRICS`` (routing-aware)."""

    def __init__(self, name):
        metric = GROUP_METRICS[name]
        super().__init__(score_func=functools.partial(score_group_metric, name),
                         sign=1 if metric.greater_is_better else -1, kwargs={},
                         response_method=metric.response_method or "predict")
        self._name = name
        # Request groups from the start, whatever the configuration is now:
        # ``set_score_request`` refuses to run while routing is off, and a scorer
        # made then would be refused groups once routing is switched on.
        self._metadata_request = MetadataRequest(owner=self)
        self._metadata_request.score.add_request(param="groups", alias=True)

    def __call__(self, estimator, X, y_true, groups=None, **kwargs):
        """``sign * metric`` of ``estimator`` on ``(X, y_true, groups)``.

        ``groups`` is taken directly, with routing on or off (a direct call routes
        nothing); scikit-learn's tools pass it here when routing is on. Other
        metadata go through scikit-learn's checks.
        """
        if kwargs:
            if groups is not None:
                kwargs["groups"] = groups
            return super().__call__(estimator, X, y_true, **kwargs)
        return self._score(None, estimator, X, y_true, groups=groups)

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        return self._sign * score_group_metric(self._name, estimator, X, y_true, **kwargs)

    def __repr__(self):
        return f"get_scorer({self._name!r})"


def get_scorer(name):
    """A scikit-learn scorer for a worst-group metric.

    The scorer requests ``groups`` (as ``set_score_request(groups=True)`` would),
    whether metadata routing was on or off when it was made, so with routing
    enabled (``sklearn.set_config(enable_metadata_routing=True)``) ``GridSearchCV``,
    ``cross_validate`` and ``PerGDROSearchCV`` hand it each fold's group labels.
    Losses and errors are negated (greater is better), as scikit-learn's scorers
    are. A name means the same here and as ``PerGDROSearchCV``'s ``objective``.

    scikit-learn's own tools look a string ``scoring`` up in scikit-learn's
    registry only, so ``cross_validate(..., scoring="worst_group_accuracy")`` is
    refused there; pass the scorer instead
    (``scoring=get_scorer("worst_group_accuracy")``, or a dict of them for
    several). :class:`~pergdro_sklearn.PerGDROSearchCV` takes the names directly.

    Parameters
    ----------
    name : {"worst_group_accuracy", "worst_group_error", "worst_group_mse", \
"worst_group_log_loss", "worst_group_loss", "robust"}
        See :func:`score_group_metric`.

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
    if name not in GROUP_METRICS:
        raise ValueError(f"Unknown scorer {name!r}; valid: {sorted(GROUP_METRICS)}.")
    return _GroupScorer(name)


__all__ = [
    "GROUP_METRICS",
    "GroupMetric",
    "get_scorer",
    "group_loss_scores",
    "group_scores",
    "score_group_metric",
    "worst_group_accuracy",
    "worst_group_error",
    "worst_group_log_loss",
    "worst_group_mse",
]
