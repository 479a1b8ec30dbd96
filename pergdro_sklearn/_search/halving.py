"""Successive halving of a batch of candidates: the rungs and who survives them.

Numbers only (no torch, no estimators). The search trains a batch of candidates
together (:class:`~_estimators.batched.BatchedRun`) to the first rung's epochs and scores
them on the validation rows. Then the batch is cut by robustness
(:func:`reach_ranks`) into ``ceil(n / factor)`` strata of candidates with similar
radii; the best of each stratum continues, and so does every candidate that
validation cannot tell apart from the best (within one standard error, the band
of the ``"one_se"`` pick) and ERM. The rest are dropped, until the last rung
(``max_iter`` epochs). A dropped candidate's record holds what it reached: its
objective at the epoch it was dropped.

Why strata: early in training the candidates with large radii lag behind (their
loss falls more slowly), so a plain ranking at an early rung drops the robust
candidates that the one-standard-error pick would choose at the end. Compared
with candidates of similar radii, which lag alike, they stay in the race
(``benchmarks/halving.py`` measures the difference).
"""

import math

import numpy as np
from scipy.stats import rankdata

from .selection import one_se_threshold


def rung_epochs(max_iter, factor, n_rungs):
    """Epochs at the end of each rung: ``max_iter / factor**k`` rounded up, increasing.

    Rungs that would round to the same epoch as the next one are merged, so the
    list may be shorter than ``n_rungs``; the last entry is always ``max_iter``.

    Examples
    --------
    >>> rung_epochs(100, 3, 3)
    [12, 34, 100]
    >>> rung_epochs(4, 3, 3)
    [1, 2, 4]
    >>> rung_epochs(2, 4, 3)
    [1, 2]
    """
    epochs = []
    for k in range(n_rungs - 1, -1, -1):
        value = max(1, math.ceil(max_iter / factor ** k))
        if not epochs or value > epochs[-1]:
            epochs.append(value)
    return epochs


def n_survivors(n_active, factor):
    """How many of ``n_active`` candidates go on to the next rung: ``ceil(n / factor)``."""
    return max(1, math.ceil(n_active / factor))


def survivors(objectives, factor, protected=None, threshold=None, reach=None):
    """Positions of the candidates that continue, in their original order.

    Parameters
    ----------
    objectives : array-like of shape (n_active,)
        Validation objective of each active candidate at this rung (lower is
        better; NaN, a failed score, ranks last).
    factor : float
        Keep the best ``ceil(n_active / factor)`` candidates.
    protected : array-like of bool of shape (n_active,), default=None
        Candidates that always continue (ERM, the pick's reference) on top of
        the best ones.
    threshold : float, default=None
        Candidates whose objective is at most this also continue (see
        :func:`~_search.selection.one_se_threshold`).
    reach : array-like of shape (n_active,), default=None
        How robust each candidate is (:func:`reach_ranks`). Given, the candidates
        are cut by reach into ``ceil(n_active / factor)`` strata of neighbours and
        the best of each stratum continues: a candidate is compared with those of
        similar radii, which train at a similar pace, and the survivors span the
        range of radii. Without it the best overall continue.

    Returns
    -------
    positions : ndarray of int

    Examples
    --------
    >>> survivors([0.5, 0.2, 0.9, 0.4, 0.3, 0.8], 3).tolist()
    [1, 4]
    >>> survivors([0.5, 0.2, 0.9, 0.4, 0.3, 0.8], 3, protected=[0, 0, 1, 0, 0, 0]).tolist()
    [1, 2, 4]
    >>> survivors([0.5, 0.2, 0.9, 0.4, 0.3, 0.8], 3, threshold=0.45).tolist()
    [1, 3, 4]
    """
    values = np.asarray(objectives, dtype=float)
    n_active = values.shape[0]
    protected = (np.zeros(n_active, dtype=bool) if protected is None
                 else np.asarray(protected, dtype=bool))
    ranked = np.where(np.isfinite(values), values, np.inf)
    n_keep = n_survivors(n_active, factor)
    if reach is None:
        order = np.argsort(ranked, kind="stable")
        keep = set(order[~protected[order]][:n_keep].tolist())
    else:
        by_reach = np.argsort(np.asarray(reach, dtype=float), kind="stable")
        by_reach = by_reach[~protected[by_reach]]
        keep = {int(stratum[np.argmin(ranked[stratum])])
                for stratum in np.array_split(by_reach, min(n_keep, by_reach.shape[0]))
                if stratum.size}
    keep |= set(np.flatnonzero(protected).tolist())
    if threshold is not None and np.isfinite(threshold):
        keep |= set(np.flatnonzero(ranked <= threshold).tolist())
    return np.array(sorted(keep), dtype=np.int64)


def rung_threshold(objectives, std_errors, reference):
    """The one-standard-error band of a rung (:func:`~_search.selection.one_se_threshold`),
    over the finite objectives; ``reference`` marks ERM. None if none is finite."""
    values = np.asarray(objectives, dtype=float)
    finite = np.isfinite(values)
    if not finite.any():
        return None
    erm = np.flatnonzero(np.asarray(reference, dtype=bool) & finite)
    return float(one_se_threshold(values, std_errors, finite,
                                  int(erm[0]) if erm.size else None))


def reach_ranks(params_list):
    """How robust each candidate is within its batch, without the search's bounds.

    The rank of its ``rho`` plus the rank of its mean radius (average ranks for
    ties), so that both adversaries count and neither's units matter.

    Examples
    --------
    >>> reach_ranks([dict(rho=0.0, epsilon=[0.0, 0.0]), dict(rho=1.0, epsilon=[0.5, 0.1]),
    ...              dict(rho=0.5, epsilon=[2.0, 2.0])]).tolist()
    [2.0, 5.0, 5.0]
    """
    rho = [float(p["rho"]) for p in params_list]
    epsilon = [float(np.mean(p["epsilon"])) for p in params_list]
    return rankdata(rho) + rankdata(epsilon)


def is_reference(params):
    """Whether a candidate is ERM (``rho = 0`` and every radius 0), which halving keeps."""
    return float(params["rho"]) == 0.0 and not np.any(np.asarray(params["epsilon"]) != 0)


__all__ = ["is_reference", "n_survivors", "reach_ranks", "rung_epochs",
           "rung_threshold", "survivors"]
