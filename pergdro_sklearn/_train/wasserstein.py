"""Within-group adversary: attacks and exact projections onto per-group Wasserstein budgets.

Only the features move, the labels stay fixed, and the ground norm is the Euclidean (L2) norm of
the feature displacement. Row ``i`` belongs to group ``g(i)``, and group ``g`` has its own radius
``eps_g``. Counting with ``n_g``, the number of rows of group ``g`` in the current tensor (the
minibatch during training, the whole group at evaluation), the supported budgets are:

``order="inf"``
    every row moves at most ``eps_g``: ``||delta_i|| <= eps_g(i)`` (a per-sample ball).
``order=2``
    the rows of a group share a budget: ``(1/n_g) sum_{i in g} ||delta_i||^2 <= eps_g^2``.
``order=1``
    ``(1/n_g) sum_{i in g} ||delta_i|| <= eps_g``.

Moving each empirical point by ``delta_i`` gives a distribution within Wasserstein distance
``eps_g`` of the group's empirical distribution (for the matching order ``p``), which is how the
paper's per-group balls ``Q_g(eps_g)`` (Definition 2, Algorithm 1 line 7) are attacked here.

Every function accepts leading batch dimensions: perturbations of shape ``(..., n, d)`` with radii
of shape ``(..., G)`` (broadcast against the leading dimensions), so that several candidate models
can be attacked at once, each independently. Group sums are vectorised with ``index_add_`` and
scatter operations; there is no Python loop over groups or rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from .._constants import (
    ATTACKS,
    DEFAULT_ATTACK_STEPS,
    FGSM_STEP_MULTIPLIER,
    PGD_STEP_MULTIPLIER,
)
from .._orders import check_order
from .groups import group_sums

__all__ = [
    "check_order",
    "default_step_multiplier",
    "project_perturbations",
    "sample_in_budget",
    "wasserstein_attack",
]


# ----------------------------------------------------------------------------------------------
# Validation helpers
# ----------------------------------------------------------------------------------------------


def default_step_multiplier(method):
    """The step multiplier ``m`` of an attack method: 2.5 for PGD, 1.25 for FGSM.

    Examples
    --------
    >>> default_step_multiplier("pgd"), default_step_multiplier("fgsm")
    (2.5, 1.25)
    """
    if method not in ATTACKS:
        raise ValueError(f"method must be one of {ATTACKS}; got {method!r}.")
    return PGD_STEP_MULTIPLIER if method == "pgd" else FGSM_STEP_MULTIPLIER


def _check_group_index(group_index, n_rows, n_groups, device):
    """Validate the group index and return it as a LongTensor on ``device``."""
    group_index = torch.as_tensor(group_index, device=device)
    if group_index.ndim != 1 or group_index.shape[0] != n_rows:
        raise ValueError(
            f"group_index must have shape ({n_rows},) to match the rows; "
            f"got {tuple(group_index.shape)}."
        )
    if (
        group_index.dtype.is_floating_point
        or group_index.dtype.is_complex
        or (group_index.dtype == torch.bool)
    ):
        raise ValueError(f"group_index must hold integers; got dtype {group_index.dtype}.")
    group_index = group_index.long()
    if n_rows and (int(group_index.min()) < 0 or int(group_index.max()) >= n_groups):
        raise ValueError(f"group_index values must lie in [0, {n_groups}) (one radius per group).")
    return group_index


def _check_radii(radii, lead_shape, dtype, device):
    """Validate the radii and expand them to ``lead_shape + (G,)``."""
    radii = torch.as_tensor(radii, dtype=dtype, device=device)
    if radii.ndim < 1:
        raise ValueError("radii must have shape (..., G) with one radius per group; got a scalar.")
    lead_shape = torch.Size(lead_shape)
    try:
        broadcast = torch.broadcast_shapes(radii.shape[:-1], lead_shape)
    except RuntimeError:
        broadcast = None
    if broadcast != lead_shape:
        raise ValueError(
            f"radii of shape {tuple(radii.shape)} do not broadcast against the leading "
            f"dimensions {tuple(lead_shape)} of the perturbations."
        )
    if not bool(torch.isfinite(radii).all()):
        raise ValueError("radii must be finite.")
    if bool((radii < 0).any()):
        raise ValueError("radii must be nonnegative.")
    return radii.expand(*lead_shape, radii.shape[-1])


class _GroupLayout(NamedTuple):
    """Precomputed group bookkeeping for a fixed ``group_index``."""

    group_index: torch.Tensor  # (n,) long
    n_groups: int
    counts: torch.Tensor  # (G,) rows per group, floating dtype
    slot: torch.Tensor  # (n,) long: g(i) * width + position of i within its group
    width: int  # largest group size (at least 1)


def _group_layout(group_index, n_groups, dtype, order=1):
    """Compute the group sizes and, for order 1, each row's slot in a ``(G, width)`` layout.

    Only the W1 projection sorts within groups, so the slots (a sort and a few
    scatters) are skipped for the other orders.
    """
    n_rows = group_index.shape[0]
    device = group_index.device
    counts_long = torch.bincount(group_index, minlength=n_groups)
    if order != 1:
        return _GroupLayout(group_index, n_groups, counts_long.to(dtype), None, 1)
    width = max(int(counts_long.max()) if n_rows else 0, 1)
    order_ = torch.sort(group_index, stable=True).indices
    starts = torch.cumsum(counts_long, 0) - counts_long
    sorted_groups = group_index[order_]
    position_sorted = torch.arange(n_rows, device=device) - starts[sorted_groups]
    position = torch.empty_like(position_sorted)
    position[order_] = position_sorted
    slot = group_index * width + position
    return _GroupLayout(group_index, n_groups, counts_long.to(dtype), slot, width)


def _segment_sum(values, layout):
    """Sum ``values`` of shape ``(..., n)`` over the rows of each group: ``(..., G)``."""
    return group_sums(values, layout.group_index, layout.n_groups)


def _rows(per_group, layout):
    """Gather a per-group tensor ``(..., G)`` to a per-row tensor ``(..., n)``."""
    return per_group[..., layout.group_index]


def _safe(denominator):
    """Replace zeros of a nonnegative denominator by ones (the numerator is then zero)."""
    return torch.where(denominator > 0, denominator, torch.ones_like(denominator))


# ----------------------------------------------------------------------------------------------
# Projections
# ----------------------------------------------------------------------------------------------


def _l1_ball_threshold(norms, budgets, layout):
    """Soft threshold projecting each group's row norms onto its nonnegative l1 ball.

    The norms are scattered into a zero-padded ``(..., G, width)`` array, sorted in decreasing
    order within each group (one vectorised sort), and the threshold is
    ``tau_g = max(0, max_k (sum_{j <= k} s_j - R_g) / k)``: the maximum of this sequence is
    attained at the Duchi et al. index ``rho``. Padding zeros never raise a nonnegative maximum.

    Parameters
    ----------
    norms : Tensor of shape (..., n)
        Nonnegative row norms.
    budgets : Tensor of shape (..., G)
        The l1 radius ``R_g = n_g * eps_g`` of every group.
    layout : _GroupLayout
        Group bookkeeping.

    Returns
    -------
    tau : Tensor of shape (..., G)
        Nonnegative thresholds; zero where the group is already inside its ball.
    """
    lead = norms.shape[:-1]
    padded = norms.new_zeros(*lead, layout.n_groups * layout.width)
    padded.index_copy_(-1, layout.slot, norms)
    padded = padded.view(*lead, layout.n_groups, layout.width)
    ordered = torch.sort(padded, dim=-1, descending=True).values
    cumulative = torch.cumsum(ordered, dim=-1)
    ranks = torch.arange(1, layout.width + 1, dtype=norms.dtype, device=norms.device)
    candidates = (cumulative - budgets.unsqueeze(-1)) / ranks
    return candidates.amax(dim=-1).clamp_min(0)


def _wide(dtype, device):
    """The type the projection's norms and scales are computed in: float64 (the squares
    of float32 perturbations of any finite size fit in it), where the device has it."""
    if dtype == torch.float64 or device.type == "mps":
        return dtype
    return torch.float64


def _project(delta, radii, order, layout):
    """Project ``delta`` (..., n, d) onto the budget; ``radii`` already expanded to (..., G).

    Norms, budgets and scales are computed in a wider type (:func:`_wide`): in float32 the
    norm of a perturbation of size 1e19 or more overflows to inf, its scale would be 0 and
    the attack would vanish. Only the scale (in [0, 1]) is cast back.
    """
    wide = _wide(delta.dtype, delta.device)
    norms = torch.linalg.vector_norm(delta, dim=-1, dtype=wide)
    radii = radii.to(wide)
    counts = layout.counts.to(wide)
    if order == "inf":
        row_radii = _rows(radii, layout)
        scale = torch.where(norms > row_radii, row_radii / _safe(norms), torch.ones_like(norms))
    elif order == 2:
        frobenius = torch.sqrt(_segment_sum(norms * norms, layout))
        budget = radii * torch.sqrt(counts)
        group_scale = torch.where(
            frobenius > budget, budget / _safe(frobenius), torch.ones_like(frobenius)
        )
        scale = _rows(group_scale, layout)
    else:
        tau = _l1_ball_threshold(norms, radii * counts, layout)
        new_norms = (norms - _rows(tau, layout)).clamp_min(0)
        scale = new_norms / _safe(norms)
    return delta * scale.to(delta.dtype).unsqueeze(-1)


def project_perturbations(delta, group_index, radii, order):
    """Euclidean projection of feature perturbations onto per-group Wasserstein budgets.

    Returns the point of the budget set nearest to ``delta`` in Frobenius norm. For
    ``order="inf"`` every row ``i`` is scaled by ``min(1, eps_g / ||delta_i||)``; for ``order=2``
    the rows of group ``g`` are scaled together by ``min(1, eps_g sqrt(n_g) / ||delta_g||_F)``;
    for ``order=1`` the vector of the group's row norms is projected onto the nonnegative l1 ball
    of radius ``n_g eps_g`` (a soft threshold found by sorting) and each row is rescaled to its new
    norm, its direction unchanged.

    Parameters
    ----------
    delta : Tensor of shape (..., n, d)
        Perturbations of the ``n`` rows; leading dimensions index independent problems (e.g.
        candidate models attacked at once).
    group_index : LongTensor of shape (n,)
        Group of every row, with values in ``[0, G)``. Groups without rows are allowed.
    radii : Tensor or array-like of shape (..., G)
        Nonnegative finite radius of every group, broadcast against the leading dimensions of
        ``delta`` (a plain ``(G,)`` vector serves every leading index). A zero radius sends the
        group's rows exactly to zero.
    order : {1, 2, "inf"}
        Budget type (see the module docstring); ``float("inf")`` means ``"inf"``.

    Returns
    -------
    projected : Tensor of shape (..., n, d)
        The projection, same dtype and device as ``delta``.

    Raises
    ------
    ValueError
        For an unknown order, negative or non-finite radii, or inconsistent shapes.

    Examples
    --------
    >>> import torch
    >>> delta = torch.tensor([[3.0, 4.0], [0.0, 1.0], [6.0, 8.0]])
    >>> groups = torch.tensor([0, 0, 1])
    >>> project_perturbations(delta, groups, torch.tensor([1.0, 5.0]), "inf")
    tensor([[0.6000, 0.8000],
            [0.0000, 1.0000],
            [3.0000, 4.0000]])
    >>> project_perturbations(delta, groups, torch.tensor([1.0, 0.0]), 1)
    tensor([[1.2000, 1.6000],
            [0.0000, 0.0000],
            [0.0000, 0.0000]])
    """
    order = check_order(order)
    if not isinstance(delta, torch.Tensor) or delta.ndim < 2:
        raise ValueError("delta must be a tensor of shape (..., n, d).")
    if not delta.dtype.is_floating_point:
        raise ValueError(f"delta must have a floating dtype; got {delta.dtype}.")
    radii = _check_radii(radii, delta.shape[:-2], delta.dtype, delta.device)
    group_index = _check_group_index(group_index, delta.shape[-2], radii.shape[-1], delta.device)
    layout = _group_layout(group_index, radii.shape[-1], delta.dtype, order)
    return _project(delta, radii, order, layout)


# ----------------------------------------------------------------------------------------------
# Random start
# ----------------------------------------------------------------------------------------------


def _uniform_open_left(shape, generator, device, dtype):
    """Uniform draws on ``(0, 1]`` (safe under ``log``)."""
    return 1.0 - torch.rand(shape, generator=generator, device=device, dtype=dtype)


def _sample(lead, n_rows, n_features, radii, order, layout, generator):
    """Draw uniformly from the budget set (radii already expanded to ``lead + (G,)``)."""
    device, dtype = radii.device, radii.dtype
    shape = (*lead, n_rows, n_features)
    gaussian = torch.randn(shape, generator=generator, device=device, dtype=dtype)
    if n_rows == 0 or n_features == 0:
        return gaussian
    row_norms = torch.linalg.vector_norm(gaussian, dim=-1)
    if order == "inf":
        # Uniform in a d-ball: uniform direction, radius eps * U^(1/d).
        u = _uniform_open_left((*lead, n_rows), generator, device, dtype)
        length = _rows(radii, layout) * u.pow(1.0 / n_features)
        scale = length / _safe(row_norms)
    elif order == 2:
        # Uniform in the group's (n_g d)-ball of Frobenius radius eps_g sqrt(n_g).
        u = _uniform_open_left((*lead, layout.n_groups), generator, device, dtype)
        dims = layout.counts.clamp_min(1) * n_features
        length = radii * torch.sqrt(layout.counts) * u.pow(1.0 / dims)
        frobenius = torch.sqrt(_segment_sum(row_norms * row_norms, layout))
        scale = _rows(length / _safe(frobenius), layout)
    else:
        # Uniform in {sum_i ||d_i|| <= R}: row norms are R times the first n_g coordinates of a
        # Dirichlet(d, ..., d, 1) vector (Gamma(d) = sum of d unit exponentials).
        exponentials = -torch.log(_uniform_open_left(shape, generator, device, dtype))
        gammas = exponentials.sum(dim=-1)
        slack = -torch.log(_uniform_open_left((*lead, layout.n_groups), generator, device, dtype))
        totals = _segment_sum(gammas, layout) + slack
        length = _rows(radii * layout.counts / totals, layout) * gammas
        scale = length / _safe(row_norms)
    return gaussian * scale.unsqueeze(-1)


def sample_in_budget(shape, group_index, radii, order, generator=None, device=None, dtype=None):
    """Draw perturbations uniformly from the per-group Wasserstein budget.

    Used as the random start of the attacks. For ``order="inf"`` each row is uniform in its
    L2 ball of radius ``eps_g``; for ``order=2`` each group's block is uniform in the
    ``(n_g d)``-dimensional ball of Frobenius radius ``eps_g sqrt(n_g)``; for ``order=1`` each
    group's block is uniform in ``{D : sum_i ||d_i|| <= n_g eps_g}``.

    Parameters
    ----------
    shape : tuple of int
        Output shape ``(..., n, d)``.
    group_index : LongTensor of shape (n,)
        Group of every row, values in ``[0, G)``.
    radii : Tensor or array-like of shape (..., G)
        Nonnegative finite radii, broadcast against the leading dimensions of ``shape``.
    order : {1, 2, "inf"}
        Budget type; ``float("inf")`` means ``"inf"``.
    generator : torch.Generator, optional
        Source of randomness (must live on ``device``); the global generator when None.
    device : torch.device or str, optional
        Device of the output; that of ``radii`` (when a tensor) by default, else the CPU.
    dtype : torch.dtype, optional
        Floating dtype of the output; that of ``radii`` when floating, else torch's default.

    Returns
    -------
    delta : Tensor of shape ``shape``
        A feasible random perturbation; rows of zero-radius groups are exactly zero.

    Raises
    ------
    ValueError
        For an unknown order, negative or non-finite radii, or inconsistent shapes.

    Examples
    --------
    >>> import torch
    >>> gen = torch.Generator().manual_seed(0)
    >>> delta = sample_in_budget((4, 3), torch.tensor([0, 0, 1, 1]), torch.tensor([0.5, 0.0]),
    ...                          "inf", generator=gen)
    >>> bool((delta.norm(dim=-1)[:2] <= 0.5).all()), bool((delta[2:] == 0).all())
    (True, True)
    """
    order = check_order(order)
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2 or any(s < 0 for s in shape):
        raise ValueError(f"shape must be (..., n, d) with nonnegative sizes; got {shape}.")
    if device is None:
        device = radii.device if isinstance(radii, torch.Tensor) else torch.device("cpu")
    if dtype is None:
        if isinstance(radii, torch.Tensor) and radii.dtype.is_floating_point:
            dtype = radii.dtype
        else:
            dtype = torch.get_default_dtype()
    if not dtype.is_floating_point:
        raise ValueError(f"dtype must be floating; got {dtype}.")
    radii = _check_radii(radii, shape[:-2], dtype, device)
    group_index = _check_group_index(group_index, shape[-2], radii.shape[-1], radii.device)
    layout = _group_layout(group_index, radii.shape[-1], dtype, order)
    return _sample(shape[:-2], shape[-2], shape[-1], radii, order, layout, generator)


# ----------------------------------------------------------------------------------------------
# Attacks
# ----------------------------------------------------------------------------------------------


def _ascent_direction(grad, order, layout):
    """Steepest-ascent direction suited to the budget (zero where the gradient is zero).

    ``"inf"``: every row's gradient normalised to unit norm (Madry-style L2 PGD). ``2`` and ``1``:
    the gradient divided by the group's root-mean-square row norm, so that a step ``alpha``
    moves the group's RMS displacement by exactly ``alpha``.
    """
    row_sq = (grad * grad).sum(dim=-1)
    if order == "inf":
        denominator = torch.sqrt(row_sq)
    else:
        mean_sq = _segment_sum(row_sq, layout) / layout.counts.clamp_min(1)
        denominator = _rows(torch.sqrt(mean_sq), layout)
    return grad / _safe(denominator).unsqueeze(-1)


def _loss_gradient(forward, loss, X, y, delta):
    """Gradient of the summed per-sample loss with respect to ``delta`` only."""
    delta = delta.detach().requires_grad_(True)
    with torch.enable_grad():
        per_sample = loss(forward(X + delta), y)
        if not isinstance(per_sample, torch.Tensor) or per_sample.shape != X.shape[:-1]:
            got = tuple(per_sample.shape) if isinstance(per_sample, torch.Tensor) else per_sample
            raise ValueError(
                f"loss must return per-sample losses of shape {tuple(X.shape[:-1])}; got {got}."
            )
        if not per_sample.requires_grad:
            return torch.zeros_like(delta)
        (grad,) = torch.autograd.grad(per_sample.sum(), delta, allow_unused=True)
    if grad is None:
        return torch.zeros_like(delta)
    return grad.detach()


def wasserstein_attack(
    forward,
    loss,
    X,
    y,
    group_index,
    radii,
    order=2,
    method="pgd",
    steps=DEFAULT_ATTACK_STEPS,
    step_size=None,
    random_start=False,
    generator=None,
    callback: Callable[[int, torch.Tensor], None] | None = None,
    check_input=True,
):
    """Worst-case feature shift of every group within its Wasserstein budget.

    Approximately maximises ``sum_i loss(forward(X + delta), y)_i`` over perturbations ``delta``
    in the per-group budget (see :func:`project_perturbations`), keeping labels fixed.

    ``method="pgd"``: ``steps`` of projected gradient ascent. The step of group ``g`` is
    ``alpha_g = m * eps_g / steps`` with ``m = step_size`` (default ``PGD_STEP_MULTIPLIER``,
    2.5). The direction suits the budget: for ``order="inf"`` every row's gradient is
    normalised to unit norm (Madry et al. L2 PGD); for ``order`` 2 and 1 the gradient of group
    ``g`` is divided by its root-mean-square row norm ``sqrt(mean_{i in g} ||grad_i||^2)``, so a
    step moves the group's RMS displacement by ``alpha_g``. Each step is followed by the exact
    projection. The start is zero, or uniform in the budget when ``random_start``.

    ``method="fgsm"``: fast adversarial training (Wong et al., 2020): a uniform random start in
    the budget, one step of ``m * eps_g`` with ``m = step_size`` (default
    ``FGSM_STEP_MULTIPLIER``, 1.25) along the same direction, then the projection. ``steps``
    and ``random_start`` are ignored.

    Gradients are taken with :func:`torch.autograd.grad` with respect to ``delta`` only, so model
    parameters accumulate no ``.grad`` and no graph survives the call. The model's train/eval
    mode is left alone (layers such as batch normalisation in train mode will see the attack's
    forward passes). Works under :func:`torch.no_grad` but not under ``torch.inference_mode``.

    Parameters
    ----------
    forward : callable
        ``forward(X_adv) -> outputs``, e.g. an ``nn.Module``; it must act on every leading index
        (candidate) independently for the candidates' attacks to be independent.
    loss : callable
        ``loss(outputs, y) -> per-sample losses`` of shape ``X.shape[:-1]``, i.e. ``(..., n)``.
    X : Tensor of shape (..., n, d)
        Clean features (floating dtype); leading dimensions index candidate models.
    y : object
        Targets, passed through to ``loss`` unchanged.
    group_index : LongTensor of shape (n,)
        Group of every row, values in ``[0, G)``.
    radii : Tensor or array-like of shape (..., G)
        Nonnegative finite per-group radii, broadcast against ``X``'s leading dimensions.
    order : {1, 2, "inf"}, default=2
        Budget type; ``float("inf")`` means ``"inf"``.
    method : {"pgd", "fgsm"}, default="pgd"
        Attack.
    steps : int, default=DEFAULT_ATTACK_STEPS
        Number of PGD steps (nonnegative).
    step_size : float, optional
        Multiplier ``m`` of the step (see above) overriding the default of the method.
    random_start : bool, default=False
        Start PGD from a uniform draw in the budget instead of zero.
    generator : torch.Generator, optional
        Generator (on ``X``'s device) for the random start; the global one when None.
    callback : callable, optional
        ``callback(step, delta)`` is called after every projected step with the current
        (detached) perturbation; for inspection, e.g. to check the budget holds at every step.
    check_input : bool, default=True
        Validate the arguments. The training loop, which validated them once and
        calls the attack on every minibatch, passes False: then ``order`` must be
        normalised, ``radii`` a non-negative tensor with at least one positive
        entry, and ``group_index`` a valid LongTensor on ``X``'s device.

    Returns
    -------
    X_adv : Tensor of shape (..., n, d)
        ``X + delta``, detached, same dtype and device as ``X``. Equal to ``X`` (without any
        call to ``forward``) when every radius is zero or, for PGD, when ``steps == 0``.

    Raises
    ------
    ValueError
        For an unknown order or method, negative or non-finite radii, a negative number of steps,
        a non-positive step size, or inconsistent shapes (including the loss's output).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Linear(2, 1)
    >>> X, y = torch.randn(6, 2), torch.randn(6)
    >>> groups = torch.tensor([0, 0, 0, 1, 1, 1])
    >>> def squared_error(out, target):
    ...     return (out.squeeze(-1) - target) ** 2
    >>> X_adv = wasserstein_attack(model, squared_error, X, y, groups, torch.tensor([0.5, 0.0]))
    >>> bool(squared_error(model(X_adv), y).sum() > squared_error(model(X), y).sum())
    True
    >>> bool(torch.equal(X_adv[3:], X[3:]))
    True
    """
    if not check_input:
        return _attack(forward, loss, X.detach(), y, group_index,
                       radii.expand(*X.shape[:-2], radii.shape[-1]), order, method, steps,
                       step_size, random_start, generator, callback)
    order = check_order(order)
    if method not in ATTACKS:
        raise ValueError(f"method must be one of {ATTACKS}; got {method!r}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a nonnegative integer; got {steps!r}.")
    if step_size is None:
        multiplier = default_step_multiplier(method)
    else:
        multiplier = float(step_size)
        if not (math.isfinite(multiplier) and multiplier > 0):
            raise ValueError(f"step_size must be a positive finite float; got {step_size!r}.")
    if not isinstance(X, torch.Tensor) or X.ndim < 2 or not X.dtype.is_floating_point:
        raise ValueError("X must be a floating tensor of shape (..., n, d).")
    X = X.detach()
    lead = X.shape[:-2]
    radii = _check_radii(radii, lead, X.dtype, X.device)
    group_index = _check_group_index(group_index, X.shape[-2], radii.shape[-1], X.device)
    if (method == "pgd" and steps == 0) or not bool((radii > 0).any()):
        return X.clone()
    return _attack(forward, loss, X, y, group_index, radii, order, method, steps, step_size,
                   random_start, generator, callback)


def _attack(forward, loss, X, y, group_index, radii, order, method, steps, step_size,
            random_start, generator, callback):
    """The attack itself, on validated arguments (see :func:`wasserstein_attack`)."""
    lead = X.shape[:-2]
    multiplier = default_step_multiplier(method) if step_size is None else float(step_size)
    layout = _group_layout(group_index, radii.shape[-1], X.dtype, order)
    n_rows, n_features = X.shape[-2], X.shape[-1]

    if method == "fgsm" or random_start:
        delta = _sample(lead, n_rows, n_features, radii, order, layout, generator)
    else:
        delta = torch.zeros_like(X)
    n_updates = 1 if method == "fgsm" else steps
    alpha = _rows(radii * (multiplier / n_updates), layout).unsqueeze(-1)

    for step in range(n_updates):
        grad = _loss_gradient(forward, loss, X, y, delta)
        with torch.no_grad():
            delta = _project(
                delta + alpha * _ascent_direction(grad, order, layout), radii, order, layout
            )
        if callback is not None:
            callback(step, delta)
    return (X + delta).detach()
