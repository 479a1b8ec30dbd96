"""The robust objective of Eq. (9) and the bound of Proposition 1.

Torch does the within-group attack on whole groups; numpy does the rest
(``divergences.worst_case_weights`` for the inter-group adversary).
"""


import numpy as np
import torch

from ..divergences import worst_case_weights
from .groups import group_counts, group_sums
from .losses import output_lipschitz
from .network import ACTIVATION_LIPSCHITZ
from .wasserstein import wasserstein_attack


def group_mean_losses(forward, loss, X, y, group_index, n_groups, attack=None,
                      generator=None, row_weights=None):
    """Mean loss per group, clean or under the within-group attack on whole groups.

    Returns ``(clean, robust)`` numpy arrays of shape ``(..., G)``; ``robust`` equals
    ``clean`` when ``attack`` is ``None`` or all radii are zero. ``row_weights``
    (memberships) make the means weighted.
    """
    if row_weights is None:
        counts = group_counts(group_index, n_groups, X.dtype).clamp(min=1)
        def weigh(values):
            return values
    else:
        counts = group_sums(row_weights.to(X.dtype), group_index, n_groups)
        counts = torch.where(counts > 0, counts, torch.ones_like(counts))
        def weigh(values):
            return values * row_weights
    with torch.no_grad():
        clean = group_sums(weigh(loss(forward(X), y)), group_index, n_groups) / counts
    if attack is None or not attack.active():
        robust = clean
    else:
        X_adv = wasserstein_attack(
            forward, loss, X, y, group_index, attack.radii, order=attack.order,
            method=attack.method, steps=attack.steps, step_size=attack.step_size,
            random_start=attack.random_start, generator=generator,
        )
        with torch.no_grad():
            robust = group_sums(weigh(loss(forward(X_adv), y)), group_index, n_groups) / counts
    return clean.cpu().numpy().astype(float), robust.cpu().numpy().astype(float)


def robust_objective(robust_group_losses, nominal, rho, divergence):
    """Eq. (9): ``max_p sum_g p_g L~_g`` over the phi-ball of radius ``rho``.

    Returns ``(value, p)``.
    """
    p = worst_case_weights(robust_group_losses, nominal, rho, divergence)
    return float(p @ robust_group_losses), p


def proposition1_terms(clean_group_losses, nominal, weights, epsilons, lipschitz):
    """The three terms of Proposition 1's right-hand side and their sum.

    ``nominal_risk = p_hat . L``; ``dispersion = ||p||_2 * sqrt(sum_i (L_i - p_hat . L)^2)``;
    ``within_group = Lip * sum_i p_i eps_i``.
    """
    clean = np.asarray(clean_group_losses, dtype=float)
    nominal_risk = float(nominal @ clean)
    dispersion = float(np.linalg.norm(weights) * np.sqrt(np.sum((clean - nominal_risk) ** 2)))
    within = float(lipschitz * (weights @ np.asarray(epsilons, dtype=float)))
    return {
        "nominal_risk": nominal_risk,
        "dispersion": dispersion,
        "within_group": within,
        "bound": nominal_risk + dispersion + within,
    }


def bound_report(clean, robust, nominal, rho, divergence, epsilons, lip_certified,
                 lip_empirical):
    """Eq. (9) and Proposition 1's terms with a certified and an empirical Lip(l).

    The adversarial weights ``p`` of the bound are the best response to the
    robust per-group losses, so ``robust_risk <= bound_certified`` holds whenever
    ``lip_certified`` is a true Lipschitz constant.
    """
    value, p = robust_objective(robust, nominal, rho, divergence)
    certified = proposition1_terms(clean, nominal, p, epsilons, lip_certified)
    empirical = proposition1_terms(clean, nominal, p, epsilons, lip_empirical)
    return {
        "robust_risk": value,
        "nominal_risk": certified["nominal_risk"],
        "dispersion": certified["dispersion"],
        "within_group_certified": certified["within_group"],
        "bound_certified": certified["bound"],
        "within_group_empirical": empirical["within_group"],
        "bound_empirical": empirical["bound"],
        "lipschitz_certified": lip_certified,
        "lipschitz_empirical": lip_empirical,
    }


def network_lipschitz(module):
    """Certified Lipschitz constant of an :class:`~_train.network.MLP` in its input (L2).

    The product of the layers' spectral norms times the activations' constants.
    """
    weights = module.weight_matrices()
    lip = ACTIVATION_LIPSCHITZ[module.activation] ** (len(weights) - 1)
    with torch.no_grad():
        for w in weights:
            lip *= float(torch.linalg.matrix_norm(w.detach().double(), ord=2))
    return lip


def max_displacement(epsilons, group_sizes, order):
    """The farthest one row can move within its group's Wasserstein budget."""
    eps = np.asarray(epsilons, dtype=float)
    sizes = np.asarray(group_sizes, dtype=float)
    if order == "inf":
        return float(eps.max(initial=0.0))
    if order == 2:
        return float((eps * np.sqrt(sizes)).max(initial=0.0))
    return float((eps * sizes).max(initial=0.0))


def certified_loss_lipschitz(module, loss, n_outputs, *, huber_delta=1.0, X=None, y=None,
                             epsilons=None, group_sizes=None, order=2):
    """Certified upper bound on Lip(l) in the features: loss constant x network constant.

    Squared error is Lipschitz only locally: its constant uses the largest residual
    on ``(X, y)`` plus the farthest the network output can move under the attack.
    """
    net_lip = network_lipschitz(module)
    residual_bound = None
    if loss == "squared_error":
        with torch.no_grad():
            residual = float((module(X) - y).abs().max())
        reach = max_displacement(epsilons, group_sizes, order)
        residual_bound = residual + net_lip * reach
    return output_lipschitz(loss, n_outputs, huber_delta, residual_bound) * net_lip


def empirical_loss_lipschitz(forward, loss, X, y):
    """Largest per-row input-gradient norm of the loss at the data (not certified)."""
    X = X.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(forward(X), y).sum(), X)
    return float(grad.norm(dim=-1).max())


__all__ = [
    "bound_report",
    "certified_loss_lipschitz",
    "empirical_loss_lipschitz",
    "group_mean_losses",
    "network_lipschitz",
    "proposition1_terms",
    "robust_objective",
]
