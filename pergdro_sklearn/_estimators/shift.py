"""The network side of ``group_shift_report``: the gradient attack, per-row losses, Lip(l).

:func:`pergdro_sklearn.metrics.group_shift_report` is numpy only and never imports
torch; it finds these methods on the package's network estimators by name (the
private ``_shift_*`` protocol) and calls them on one group's rows at a time. Every
computation runs on a float64 copy of the network, as ``predict`` does, so the
report's losses and predictions agree row for row.
"""

import copy

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted, validate_data

from .._constants import PGD_STEP_MULTIPLIER
from .._train.network import MLP
from .._train.risk import certified_loss_lipschitz
from .._train.wasserstein import wasserstein_attack


class ShiftAttackMixin:
    """``_shift_attack``, ``_shift_losses`` and ``_shift_lipschitz`` for the report."""

    def _shift_tensors(self, X, y):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        module = copy.deepcopy(self.module_).double()
        device = next(module.parameters()).device
        X_t = torch.as_tensor(np.array(X, dtype=np.float64), device=device)
        y_t = self._known_target_tensor(y, device)
        if y_t.is_floating_point():
            y_t = y_t.to(torch.float64)
        return module, X_t, y_t

    def _shift_losses(self, X, y):
        """The training loss of every row of ``(X, y)``, float64: shape ``(n,)``."""
        module, X_t, y_t = self._shift_tensors(X, y)
        with torch.no_grad():
            return self._loss_fn()(module(X_t), y_t).cpu().numpy().astype(float)

    def _shift_attack(self, X, y, radius, order, steps):
        """The rows of ``(X, y)`` attacked as one group within ``radius`` (float64).

        Projected gradient ascent on the training loss (``steps`` steps of
        ``2.5 * radius / steps``, from zero): the package's within-group attack,
        on one group.
        """
        module, X_t, y_t = self._shift_tensors(X, y)
        group_index = torch.zeros(X_t.shape[0], dtype=torch.long, device=X_t.device)
        radii = torch.tensor([float(radius)], dtype=torch.float64, device=X_t.device)
        X_adv = wasserstein_attack(module, self._loss_fn(), X_t, y_t, group_index, radii,
                                   order=order, method="pgd", steps=int(steps),
                                   step_size=PGD_STEP_MULTIPLIER)
        return X_adv.cpu().numpy()

    def _shift_lipschitz(self, X, y, radius, order):
        """A certified Lipschitz constant of the loss in the features, over the region an
        attack of ``radius`` on the rows of ``(X, y)`` reaches; None for a network of
        one's own ``module=`` (its layers are not known)."""
        if not isinstance(self.module_, MLP):
            return None
        module, X_t, y_t = self._shift_tensors(X, y)
        return float(certified_loss_lipschitz(
            module, self._loss_name, self._n_outputs,
            huber_delta=getattr(self, "huber_delta", 1.0), X=X_t, y=y_t,
            epsilons=[float(radius)], group_sizes=[X_t.shape[0]], order=order))

__all__ = ["ShiftAttackMixin"]
