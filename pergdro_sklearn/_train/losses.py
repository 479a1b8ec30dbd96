"""Per-sample losses, shape-polymorphic over leading candidate dimensions.

Every loss maps ``outputs`` of shape ``(..., n, k)`` and targets of shape
``(n,)`` (class indices) or ``(n, k)`` (regression) to per-sample losses of
shape ``(..., n)``. ``OUTPUT_LIPSCHITZ`` gives each loss's Lipschitz constant
in the network output (L2 norm), or ``None`` where it depends on the residual.
"""

import math

from torch.nn import functional as F


def cross_entropy(outputs, y):
    """Multi-class cross-entropy; ``y`` holds class indices."""
    lead = outputs.shape[:-1]
    if outputs.dim() > 2 and outputs.stride(-1) != 1:
        # classes laid out outermost (a batched network's narrow output layer): the
        # softmax over a non-last dimension runs vectorised over the rows, 3x faster
        # than over a last dimension of two classes
        log_p = F.log_softmax(outputs.transpose(-1, -2), dim=-2)
        index = y.expand(lead).unsqueeze(-2)
        return -log_p.gather(-2, index).squeeze(-2)
    flat = outputs.reshape(-1, outputs.shape[-1])
    return F.cross_entropy(flat, y.expand(lead).reshape(-1), reduction="none").reshape(lead)


def squared_error(outputs, y):
    """Squared error averaged over outputs."""
    return (outputs - y).square().mean(dim=-1)


def absolute_error(outputs, y):
    """Absolute error averaged over outputs."""
    return (outputs - y).abs().mean(dim=-1)


def huber(outputs, y, delta=1.0):
    """Huber loss (quadratic within ``delta``, linear outside) averaged over outputs."""
    target = y.expand(outputs.shape)
    return F.huber_loss(outputs, target, reduction="none", delta=delta).mean(dim=-1)


def correct_class(outputs, y):
    """1.0 where the largest output is the row's class ``y``, else 0.0: ``(..., n)``."""
    return (outputs.argmax(dim=-1) == y).to(outputs.dtype)


LOSSES = {
    "cross_entropy": cross_entropy,
    "squared_error": squared_error,
    "absolute_error": absolute_error,
    "huber": huber,
}


def output_lipschitz(loss, n_outputs, huber_delta=1.0, residual_bound=None):
    """Lipschitz constant of ``loss`` in the network output (L2 norm).

    Cross-entropy: the gradient ``softmax - onehot`` has norm at most sqrt(2).
    Absolute error averaged over ``k`` outputs: ``1/sqrt(k)``; Huber: ``delta/sqrt(k)``.
    Squared error is only locally Lipschitz: ``2 * residual_bound / sqrt(k)`` where
    ``residual_bound`` bounds ``|f(x) - y|`` over the region the adversary reaches.
    """
    k = max(int(n_outputs), 1)
    if loss == "cross_entropy":
        return math.sqrt(2.0)
    if loss == "absolute_error":
        return 1.0 / math.sqrt(k)
    if loss == "huber":
        return huber_delta / math.sqrt(k)
    if loss == "squared_error":
        if residual_bound is None:
            raise ValueError("squared_error needs a residual bound for its Lipschitz constant.")
        return 2.0 * residual_bound / math.sqrt(k)
    raise ValueError(f"Unknown loss {loss!r}; valid: {sorted(LOSSES)}.")
