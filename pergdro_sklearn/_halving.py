"""Successive halving of a batch of candidates: the rungs and who survives them.

Numbers only (no torch, no estimators). The search trains a batch of candidates
together (:class:`~._batched.BatchedRun`) to the first rung's epochs, scores them
on the validation rows, keeps the best ``1 / factor`` of them and continues those
to the next rung, until the last rung (``max_iter`` epochs). A dropped candidate's
record holds what it reached: its objective at the epoch it was dropped.
"""

import math

import numpy as np


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


def survivors(objectives, factor, protected=None):
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

    Returns
    -------
    positions : ndarray of int

    Examples
    --------
    >>> survivors([0.5, 0.2, 0.9, 0.4, 0.3, 0.8], 3).tolist()
    [1, 4]
    >>> survivors([0.5, 0.2, 0.9, 0.4, 0.3, 0.8], 3, protected=[0, 0, 1, 0, 0, 0]).tolist()
    [1, 2, 4]
    """
    values = np.asarray(objectives, dtype=float)
    n_active = values.shape[0]
    protected = (np.zeros(n_active, dtype=bool) if protected is None
                 else np.asarray(protected, dtype=bool))
    ranked = np.where(np.isfinite(values), values, np.inf)
    order = np.argsort(ranked, kind="stable")
    order = order[~protected[order]]
    keep = set(order[:n_survivors(n_active, factor)].tolist())
    keep |= set(np.flatnonzero(protected).tolist())
    return np.array(sorted(keep), dtype=np.int64)


def is_reference(params):
    """Whether a candidate is ERM (``rho = 0`` and every radius 0), which halving keeps."""
    return float(params["rho"]) == 0.0 and not np.any(np.asarray(params["epsilon"]) != 0)


__all__ = ["is_reference", "n_survivors", "rung_epochs", "survivors"]
