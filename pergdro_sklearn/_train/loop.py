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

from .._constants import (
    AUTO_BATCH_MAX,
    AUTO_BATCH_MIN,
    AUTO_BATCHES_PER_EPOCH,
    EARLY_STOPPING_LOSSES,
    PGD_STEP_MULTIPLIER,
    PREDICT_CHUNK_ROWS,
)
from .data import take_rows
from .groups import group_counts, group_sums
from .network import input_gradients_only
from .wasserstein import wasserstein_attack

logger = logging.getLogger("pergdro_sklearn")


class TrainingDivergedError(ValueError, FloatingPointError):
    """The training loss became NaN or infinite."""




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
    validation_group_losses: object = None
    group_metrics: object = None

    def keep(self, index):
        """The record of candidates ``index`` only (a new record)."""
        val, metrics = self.validation_group_losses, self.group_metrics
        return EpochRecord(self.epoch, self.loss[index], self.group_losses[index],
                           self.group_weights[index], None if val is None else val[index],
                           None if metrics is None else metrics[index])


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
        CPU generator for the epoch permutations (or the balanced draws).
    attack_generator : torch.Generator or None
        Generator on the data's device for random starts.
    epoch_callback : callable or None
        Called as ``epoch_callback(trainer, record)`` after each epoch; a true return
        value ends training after that epoch.
    row_scale : Tensor of shape (n,) or None
        Multiplies each row's loss (sample weights normalised within groups).
    balanced : bool
        Draw each batch's rows group by group with equal probability (with
        replacement) instead of a permutation; ``weighting`` must have been started
        with ``sampling`` equal to ``1/G``.
    alpha : float or Tensor of shape candidate_shape
        L2 penalty ``alpha / 2 * sum ||W||^2 / batch rows`` on ``penalized`` (its
        gradient is added after the backward pass, as ``MLPClassifier`` does); a
        tensor gives each candidate its own (the penalised parameters then have the
        candidates along their first dimension).
    penalized : list of Tensor
        The parameters of the penalty.
    monitor : ValidationMonitor or None
        Early stopping: asked after each epoch whether to stop.
    row_metric : callable or None
        ``row_metric(outputs, y)`` gives a value per row ``(..., n)`` from the
        outputs the model step already computed (e.g. 1.0 where the class is right);
        its mean per group over the epoch's rows is ``EpochRecord.group_metrics``
        (no extra pass over the data).
    """

    def __init__(self, module, loss, weighting, optimizer, batch_size, n_groups, *,
                 attack=None, candidate_shape=(), shuffle_generator=None,
                 attack_generator=None, epoch_callback=None, verbose=0, row_scale=None,
                 balanced=False, alpha=0.0, penalized=(), monitor=None, row_metric=None):
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
        self.row_scale = row_scale
        self.balanced = balanced
        self.alpha = alpha if torch.is_tensor(alpha) else float(alpha)
        self.penalized = list(penalized)
        self.monitor = monitor
        self.row_metric = row_metric
        self.first_batch_loss = None
        self.last_batch_metric = None
        self.epoch_group_metrics = None

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
        with input_gradients_only(self.module):
            return wasserstein_attack(
                self.forward, self.get_loss, X, y, group_index, cfg.radii, order=cfg.order,
                method=cfg.method, steps=cfg.steps, step_size=cfg.step_size,
                random_start=cfg.random_start, generator=self.attack_generator,
                check_input=False,
            )

    def add_penalty_gradient(self, n_rows):
        """Add the gradient of ``alpha / 2 * sum ||W||^2 / n_rows`` (``MLPClassifier``'s
        L2 term) to the penalised parameters' gradients, in one fused call."""
        if not self.penalized:
            return
        params = [p for p in self.penalized if p.grad is not None]
        if not params:
            return
        if torch.is_tensor(self.alpha):  # one alpha per candidate
            with torch.no_grad():
                scale = self.alpha.to(params[0].device, params[0].dtype) / n_rows
                torch._foreach_add_([p.grad for p in params], [
                    p * scale.reshape(scale.shape + (1,) * (p.dim() - scale.dim()))
                    for p in params])
            return
        if self.alpha == 0:
            return
        with torch.no_grad():
            torch._foreach_add_([p.grad for p in params], params, alpha=self.alpha / n_rows)

    def train_step(self, X, y, group_index, row_scale=None):
        """One model update on a batch; returns the batch's robust per-sample losses."""
        X_adv = self.perturb(X, y, group_index)
        self.optimizer.zero_grad(set_to_none=True)
        outputs = self.forward(X_adv)
        losses = self.get_loss(outputs, y)
        if self.row_metric is not None:
            with torch.no_grad():
                self.last_batch_metric = self.row_metric(outputs.detach(), y).float()
        if row_scale is not None:
            losses = losses * row_scale
        if self.first_batch_loss is None:
            self.first_batch_loss = losses.detach().mean(dim=-1).cpu().numpy().astype(float)
        objective = self.weighting.batch_objective(losses, group_index)
        objective.backward()
        self.add_penalty_gradient(X.shape[0])
        self.optimizer.step()
        return losses.detach()

    def batches(self, n, group_index):
        """Row indices of each minibatch of one epoch (on the CPU)."""
        if not self.balanced:
            perm = torch.randperm(n, generator=self.shuffle_generator)
        else:  # a group uniformly among those present, then a row of it uniformly
            index = group_index.cpu()
            counts = torch.bincount(index, minlength=self.n_groups)
            present = torch.nonzero(counts).reshape(-1)
            order = torch.argsort(index, stable=True)
            starts = torch.cumsum(counts, 0) - counts
            g = present[torch.randint(present.shape[0], (n,), generator=self.shuffle_generator)]
            u = torch.rand(n, generator=self.shuffle_generator, dtype=torch.float64)
            offset = torch.minimum((u * counts[g]).long(), counts[g] - 1)
            perm = order[starts[g] + offset]
        return [perm[start:start + self.batch_size] for start in range(0, n, self.batch_size)]

    def run_epoch(self, X, y, group_index):
        """One pass of ``n`` rows in minibatches (no copy of the data).

        Returns the epoch's mean loss per candidate (the per-group means weighted by
        the nominal weights) and the mean robust loss per group. With a
        ``row_metric``, its per-group means over the same rows are kept in
        ``self.epoch_group_metrics`` (else None).
        """
        n = X.shape[0]
        device = group_index.device
        tracked = self.row_metric is not None
        if self.balanced:  # rows drawn with replacement: accumulate per batch
            sums = torch.zeros(self.candidate_shape + (self.n_groups,), device=device)
            counts = torch.zeros(self.n_groups, device=device)
            metric_sums = torch.zeros_like(sums) if tracked else None
        else:  # each row once: one buffer, per-group means once at the end
            row_losses = torch.empty(self.candidate_shape + (n,), device=device)
            row_metrics = torch.empty_like(row_losses) if tracked else None
        for idx in self.batches(n, group_index):
            idx = idx.to(device)
            g = group_index[idx]
            scale = None if self.row_scale is None else self.row_scale[idx]
            losses = self.train_step(take_rows(X, idx, device), y[idx], g, scale)
            if self.balanced:
                sums += group_sums(losses, g, self.n_groups)
                counts += group_counts(g, self.n_groups, counts.dtype)
                if tracked:
                    metric_sums += group_sums(self.last_batch_metric, g, self.n_groups)
            else:
                row_losses[..., idx] = losses
                if tracked:
                    row_metrics[..., idx] = self.last_batch_metric
        if not self.balanced:
            sums = group_sums(row_losses, group_index, self.n_groups)
            counts = group_counts(group_index, self.n_groups, sums.dtype)
            if tracked:
                metric_sums = group_sums(row_metrics, group_index, self.n_groups)
        group_losses = (sums / counts.clamp(min=1)).cpu().numpy().astype(float)
        self.epoch_group_metrics = (
            (metric_sums / counts.clamp(min=1)).cpu().numpy().astype(float) if tracked else None)
        total = group_losses @ self.weighting.nominal
        return total, group_losses

    def keep(self, index):
        """Keep only candidates ``index`` (an int array of positions), dropping the rest.

        The module's parameters and buffers, the optimiser's per-candidate state,
        the inter-group weights, the radii and the monitor are cut down in place,
        so that :meth:`fit` continues the kept candidates as if alone.
        """
        index = np.asarray(index, dtype=np.int64)
        n_old = self.candidate_shape[0]
        keep_candidates(self.module, self.optimizer, index, n_old)
        self.candidate_shape = (index.shape[0],)
        self.weighting.keep(index)
        if torch.is_tensor(self.alpha):
            self.alpha = self.alpha.index_select(
                0, torch.as_tensor(index, device=self.alpha.device))
        if self.attack is not None:
            rows = torch.as_tensor(index, device=self.attack.radii.device)
            self.attack.radii = self.attack.radii.index_select(0, rows)
            if not self.attack.active():
                self.attack = None
        if self.first_batch_loss is not None:
            self.first_batch_loss = self.first_batch_loss[index]
        if self.monitor is not None:
            self.monitor.keep(index)

    def fit(self, X, y, group_index, n_epochs, start_epoch=0):
        """Train for ``n_epochs`` (fewer if the monitor stops it); returns the records."""
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
            record = EpochRecord(epoch + 1, total, group_losses, self.weighting.weights.copy(),
                                 group_metrics=self.epoch_group_metrics)
            stop = False
            if self.monitor is not None:
                self.module.eval()
                stop = self.monitor.update(self, record)
                self.module.train()
            history.append(record)
            logger.debug("epoch %d: loss %s, worst group loss %s", record.epoch,
                         np.round(total, 5), np.round(group_losses.max(axis=-1), 5))
            if self.epoch_callback is not None and self.epoch_callback(self, record):
                stop = True  # the callback asked to end training after this epoch
            if stop:
                break
        self.module.eval()
        return history


def adversarial_candidates(weighting, attack, candidate_shape):
    """Per candidate: does it train against an adversary, between groups (``rho > 0``,
    GroupDRO) or within them (a positive radius)? ERM does neither."""
    adversarial = np.broadcast_to(weighting.adversarial(), tuple(candidate_shape))
    if attack is not None:
        radii = attack.radii.detach().cpu().numpy().reshape(tuple(candidate_shape) + (-1,))
        adversarial = adversarial | (radii > 0).any(axis=-1)
    return adversarial


class ValidationMonitor:
    """Early stopping on a validation loss, candidate by candidate.

    After each epoch the clean loss of every group on the holdout is measured and
    reduced to one number per candidate: the worst group's (``loss="worst_group"``)
    or the mean over the holdout rows (``loss="average"``, each group weighted by
    its holdout rows); ``loss="auto"`` takes the worst group's where ``adversarial``
    (of ``candidate_shape``: the candidate trains against an adversary, see
    :func:`adversarial_candidates`) is True and the average elsewhere. A candidate
    whose monitored loss has not improved by more than ``tol`` for more than
    ``n_iter_no_change`` epochs stops (its later epochs are discarded), and the
    parameters of its best epoch are kept. Training of a batch of candidates ends
    when every one of them has stopped.
    """

    def __init__(self, X, y, group_index, row_scale, n_groups, tol, n_iter_no_change,
                 candidate_shape=(), chunk_rows=PREDICT_CHUNK_ROWS, loss="worst_group",
                 adversarial=None):
        if loss not in EARLY_STOPPING_LOSSES:
            raise ValueError(f"loss must be one of {EARLY_STOPPING_LOSSES}, got {loss!r}.")
        self.X, self.y, self.group_index, self.row_scale = X, y, group_index, row_scale
        # per candidate: follow the worst group (True) or the average (False)
        worst = {"worst_group": True, "average": False}.get(loss)
        if worst is None:
            if adversarial is None:
                raise ValueError('loss="auto" needs each candidate\'s adversarial flag.')
            worst = adversarial
        self.follows_worst = np.broadcast_to(np.asarray(worst, dtype=bool),
                                             tuple(candidate_shape)).copy()
        rows = group_counts(group_index, n_groups, torch.float64).cpu().numpy()
        self._group_share = rows / max(rows.sum(), 1.0)
        self.n_groups = n_groups
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.chunk_rows = chunk_rows
        shape = tuple(candidate_shape)
        self.best_loss = np.full(shape, np.inf)
        self.best_epoch = np.zeros(shape, dtype=int)
        self.stop_epoch = np.zeros(shape, dtype=int)  # 0 while running
        self._no_improvement = np.zeros(shape, dtype=int)
        self._best_state = None

    def group_losses(self, trainer):
        """Clean mean loss per group on the holdout, ``candidate_shape + (G,)``."""
        device = self.group_index.device
        n = self.group_index.shape[0]
        sums = torch.zeros(trainer.candidate_shape + (self.n_groups,), device=device)
        counts = group_counts(self.group_index, self.n_groups, sums.dtype)
        with torch.no_grad():
            for start in range(0, n, self.chunk_rows):
                idx = torch.arange(start, min(start + self.chunk_rows, n), device=device)
                losses = trainer.get_loss(
                    trainer.forward(take_rows(self.X, idx, device)), self.y[idx])
                if self.row_scale is not None:
                    losses = losses * self.row_scale[idx]
                sums += group_sums(losses, self.group_index[idx], self.n_groups)
        return (sums / counts.clamp(min=1)).cpu().numpy().astype(float)

    def update(self, trainer, record):
        """Record the epoch's validation losses; returns whether training should stop."""
        losses = self.group_losses(trainer)
        record.validation_group_losses = losses
        worst = self.monitored(losses)
        running = self.stop_epoch == 0
        stalled = worst > self.best_loss - self.tol
        self._no_improvement = np.where(stalled, self._no_improvement + 1, 0)
        improved = running & (worst < self.best_loss)
        self.best_loss = np.where(improved, worst, self.best_loss)
        self.best_epoch = np.where(improved, record.epoch, self.best_epoch)
        if np.any(improved):
            self._snapshot(trainer.module, improved)
        done = running & (self._no_improvement > self.n_iter_no_change)
        self.stop_epoch = np.where(done, record.epoch, self.stop_epoch)
        return bool(np.all(self.stop_epoch > 0))

    def monitored(self, losses):
        """The monitored loss of each candidate from its ``(..., G)`` group losses."""
        return np.where(self.follows_worst, losses.max(axis=-1), losses @ self._group_share)

    def _snapshot(self, module, improved):
        state = module.state_dict()
        if self._best_state is None or improved.ndim == 0:
            self._best_state = {k: v.detach().clone() for k, v in state.items()}
            return
        mask = torch.as_tensor(improved)
        for key, value in state.items():
            m = mask.to(value.device).reshape(mask.shape + (1,) * (value.dim() - mask.dim()))
            self._best_state[key] = torch.where(m, value.detach(), self._best_state[key])

    def keep(self, index):
        """Keep only candidates ``index`` (see :meth:`Trainer.keep`)."""
        for name in ("best_loss", "best_epoch", "stop_epoch", "_no_improvement",
                     "follows_worst"):
            setattr(self, name, getattr(self, name)[index])
        if self._best_state is not None:
            rows = torch.as_tensor(index)
            self._best_state = {k: v.index_select(0, rows.to(v.device))
                                for k, v in self._best_state.items()}

    def restore_best(self, module):
        """Load each candidate's best parameters into ``module``."""
        if self._best_state is not None:
            module.load_state_dict(self._best_state)


def keep_candidates(module, optimizer, index, n_candidates):
    """Cut a batched module and its optimiser down to candidates ``index``, in place.

    Every parameter and buffer has the candidates along its first dimension
    (:class:`~_train.network.BatchedMLP`, :class:`~_train.network.StackedModule`); each is
    replaced by its rows ``index``, and so is every tensor of the optimiser's state
    with ``n_candidates`` rows (Adam's moments, SGD's momentum). The parameter
    objects stay the same, so the optimiser keeps working on them.
    """
    with torch.no_grad():
        for param in module.parameters():
            rows = torch.as_tensor(index, device=param.device)
            state = optimizer.state.get(param, {})
            for key, value in list(state.items()):
                if torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == n_candidates:
                    state[key] = value.index_select(0, rows).contiguous()
            param.data = param.data.index_select(0, rows).contiguous()
            param.grad = None
        for owner in module.modules():
            for name, buffer in list(owner._buffers.items()):
                if buffer is not None and buffer.dim() > 0 and buffer.shape[0] == n_candidates:
                    rows = torch.as_tensor(index, device=buffer.device)
                    owner._buffers[name] = buffer.index_select(0, rows).contiguous()


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
    """``"auto"``: ``n_samples / AUTO_BATCHES_PER_EPOCH`` rows, within
    ``[AUTO_BATCH_MIN, AUTO_BATCH_MAX]`` (the design's 128 up to 12,800 rows), and
    at most ``n_samples``."""
    if batch_size == "auto":
        size = min(max(AUTO_BATCH_MIN, n_samples // AUTO_BATCHES_PER_EPOCH), AUTO_BATCH_MAX)
        return min(size, n_samples)
    return max(1, min(int(batch_size), n_samples))


__all__ = [
    "AttackConfig",
    "Trainer",
    "TrainingDivergedError",
    "ValidationMonitor",
    "adversarial_candidates",
    "make_optimizer",
    "default_batch_size",
    "keep_candidates",
]
