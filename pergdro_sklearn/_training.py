"""Algorithm 1: the one training loop that ERM, GroupDRO and Per-GDRO share.

The loop knows nothing about scikit-learn. It trains a module mapping
``(..., n, d)`` to ``(..., n, k)``; the leading dimensions (none for a single
model, ``(C,)`` for ``C`` candidates trained at once) flow through the losses,
the within-group attack and the inter-group weights unchanged. ERM, GroupDRO
and Per-GDRO differ only in their :class:`GroupWeighting` strategy and in
whether an :class:`AttackConfig` is given.
"""

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ._constants import PGD_STEP_MULTIPLIER
from ._wasserstein import wasserstein_attack
from .divergences import worst_case_weights

logger = logging.getLogger("pergdro_sklearn")


class TrainingDivergedError(ValueError, FloatingPointError):
    """The training loss became NaN or infinite."""


def group_sums(values, group_index, n_groups):
    """Sum ``values`` of shape ``(..., n)`` per group: ``(..., n_groups)``."""
    out = values.new_zeros(values.shape[:-1] + (n_groups,))
    return out.index_add_(-1, group_index, values)


def sum_of_means(losses):
    """Each candidate's mean over rows, summed over candidates (one op for one model)."""
    return losses.mean() if losses.dim() == 1 else losses.mean(dim=-1).sum()


def group_counts(group_index, n_groups, dtype):
    """Rows per group as a float tensor of shape ``(n_groups,)``."""
    ones = torch.ones_like(group_index, dtype=dtype)
    return ones.new_zeros(n_groups).index_add_(0, group_index, ones)


# --------------------------------------------------------------------------
# Inter-group strategies
# --------------------------------------------------------------------------
class GroupWeighting:
    """Base strategy: nominal weights, plain average loss (ERM).

    ``weights`` is a numpy array of shape ``(..., G)``; subclasses change how the
    batch objective uses it and how it moves during training.
    """

    def start(self, nominal, batch_shape=()):
        """Reset the weights to ``nominal`` broadcast to ``batch_shape + (G,)``."""
        self.nominal = np.asarray(nominal, dtype=float)
        self.weights = np.broadcast_to(self.nominal, tuple(batch_shape) + self.nominal.shape).copy()

    def set_weights(self, weights):
        """Continue from given weights (warm start)."""
        self.weights = np.array(weights, dtype=float)

    def batch_objective(self, losses, group_index):
        """Scalar to minimise for a batch; candidates are summed (independent grads)."""
        return sum_of_means(losses)

    def after_epoch(self, group_losses):
        """Hook called with the epoch's mean robust loss per group ``(..., G)``."""


class PhiDivergenceWeighting(GroupWeighting):
    """Per-GDRO's inter-group adversary (Algorithm 1, lines 10-12).

    The model step minimises the importance-weighted batch mean of
    ``(p_g / p_hat_g) * loss_i``, unbiased for ``sum_g p_g E_{q_g}[loss]`` whatever
    the batch's composition. ``p`` moves toward the exact best response
    ``p*`` in the phi-divergence ball of radius ``rho``: once per epoch from the
    per-group losses accumulated during it, or after every batch.
    """

    def __init__(self, rho, divergence, step_size, update="epoch"):
        self.rho = rho
        self.divergence = divergence
        self.step_size = step_size
        self.update = update

    def start(self, nominal, batch_shape=()):
        super().start(nominal, batch_shape)
        self._rho = np.broadcast_to(np.asarray(self.rho, dtype=float), tuple(batch_shape))
        self._last = None
        self._ratio = None
        self._at_nominal = True

    def set_weights(self, weights):
        super().set_weights(weights)
        self._ratio = None
        self._at_nominal = bool(np.all(self.weights == self.nominal))

    def _ratio_tensor(self, like):
        if self._ratio is None:
            ratio = self.weights / self.nominal
            self._ratio = torch.as_tensor(ratio, dtype=like.dtype, device=like.device)
        return self._ratio

    def batch_objective(self, losses, group_index):
        if self._at_nominal:
            objective = sum_of_means(losses)  # nominal weights: the plain mean
        else:
            ratio = self._ratio_tensor(losses)[..., group_index]
            objective = sum_of_means(ratio * losses)
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

    def _move(self, group_losses):
        flat_losses = group_losses.reshape(-1, group_losses.shape[-1])
        flat_weights = self.weights.reshape(flat_losses.shape)
        for c, (losses_c, rho_c) in enumerate(zip(flat_losses, self._rho.reshape(-1))):
            if rho_c == 0 or self.step_size == 0:
                continue
            best = worst_case_weights(losses_c, self.nominal, float(rho_c), self.divergence)
            flat_weights[c] = (1.0 - self.step_size) * flat_weights[c] + self.step_size * best
        self.weights = flat_weights.reshape(self.weights.shape)
        self._ratio = None
        self._at_nominal = bool(np.all(self.weights == self.nominal))


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

    def start(self, nominal, batch_shape=()):
        super().start(nominal, batch_shape)
        n_groups = self.nominal.shape[0]
        self.weights = np.full(tuple(batch_shape) + (n_groups,), 1.0 / n_groups)
        self._log_q = None
        self._q = None

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
            self._log_q = torch.log_softmax(
                self._log_q + self.step_size * (batch_means.detach() + self._adjust), dim=-1)
            self._q = torch.exp(self._log_q)
        return (batch_means * self._q).sum()

    def after_epoch(self, group_losses):
        if self._q is not None:
            self.weights = self._q.cpu().numpy().astype(float)


# --------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------
@dataclass
class AttackConfig:
    """The within-group adversary: radii ``(..., G)`` and how to search the ball."""

    radii: torch.Tensor
    order: object = 2
    method: str = "pgd"
    steps: int = 5
    step_size: float = PGD_STEP_MULTIPLIER
    random_start: bool = False

    def active(self):
        return bool(torch.any(self.radii > 0)) and (self.steps > 0 or self.method == "fgsm")


@dataclass
class EpochRecord:
    """What one epoch leaves behind."""

    epoch: int
    loss: np.ndarray
    group_losses: np.ndarray
    group_weights: np.ndarray


class Trainer:
    """Minibatch training against the two adversaries (Algorithm 1).

    Small overridable steps in the spirit of skorch: :meth:`forward`,
    :meth:`get_loss`, :meth:`perturb`, :meth:`train_step`, :meth:`run_epoch`.

    Parameters
    ----------
    module : torch.nn.Module
        Maps ``(..., n, d)`` to ``(..., n, k)``.
    loss : callable
        ``loss(outputs, y)`` giving per-sample losses ``(..., n)``.
    weighting : GroupWeighting
        The inter-group strategy; ``weighting.start`` must have been called.
    optimizer : torch.optim.Optimizer
    batch_size : int
    n_groups : int
    attack : AttackConfig or None
        The within-group adversary; ``None`` trains on clean rows.
    candidate_shape : tuple
        Leading dimensions of the module's inputs (``()`` for one model).
    shuffle_generator : torch.Generator
        CPU generator for the epoch permutations.
    attack_generator : torch.Generator or None
        Generator on the data's device for random starts.
    epoch_callback : callable or None
        Called as ``epoch_callback(trainer, record)`` after each epoch.
    """

    def __init__(self, module, loss, weighting, optimizer, batch_size, n_groups, *,
                 attack=None, candidate_shape=(), shuffle_generator=None,
                 attack_generator=None, epoch_callback=None, verbose=0):
        self.module = module
        self.loss = loss
        self.weighting = weighting
        self.optimizer = optimizer
        self.batch_size = batch_size
        self.n_groups = n_groups
        self.attack = attack if attack is not None and attack.active() else None
        self.candidate_shape = tuple(candidate_shape)
        self.shuffle_generator = shuffle_generator
        self.attack_generator = attack_generator
        self.epoch_callback = epoch_callback
        self.verbose = verbose

    def forward(self, X):
        """Run the module, broadcasting ``(n, d)`` rows over the candidates."""
        if self.candidate_shape and X.dim() == 2:
            X = X.expand(self.candidate_shape + X.shape)
        return self.module(X)

    def get_loss(self, outputs, y):
        """Per-sample losses ``(..., n)``."""
        return self.loss(outputs, y)

    def perturb(self, X, y, group_index):
        """Worst-case feature shift within each group's Wasserstein budget."""
        if self.attack is None:
            return X
        if self.candidate_shape:
            X = X.expand(self.candidate_shape + X.shape)
        cfg = self.attack
        return wasserstein_attack(
            self.forward, self.get_loss, X, y, group_index, cfg.radii, order=cfg.order,
            method=cfg.method, steps=cfg.steps, step_size=cfg.step_size,
            random_start=cfg.random_start, generator=self.attack_generator,
            check_input=False,
        )

    def train_step(self, X, y, group_index):
        """One model update on a batch; returns the batch's robust per-sample losses."""
        X_adv = self.perturb(X, y, group_index)
        self.optimizer.zero_grad(set_to_none=True)
        losses = self.get_loss(self.forward(X_adv), y)
        objective = self.weighting.batch_objective(losses, group_index)
        objective.backward()
        self.optimizer.step()
        return losses.detach()

    def run_epoch(self, X, y, group_index):
        """One pass over the data in shuffled minibatches (no copy of the data).

        Each batch's robust per-row losses go into one buffer; the per-group means
        are computed once at the end of the epoch.
        """
        n = X.shape[0]
        perm = torch.randperm(n, generator=self.shuffle_generator).to(X.device)
        row_losses = X.new_empty(self.candidate_shape + (n,))
        for start in range(0, n, self.batch_size):
            idx = perm[start:start + self.batch_size]
            row_losses[..., idx] = self.train_step(X[idx], y[idx], group_index[idx])
        sums = group_sums(row_losses, group_index, self.n_groups)
        counts = group_counts(group_index, self.n_groups, X.dtype)
        group_losses = (sums / counts.clamp(min=1)).cpu().numpy().astype(float)
        total = (sums.sum(dim=-1) / n).cpu().numpy().astype(float)
        return total, group_losses

    def fit(self, X, y, group_index, n_epochs, start_epoch=0):
        """Train for ``n_epochs``; returns the list of :class:`EpochRecord`."""
        history = []
        self.module.train()
        for epoch in range(start_epoch, start_epoch + n_epochs):
            total, group_losses = self.run_epoch(X, y, group_index)
            if not np.all(np.isfinite(group_losses)):
                raise TrainingDivergedError(
                    f"The training loss became non-finite in epoch {epoch + 1}; lower "
                    "learning_rate_init, standardise the features or shrink the radii."
                )
            self.weighting.after_epoch(group_losses)
            record = EpochRecord(epoch + 1, total, group_losses, self.weighting.weights.copy())
            history.append(record)
            if self.verbose:
                logger.info("epoch %d: loss %s, worst group loss %s", record.epoch,
                            np.round(total, 5), np.round(group_losses.max(axis=-1), 5))
            if self.epoch_callback is not None:
                self.epoch_callback(self, record)
        self.module.eval()
        return history


def make_optimizer(solver, params, learning_rate, weight_decay, momentum=0.9):
    """``"adam"`` or ``"sgd"`` (with momentum) over ``params``.

    The fused implementations update all tensors in one kernel: at the paper's
    sizes the per-tensor Python loop of the default implementation costs about
    as much as the backward pass.
    """
    params = list(params)
    if solver == "adam":
        try:
            return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay,
                                    fused=True)
        except (RuntimeError, TypeError):  # pragma: no cover - older torch or devices
            return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)
    if solver == "sgd":
        try:
            return torch.optim.SGD(params, lr=learning_rate, momentum=momentum,
                                   weight_decay=weight_decay, fused=True)
        except (RuntimeError, TypeError):  # pragma: no cover
            return torch.optim.SGD(params, lr=learning_rate, momentum=momentum,
                                   weight_decay=weight_decay)
    raise ValueError(f"Unknown solver {solver!r}; valid: ['adam', 'sgd'].")


def default_batch_size(batch_size, n_samples):
    """``"auto"`` means ``min(128, n_samples)`` (the design's batch size)."""
    if batch_size == "auto":
        return min(128, n_samples)
    return max(1, min(int(batch_size), n_samples))


__all__ = [
    "AttackConfig",
    "GroupDROWeighting",
    "GroupWeighting",
    "PhiDivergenceWeighting",
    "Trainer",
    "TrainingDivergedError",
    "make_optimizer",
    "default_batch_size",
]
