"""Train many Per-GDRO candidates at once as one batched network.

At the paper's sizes per-call overhead, not arithmetic, dominates a fit, so
``C`` candidates that differ only in their radii train together: their weights
are stacked into one :class:`~._network.BatchedMLP`, the shared loop of
:mod:`._training` runs once with a leading candidate dimension, and each
candidate is unstacked into an ordinary fitted estimator afterwards.

Candidates share the estimator's ``random_state``, so they start from the same
weights and see the minibatches in the same order as sequential fits would.
With ``attack="pgd"`` (deterministic) a batched fit reproduces the sequential
one up to float rounding; FGSM's random starts are drawn jointly, so there the
two agree in distribution, not bit for bit.
"""

import numpy as np
import torch
from sklearn.base import clone

from ._network import BatchedMLP
from ._training import AttackConfig, PhiDivergenceWeighting, Trainer, make_optimizer

# Parameters that may differ between candidates trained in one batch.
BATCHABLE_PARAMS = frozenset({"rho", "epsilon"})


def can_batch(estimator, params_list):
    """Whether ``params_list`` only varies what batched training supports."""
    from ._base import BaseGroupRobustMLP
    from ._pergdro import PerGDROMixin

    if not isinstance(estimator, PerGDROMixin) or len(params_list) < 2:
        return False
    if type(estimator).fit is not BaseGroupRobustMLP.fit:
        return False  # a subclass that customises fit must be fitted as written
    if estimator.get_params().get("warm_start") or estimator.get_params().get(
            "track_risk_bound"):
        return False
    return all(set(params) <= BATCHABLE_PARAMS for params in params_list)


def fit_candidates(estimator, params_list, X, y, groups=None):
    """Fit ``clone(estimator).set_params(**p)`` for every ``p`` in one batched run.

    Parameters
    ----------
    estimator : PerGDROClassifier or PerGDRORegressor
        The template (unfitted or fitted; it is cloned).
    params_list : list of dict
        Each candidate's ``rho`` and/or ``epsilon``.
    X, y, groups : array-like
        Training data shared by all candidates.

    Returns
    -------
    estimators : list
        Fitted estimators, one per candidate, as sequential fits would give.
    """
    candidates = [clone(estimator).set_params(**params) for params in params_list]
    setups = [est._prepare_training(X, y, groups, first_pass=True) for est in candidates]
    lead, first = candidates[0], setups[0]
    n_candidates = len(candidates)

    module = BatchedMLP([est.module_ for est in candidates])
    optimizer = make_optimizer(lead.solver, module.parameters(), lead.learning_rate_init,
                               lead.alpha)
    weighting = PhiDivergenceWeighting(
        np.array([est.rho for est in candidates], dtype=float),
        first["weighting"].divergence, lead.group_step_size, lead.group_weight_update)
    weighting.start(first["weighting"].nominal, (n_candidates,))
    radii = torch.stack([setup["radii"] for setup in setups])
    template = lead._attack_config(radii)
    attack = AttackConfig(radii=radii, order=template.order, method=template.method,
                          steps=template.steps, step_size=template.step_size,
                          random_start=template.random_start)
    trainer = Trainer(
        module, lead._loss_fn(), weighting, optimizer, first["batch_size"],
        lead.groups_.shape[0], attack=attack, candidate_shape=(n_candidates,),
        shuffle_generator=lead._shuffle_gen, attack_generator=lead._attack_gen,
        verbose=lead.verbose,
    )
    history = trainer.fit(first["X"], first["y"], first["groups"], lead.max_iter)

    for c, est in enumerate(candidates):
        est.module_ = module.unstack(c)
        est._optimizer = make_optimizer(est.solver, est.module_.parameters(),
                                        est.learning_rate_init, est.alpha)
        est._record_history(history, weighting.weights, candidate=c)
        est.risk_bound_history_ = None
    return candidates


__all__ = ["BATCHABLE_PARAMS", "can_batch", "fit_candidates"]
