"""How a fit's rows map to groups: labels, memberships, and rows of unknown group.

Every fit reads its ``groups`` through :func:`plan_groups`, which returns a
:class:`GroupPlan`: the group labels, and the (row, group, weight) pairs that the
training loop sees as ordinary rows. Disjoint labels (and one-hot memberships) give
one pair per row in row order and no weights: the path of plain labels, unchanged.
Memberships give one pair per positive membership, weighted by it. Rows of unknown
group either go to a last, *pinned* group whose weight stays nominal
(``unknown_groups="nominal"``), or get memberships estimated by a classifier fitted
on the labelled rows (``"estimate"``). The classifier is scikit-learn's side of the
package; the training loop never sees it.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from .._groups import encode_groups, group_labels
from .._memberships import (
    Memberships,
    check_memberships,
    expand,
    is_memberships,
    one_hot_labels,
)


def default_membership_estimator():
    """The classifier of ``unknown_groups="estimate"`` when none is given."""
    return LogisticRegression(max_iter=1000)


@dataclass
class GroupPlan:
    """The groups of a fit's rows.

    ``labels``: the (known) group labels, sorted. ``index``: each pair's group
    position (``len(labels)`` for the pinned group of unknown rows). ``rows``: each
    pair's row, or ``None`` for one pair per row in order. ``weights``: each pair's
    membership, or ``None`` (all 1). ``strata``: a stratum per row for holdouts.
    ``labelled``: the rows of known group (``None``: all). ``n_pinned``: 1 when unknown
    rows form the pinned group, else 0. ``estimator``: the fitted membership
    classifier(s), or ``None``.
    """

    labels: np.ndarray
    index: np.ndarray
    rows: object = None
    weights: object = None
    strata: object = None
    labelled: object = None
    n_pinned: int = 0
    estimator: object = None

    @property
    def n_unknown(self):
        return 0 if self.labelled is None else int((~self.labelled).sum())

    def pairs_of(self, rows):
        """``(pair rows, group index, weights or None)`` of the original ``rows``."""
        if self.rows is None:
            return rows, self.index[rows], None
        keep = np.isin(self.rows, rows)
        return self.rows[keep], self.index[keep], self.weights[keep]


def plan_groups(groups, X, n_samples, unknown_groups="error", membership_estimator=None):
    """The :class:`GroupPlan` of ``groups`` (labels, memberships or ``None``)."""
    if is_memberships(groups):
        labels = one_hot_labels(groups)
        if labels is None:
            return _memberships_plan(groups, X, n_samples, unknown_groups,
                                     membership_estimator)
        groups = labels  # one-hot: the labels' path
    if groups is None or unknown_groups == "error":
        labels, index, _ = encode_groups(groups, n_samples)
        return GroupPlan(labels, index, strata=index)
    values, _, missing = group_labels(groups, n_samples, allow_missing=True)
    if not missing.any():
        labels, index, _ = encode_groups(groups, n_samples)
        return GroupPlan(labels, index, strata=index)
    _check_some_known(missing)
    labels, known_index, _ = encode_groups(values[~missing], int((~missing).sum()))
    if unknown_groups == "nominal":
        index = np.full(n_samples, labels.shape[0], dtype=np.int64)
        index[~missing] = known_index
        return GroupPlan(labels, index, strata=index, labelled=~missing, n_pinned=1)
    # estimate: a classifier of the group from the labelled rows' features
    estimator = clone(membership_estimator if membership_estimator is not None
                      else default_membership_estimator())
    estimator.fit(X[~missing], known_index)
    matrix = np.zeros((n_samples, labels.shape[0]))
    matrix[np.flatnonzero(~missing), known_index] = 1.0
    matrix[missing] = _proba_columns(estimator, X[missing], labels.shape[0])
    plan = _expanded(Memberships(matrix, labels), n_samples)
    plan.labelled, plan.estimator = ~missing, estimator
    plan.strata = np.full(n_samples, -1, dtype=np.int64)  # unknown rows stay in training
    plan.strata[~missing] = known_index
    return plan


def _check_some_known(missing):
    if missing.all():
        raise ValueError("Every row's group is unknown: unknown_groups needs labelled rows.")


def _proba_columns(estimator, X, n_classes):
    """``predict_proba`` with a column per class ``0 .. n_classes - 1``."""
    if not hasattr(estimator, "predict_proba"):
        raise ValueError(f"membership_estimator {type(estimator).__name__} has no "
                         "predict_proba; use a classifier that estimates probabilities.")
    proba = np.asarray(estimator.predict_proba(X), dtype=float)
    out = np.zeros((X.shape[0], n_classes))
    out[:, np.asarray(estimator.classes_, dtype=np.int64)] = proba
    return np.clip(out, 0.0, 1.0)


def _expanded(memberships, n_samples):
    m = check_memberships(memberships, n_samples)
    rows, index, weights = expand(m.matrix)
    strata = np.unique(m.strata(), return_inverse=True)[1].reshape(-1)
    return GroupPlan(m.names, index, rows=rows, weights=weights, strata=strata)


def _memberships_plan(memberships, X, n_samples, unknown_groups, membership_estimator):
    unknown = memberships.unknown
    if memberships.shape[0] != n_samples or not unknown.any() or unknown_groups == "error":
        return _expanded(memberships, n_samples)
    _check_some_known(unknown)
    m = memberships.sorted()
    if unknown_groups == "nominal":
        known = np.flatnonzero(~unknown)
        plan = _expanded(m[known], known.shape[0])
        n_groups = m.shape[1]
        mass = float(m.matrix[known].sum(axis=1).mean())  # an unknown row weighs a row
        lost = np.flatnonzero(unknown)
        rows = np.concatenate([known[plan.rows], lost])
        order = np.argsort(rows, kind="stable")
        strata = np.full(n_samples, -1, dtype=np.int64)
        strata[known] = plan.strata
        return GroupPlan(m.names, np.concatenate([plan.index, np.full(lost.size, n_groups)])
                         [order], rows=rows[order],
                         weights=np.concatenate([plan.weights, np.full(lost.size, mass)])
                         [order], strata=strata, labelled=~unknown, n_pinned=1)
    if not m.is_binary:
        raise ValueError("unknown_groups='estimate' with Memberships needs 0/1 memberships "
                         "(one classifier per group); these are soft.")
    matrix = m.matrix.copy()
    estimators = []
    for g in range(m.shape[1]):
        column = m.matrix[:, g]
        seen = ~np.isnan(column)
        if np.unique(column[seen]).shape[0] < 2:  # one value among the known rows
            matrix[~seen, g] = column[seen][0]
            estimators.append(None)
            continue
        est = clone(membership_estimator if membership_estimator is not None
                    else default_membership_estimator())
        est.fit(X[seen], column[seen].astype(np.int64))
        matrix[~seen, g] = _proba_columns(est, X[~seen], 2)[:, 1]
        estimators.append(est)
    empty = matrix.sum(axis=1) <= 0
    matrix[empty] = 1.0 / m.shape[1]  # no group estimated at all: equal shares
    plan = _expanded(Memberships(matrix, m.names), n_samples)
    strata = np.full(n_samples, -1, dtype=np.int64)
    strata[~unknown] = np.unique(m[np.flatnonzero(~unknown)].strata(),
                                 return_inverse=True)[1].reshape(-1)
    plan.strata, plan.labelled, plan.estimator = strata, ~unknown, estimators
    return plan


__all__ = ["GroupPlan", "default_membership_estimator", "plan_groups"]
