"""Train many Per-GDRO candidates at once as one batched network.

At the paper's sizes per-call overhead, not arithmetic, dominates a fit, so
``C`` candidates that differ only in their radii train together: the data are
validated and converted once, the candidates' weights are stacked into one
network (:class:`~._network.BatchedMLP`, or any module through
:class:`~._network.StackedModule`), the shared loop of :mod:`._training` runs once
with a leading candidate dimension, and each candidate is unstacked into an
ordinary fitted estimator afterwards. The work is done by the estimators'
``_fit_batched`` method; these functions are the entry points the search and the
benchmarks use.

Candidates share the estimator's ``random_state``, so they start from the same
weights and see the minibatches in the same order as sequential fits would.
With ``attack="pgd"`` (deterministic) a batched fit reproduces the sequential
one up to float rounding; FGSM's random starts are drawn jointly, so there the
two agree in distribution, not bit for bit.
"""

# Parameters that may differ between candidates trained in one batch.
BATCHABLE_PARAMS = frozenset({"rho", "epsilon"})


def can_batch(estimator, params_list):
    """Whether ``params_list`` only varies what batched training supports."""
    from ._base import BaseGroupRobustMLP

    if not isinstance(estimator, BaseGroupRobustMLP):
        return False
    return estimator._can_fit_batched(params_list)


def fit_candidates(estimator, params_list, X, y, groups=None, sample_weight=None):
    """Fit ``clone(estimator).set_params(**p)`` for every ``p`` in one batched run.

    Parameters
    ----------
    estimator : PerGDROClassifier or PerGDRORegressor
        The template (unfitted or fitted; it is cloned, never modified).
    params_list : list of dict
        Each candidate's ``rho`` and/or ``epsilon``.
    X, y, groups, sample_weight : array-like
        Training data shared by all candidates (one copy for all of them).

    Returns
    -------
    estimators : list
        Fitted estimators, one per candidate, as sequential fits would give.
    """
    return estimator._fit_batched(params_list, X, y, groups=groups, sample_weight=sample_weight)


__all__ = ["BATCHABLE_PARAMS", "can_batch", "fit_candidates"]
