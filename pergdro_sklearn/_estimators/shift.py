"""The network side of ``group_shift_report``: the gradient attack, per-row losses, Lip(l).

:func:`pergdro_sklearn.metrics.group_shift_report` is numpy only and never imports
torch; it finds these methods on the package's network estimators by name (the
private ``_shift_*`` protocol) and calls them on one group's rows at a time; for an
ensemble of networks (a search's refit with ``refit_seeds`` > 1) it calls those of
its first member with ``ensemble=(networks, weights)``. Every
computation runs on float64 copies of the networks, as ``predict`` does, so the
report's losses and predictions agree row for row.

An ensemble's loss is that of its average: the log loss of the weighted mean of the
members' probabilities (a classifier), the members' loss of the weighted mean
output (a regressor). Its certified Lipschitz constant: for the log loss of a
mixture the input gradient is a convex combination of the members' log-loss
gradients, so the largest member constant bounds it; for a regressor the
average's output moves at most ``sum_k w_k Lip(f_k)`` per unit of input.
"""

import copy

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from .._constants import PGD_STEP_MULTIPLIER
from .._train.losses import output_lipschitz
from .._train.network import MLP
from .._train.risk import max_displacement, network_lipschitz
from .._train.wasserstein import wasserstein_attack


class ShiftAttackMixin:
    """``_shift_attack``, ``_shift_losses`` and ``_shift_lipschitz`` of one network, or,
    given ``ensemble=(networks, weights)``, of that weighted average of networks."""

    def _shift_tensors(self, X, y, ensemble):
        networks, weights = ([self], np.ones(1)) if ensemble is None else ensemble
        weights = np.asarray(weights, dtype=float)
        first = networks[0]
        for network in networks:
            check_is_fitted(network)
        X = validate_data(first, X, reset=False, dtype=np.float64)
        modules = [copy.deepcopy(n.module_).double() for n in networks]
        device = next(modules[0].parameters()).device
        X_t = torch.as_tensor(np.array(X, dtype=np.float64), device=device)
        y_t = first._known_target_tensor(y, device)
        if y_t.is_floating_point():
            y_t = y_t.to(torch.float64)
        return networks, weights, modules, X_t, y_t

    @staticmethod
    def _shift_forward(networks, weights, modules):
        if len(modules) == 1:
            return modules[0]
        w = [float(v) for v in weights]
        if networks[0]._is_classifier_flag:
            def forward(X):  # log-probabilities of the mixture: logits of the average
                mixture = sum(v * torch.softmax(m(X), dim=-1) for v, m in zip(w, modules))
                return torch.log(mixture.clamp_min(1e-300))
        else:
            def forward(X):
                return sum(v * m(X) for v, m in zip(w, modules))
        return forward

    def _shift_losses(self, X, y, ensemble=None):
        """The loss of every row of ``(X, y)``, float64: shape ``(n,)``."""
        networks, weights, modules, X_t, y_t = self._shift_tensors(X, y, ensemble)
        forward = self._shift_forward(networks, weights, modules)
        with torch.no_grad():
            return networks[0]._loss_fn()(forward(X_t), y_t).cpu().numpy().astype(float)

    def _shift_attack(self, X, y, radius, order, steps, ensemble=None):
        """The rows of ``(X, y)`` attacked as one group within ``radius`` (float64).

        Projected gradient ascent on the loss (``steps`` steps of
        ``2.5 * radius / steps``, from zero): the package's within-group attack,
        on one group.
        """
        networks, weights, modules, X_t, y_t = self._shift_tensors(X, y, ensemble)
        group_index = torch.zeros(X_t.shape[0], dtype=torch.long, device=X_t.device)
        radii = torch.tensor([float(radius)], dtype=torch.float64, device=X_t.device)
        X_adv = wasserstein_attack(self._shift_forward(networks, weights, modules),
                                   networks[0]._loss_fn(), X_t, y_t, group_index, radii,
                                   order=order, method="pgd", steps=int(steps),
                                   step_size=PGD_STEP_MULTIPLIER)
        return X_adv.cpu().numpy()

    def _shift_lipschitz(self, X, y, radius, order, ensemble=None):
        """A certified Lipschitz constant of the loss in the features, over the region an
        attack of ``radius`` on the rows of ``(X, y)`` reaches; None when a network has
        one's own ``module=`` (its layers are not known)."""
        networks, weights, modules, X_t, y_t = self._shift_tensors(X, y, ensemble)
        if not all(isinstance(n.module_, MLP) for n in networks):
            return None
        first = networks[0]
        lips = np.array([network_lipschitz(m) for m in modules])
        huber = getattr(first, "huber_delta", 1.0)
        if first._is_classifier_flag:  # a mixture's log loss: the largest member's
            return float(output_lipschitz("cross_entropy", first._n_outputs) * lips.max())
        net_lip = float(np.dot(weights, lips))
        residual = None
        if first._loss_name == "squared_error":
            forward = self._shift_forward(networks, weights, modules)
            with torch.no_grad():
                residual = float((forward(X_t) - y_t).abs().max())
            residual += net_lip * max_displacement([radius], [X_t.shape[0]], order)
        return float(output_lipschitz(first._loss_name, first._n_outputs, huber, residual)
                     * net_lip)


__all__ = ["ShiftAttackMixin"]
