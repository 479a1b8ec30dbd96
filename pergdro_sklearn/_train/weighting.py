"""Inter-group strategies of the training loop: ERM, GroupDRO and the phi-divergence ball.

A strategy turns the per-group losses of an epoch (or of a minibatch) into the
group weights of the next steps; the loop in :mod:`.loop` is the same for all.
"""

import numpy as np
import torch

from ..divergences import worst_case_weights
from .groups import group_counts, group_sums


def sum_of_means(losses):
    """Each candidate's mean over rows, summed over candidates (one op for one model)."""
    return losses.mean() if losses.dim() == 1 else losses.mean(dim=-1).sum()


# --------------------------------------------------------------------------
# Inter-group strategies
# --------------------------------------------------------------------------
class GroupWeighting:
    """Base strategy: nominal weights, plain average loss (ERM).

    ``weights`` is a numpy array of shape ``(..., G)``; subclasses change how the
    batch objective uses it and how it moves during training. ``sampling`` is each
    group's expected share of a minibatch (its share of the rows, or ``1/G`` with
    group-balanced batches); the batch objective divides by it, so the expected
    objective is ``sum_g weights_g E_g[loss]`` whatever the batches' composition.
    """

    def start(self, nominal, batch_shape=(), sampling=None, pinned=0):
        """Reset the weights to ``nominal`` broadcast to ``batch_shape + (G,)``.

        ``pinned``: the last ``pinned`` groups (0 or 1; rows of unknown group) keep
        their nominal weight; the adversary moves the others' weights within the rest.
        """
        self.pinned = int(pinned)
        self.nominal = np.asarray(nominal, dtype=float)
        self.sampling = self.nominal if sampling is None else np.asarray(sampling, dtype=float)
        self.weights = np.broadcast_to(self.nominal, tuple(batch_shape) + self.nominal.shape).copy()
        self._ratio = None
        self._batch_shape = tuple(batch_shape)

    def adversarial(self):
        """Whether each candidate (``batch_shape`` of :meth:`start`) reweights the
        groups against the model; ERM does not."""
        return np.zeros(self._batch_shape, dtype=bool)

    def set_weights(self, weights):
        """Continue from given weights (warm start)."""
        self.weights = np.array(weights, dtype=float)
        self._ratio = None

    def _importance(self, weights, losses, group_index):
        """Batch mean of ``(weights_g / sampling_g) * loss``; the plain mean when they agree."""
        if self._ratio is None:  # recomputed only when the weights change
            weights = np.broadcast_to(weights, self.weights.shape)
            if np.array_equal(weights, np.broadcast_to(self.sampling, self.weights.shape)):
                self._ratio = False
            else:
                self._ratio = torch.as_tensor(weights / self.sampling, dtype=losses.dtype,
                                              device=losses.device)
        if self._ratio is False:
            return sum_of_means(losses)
        return sum_of_means(self._ratio[..., group_index] * losses)

    def batch_objective(self, losses, group_index):
        """Scalar to minimise for a batch; candidates are summed (independent grads)."""
        return self._importance(self.nominal, losses, group_index)

    def after_epoch(self, group_losses):
        """Hook called with the epoch's mean robust loss per group ``(..., G)``."""

    def keep(self, index):
        """Keep only candidates ``index`` (positions along the leading dimension)."""
        self.weights = self.weights[index]
        self._ratio = None


class PhiDivergenceWeighting(GroupWeighting):
    """Per-GDRO's inter-group adversary (Algorithm 1, lines 10-12).

    The model step minimises the importance-weighted batch mean of
    ``(p_g / p_hat_g) * loss_i``, unbiased for ``sum_g p_g E_{q_g}[loss]`` whatever
    the batch's composition. ``p`` moves toward the exact best response
    ``p*`` in the phi-divergence ball of radius ``rho``: once per epoch from the
    per-group losses accumulated during it, or after every batch. ``adjustment``
    (shape ``(G,)``, GroupDRO's ``C / sqrt(n_g)``) is added to the losses the
    adversary sees, not to the model's objective.
    """

    def __init__(self, rho, divergence, step_size, update="epoch", adjustment=None):
        self.rho = rho
        self.divergence = divergence
        self.step_size = step_size
        self.update = update
        self.adjustment = adjustment

    def start(self, nominal, batch_shape=(), sampling=None, pinned=0):
        super().start(nominal, batch_shape, sampling, pinned)
        self._rho = np.broadcast_to(np.asarray(self.rho, dtype=float), tuple(batch_shape))
        self._last = None

    def adversarial(self):
        """A ball of radius 0 holds only the nominal weights: ERM."""
        return self._rho > 0

    def batch_objective(self, losses, group_index):
        objective = self._importance(self.weights, losses, group_index)
        if self.update == "batch":
            n_groups = self.nominal.shape[0]
            with torch.no_grad():
                sums = group_sums(losses.detach(), group_index, n_groups)
                counts = group_counts(group_index, n_groups, losses.dtype)
                seen = (counts > 0).cpu().numpy()
                means = (sums / counts.clamp(min=1)).cpu().numpy()
            if self._last is None:
                self._last = np.where(seen, means, means[..., seen].mean(-1, keepdims=True))
            self._last = np.where(seen, means, self._last)
            self._move(self._last)
        return objective

    def after_epoch(self, group_losses):
        if self.update == "epoch":
            self._move(group_losses)

    def keep(self, index):
        super().keep(index)
        self._rho = self._rho[index]
        if np.ndim(self.rho):
            self.rho = np.asarray(self.rho)[index]
        if self._last is not None:
            self._last = self._last[index]

    def _move(self, group_losses):
        if self.adjustment is not None:
            group_losses = group_losses + np.asarray(self.adjustment, dtype=float)
        flat_losses = group_losses.reshape(-1, group_losses.shape[-1])
        flat_weights = self.weights.reshape(flat_losses.shape)
        free = self.nominal.shape[0] - self.pinned
        share = float(self.nominal[:free].sum()) if self.pinned else 1.0
        for c, (losses_c, rho_c) in enumerate(zip(flat_losses, self._rho.reshape(-1))):
            if rho_c == 0 or self.step_size == 0:
                continue
            if self.pinned:
                best = worst_case_weights(losses_c[:free], self.nominal[:free] / share,
                                          float(rho_c), self.divergence) * share
                best = np.concatenate([best, self.nominal[free:]])
            else:
                best = worst_case_weights(losses_c, self.nominal, float(rho_c),
                                          self.divergence)
            flat_weights[c] = (1.0 - self.step_size) * flat_weights[c] + self.step_size * best
        self.weights = flat_weights.reshape(self.weights.shape)
        self._ratio = None


class GroupDROWeighting(GroupWeighting):
    """Online GroupDRO of Sagawa et al. (2019).

    ``q`` starts uniform; every batch ``q <- q * exp(eta * (L_g + C / sqrt(n_g)))``
    normalised, with ``L_g`` the batch mean loss of group ``g``; the objective is
    ``sum_g q_g L_g``.
    """

    def __init__(self, step_size, generalization_adjustment, group_sizes):
        self.step_size = step_size
        self.generalization_adjustment = generalization_adjustment
        self.group_sizes = np.asarray(group_sizes, dtype=float)

    def start(self, nominal, batch_shape=(), sampling=None, pinned=0):
        super().start(nominal, batch_shape, sampling, pinned)
        n_groups = self.nominal.shape[0]
        self.weights = np.full(tuple(batch_shape) + (n_groups,), 1.0 / n_groups)
        if self.pinned:
            free = n_groups - self.pinned
            share = float(self.nominal[:free].sum())
            self.weights[..., :free] = share / free
            self.weights[..., free:] = self.nominal[free:]
        self._log_q = None
        self._q = None

    def adversarial(self):
        return np.ones(self._batch_shape, dtype=bool)

    def set_weights(self, weights):
        super().set_weights(weights)
        self._log_q = None

    def batch_objective(self, losses, group_index):
        n_groups = self.nominal.shape[0]
        if self._log_q is None:
            q = torch.as_tensor(self.weights, dtype=losses.dtype, device=losses.device)
            self._log_q = torch.log(q)
            adjust = self.generalization_adjustment / np.sqrt(self.group_sizes)
            self._adjust = torch.as_tensor(adjust, dtype=losses.dtype, device=losses.device)
        sums = group_sums(losses, group_index, n_groups)
        counts = group_counts(group_index, n_groups, losses.dtype)
        batch_means = sums / counts.clamp(min=1)
        with torch.no_grad():
            # multiplicative update in log space: exp(eta * L) overflows for large losses
            step = self._log_q + self.step_size * (batch_means.detach() + self._adjust)
            if self.pinned:  # the pinned groups keep their weight; the rest share the rest
                free = n_groups - self.pinned
                share = float(self.nominal[:free].sum())
                step = torch.cat([torch.log_softmax(step[..., :free], dim=-1) + np.log(share),
                                  self._log_q[..., free:]], dim=-1)
                self._log_q = step
            else:
                self._log_q = torch.log_softmax(step, dim=-1)
            self._q = torch.exp(self._log_q)
        return (batch_means * self._q).sum()

    def after_epoch(self, group_losses):
        if self._q is not None:
            self.weights = self._q.cpu().numpy().astype(float)

    def keep(self, index):
        super().keep(index)
        if self._log_q is not None:
            rows = torch.as_tensor(index, device=self._log_q.device)
            self._log_q = self._log_q.index_select(0, rows)
            self._q = None if self._q is None else self._q.index_select(0, rows)


__all__ = [
    "GroupDROWeighting",
    "GroupWeighting",
    "PhiDivergenceWeighting",
    "sum_of_means",
]
