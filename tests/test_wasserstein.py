"""Tests of the within-group adversary (projections onto Wasserstein budgets and attacks)."""

import math

import cvxpy as cp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pergdro_sklearn._constants import PGD_STEP_MULTIPLIER
from pergdro_sklearn._train.wasserstein import (
    project_perturbations,
    sample_in_budget,
    wasserstein_attack,
)

torch.set_num_threads(1)

ORDERS = [1, 2, "inf"]


# ----------------------------------------------------------------------------------------------
# Reference projections
# ----------------------------------------------------------------------------------------------


def cvxpy_projection(delta0, groups, radii, order):
    """Projection by a conic solver: min ||D - D0||_F^2 s.t. the per-group budgets."""
    n, d = delta0.shape
    D = cp.Variable((n, d))
    constraints = []
    for g, eps in enumerate(radii):
        rows = np.flatnonzero(groups == g)
        if rows.size == 0:
            continue
        block = D[rows, :]
        if order == "inf":
            constraints.append(cp.norm(block, 2, axis=1) <= eps)
        elif order == 2:
            constraints.append(cp.norm(block, "fro") <= eps * math.sqrt(rows.size))
        else:
            constraints.append(cp.sum(cp.norm(block, 2, axis=1)) <= eps * rows.size)
    problem = cp.Problem(cp.Minimize(cp.sum_squares(D - delta0)), constraints)
    problem.solve(solver=cp.CLARABEL)
    return D.value


def closed_form_projection(delta0, groups, radii, order):
    """Row-by-row and group-by-group reference (loops, numpy); order 1 by bisection on tau."""
    out = delta0.copy()
    norms = np.linalg.norm(delta0, axis=1)
    for g, eps in enumerate(radii):
        rows = np.flatnonzero(groups == g)
        if rows.size == 0:
            continue
        if order == "inf":
            for i in rows:
                if norms[i] > eps:
                    out[i] = delta0[i] * eps / norms[i]
        elif order == 2:
            fro = np.sqrt(np.sum(norms[rows] ** 2))
            budget = eps * np.sqrt(rows.size)
            if fro > budget:
                out[rows] = delta0[rows] * budget / fro
        else:
            budget = eps * rows.size
            a = norms[rows]
            if a.sum() <= budget:
                continue
            lo, hi = 0.0, a.max()
            for _ in range(200):
                tau = 0.5 * (lo + hi)
                if np.maximum(a - tau, 0).sum() > budget:
                    lo = tau
                else:
                    hi = tau
            new = np.maximum(a - hi, 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(a > 0, new / a, 0.0)
            out[rows] = delta0[rows] * factor[:, None]
    return out


def budget_violation(delta, groups, radii, order):
    """Largest excess over the budget (<= 0 when feasible); numpy, one candidate."""
    norms = np.linalg.norm(delta, axis=1)
    worst = -np.inf
    for g, eps in enumerate(radii):
        rows = np.flatnonzero(groups == g)
        if rows.size == 0:
            continue
        if order == "inf":
            excess = norms[rows].max() - eps
        elif order == 2:
            excess = np.sqrt(np.mean(norms[rows] ** 2)) - eps
        else:
            excess = np.mean(norms[rows]) - eps
        worst = max(worst, excess)
    return worst


def random_instance(seed, n=14, d=3, n_groups=5):
    """Random perturbations with an empty group (3), a zero radius (group 1), mixed scales."""
    rng = np.random.default_rng(seed)
    groups = rng.choice([0, 1, 2, 4], size=n)
    groups[:4] = [0, 1, 2, 4]
    delta = rng.normal(size=(n, d)) * rng.choice([0.1, 1.0, 3.0], size=(n, 1))
    delta[5] = 0.0
    radii = rng.uniform(0.2, 2.0, size=n_groups)
    radii[1] = 0.0
    return delta, groups, radii


def project_np(delta, groups, radii, order):
    return project_perturbations(
        torch.tensor(delta), torch.tensor(groups), torch.tensor(radii), order
    ).numpy()


# ----------------------------------------------------------------------------------------------
# Projections
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("seed", range(4))
def test_projection_matches_cvxpy(order, seed):
    delta, groups, radii = random_instance(seed)
    expected = cvxpy_projection(delta, groups, radii, order)
    np.testing.assert_allclose(project_np(delta, groups, radii, order), expected, atol=1e-5)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("seed", range(20))
def test_projection_matches_closed_form(order, seed):
    rng = np.random.default_rng(100 + seed)
    n, d, n_groups = rng.integers(1, 30), rng.integers(1, 5), rng.integers(1, 6)
    groups = rng.integers(0, n_groups, size=n)
    delta = rng.normal(size=(n, d)) * rng.exponential(size=(n, 1))
    radii = rng.uniform(0, 1.5, size=n_groups) * (rng.random(n_groups) > 0.2)
    expected = closed_form_projection(delta, groups, radii, order)
    got = project_np(delta, groups, radii, order)
    np.testing.assert_allclose(got, expected, atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("order", ORDERS)
def test_projection_zero_radius_gives_exact_zeros_and_keeps_feasible_points(order):
    delta, groups, radii = random_instance(7)
    out = project_np(delta, groups, radii, order)
    assert np.all(out[groups == 1] == 0.0)
    inside = delta * 1e-3
    inside_out = project_np(inside, groups, np.where(radii > 0, radii, 1.0), order)
    np.testing.assert_array_equal(inside_out, inside)


def test_projection_order_one_ties_and_zero_rows():
    delta = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.6, 0.8]], dtype=torch.float64)
    out = project_perturbations(delta, torch.zeros(4, dtype=torch.long), torch.tensor([0.25]), 1)
    # Norms (1, 1, 0, 1) projected onto sum <= 1: each nonzero row shrinks to 1/3.
    np.testing.assert_allclose(out.norm(dim=-1).numpy(), [1 / 3, 1 / 3, 0, 1 / 3], atol=1e-12)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("order", ORDERS)
def test_projection_leading_dims_are_independent(order):
    gen = torch.Generator().manual_seed(3)
    delta = torch.randn(2, 3, 10, 4, generator=gen, dtype=torch.float64)
    groups = torch.tensor([0, 1, 1, 2, 2, 2, 0, 1, 2, 2])
    radii = torch.rand(3, 4, generator=gen, dtype=torch.float64)  # broadcast over dim 0
    out = project_perturbations(delta, groups, radii, order)
    for a in range(2):
        for c in range(3):
            single = project_perturbations(delta[a, c], groups, radii[c], order)
            torch.testing.assert_close(out[a, c], single, rtol=1e-12, atol=1e-12)
    # A plain (G,) vector serves every leading index.
    out_shared = project_perturbations(delta, groups, radii[0], order)
    torch.testing.assert_close(
        out_shared[1, 2], project_perturbations(delta[1, 2], groups, radii[0], order)
    )


def test_order_aliases():
    delta, groups, radii = random_instance(1)
    np.testing.assert_array_equal(
        project_np(delta, groups, radii, float("inf")), project_np(delta, groups, radii, "inf")
    )
    np.testing.assert_array_equal(
        project_np(delta, groups, radii, 2.0), project_np(delta, groups, radii, 2)
    )
    np.testing.assert_array_equal(
        project_np(delta, groups, radii, np.int64(1)), project_np(delta, groups, radii, 1)
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": 3}, "order"),
        ({"order": "l2"}, "order"),
        ({"order": True}, "order"),
        ({"radii": torch.tensor([1.0, -0.1])}, "nonnegative"),
        ({"radii": torch.tensor([1.0, float("nan")])}, "finite"),
        ({"radii": torch.tensor([1.0, float("inf")])}, "finite"),
        ({"radii": torch.tensor(1.0)}, "scalar"),
        ({"radii": torch.ones(3, 2)}, "broadcast"),
        ({"group_index": torch.tensor([0, 1, 2])}, r"\[0, 2\)"),
        ({"group_index": torch.tensor([0, 1])}, "shape"),
        ({"group_index": torch.tensor([0.0, 1.0, 1.0])}, "integers"),
        ({"delta": torch.ones(3)}, "shape"),
    ],
)
def test_projection_errors(kwargs, match):
    args = {
        "delta": torch.ones(3, 2),
        "group_index": torch.tensor([0, 1, 1]),
        "radii": torch.tensor([1.0, 0.5]),
        "order": 2,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        project_perturbations(**args)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n=st.integers(0, 12),
    d=st.integers(1, 4),
    n_groups=st.integers(1, 4),
    n_lead=st.integers(0, 2),
    order=st.sampled_from([1, 2, "inf"]),
    scale=st.sampled_from([1e-3, 1.0, 1e3]),
)
def test_projection_feasible_and_idempotent(seed, n, d, n_groups, n_lead, order, scale):
    gen = torch.Generator().manual_seed(seed)
    lead = (2,) * n_lead
    delta = torch.randn(*lead, n, d, generator=gen, dtype=torch.float64) * scale
    groups = torch.randint(0, n_groups, (n,), generator=gen)
    radii = torch.rand(*lead, n_groups, generator=gen, dtype=torch.float64)
    radii = radii * (torch.rand(n_groups, generator=gen, dtype=torch.float64) > 0.25)
    once = project_perturbations(delta, groups, radii, order)
    twice = project_perturbations(once, groups, radii, order)
    assert once.shape == delta.shape
    torch.testing.assert_close(twice, once, rtol=1e-10, atol=1e-12)
    n_blocks = math.prod(lead)
    flat_delta = once.reshape(n_blocks, n, d).numpy()
    flat_radii = radii.expand(*lead, n_groups).reshape(n_blocks, n_groups).numpy()
    for block, eps in zip(flat_delta, flat_radii):
        assert budget_violation(block, groups.numpy(), eps, order) <= 1e-10 * max(scale, 1)
        assert np.all(block[eps[groups.numpy()] == 0] == 0)


# ----------------------------------------------------------------------------------------------
# Random start
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_sample_in_budget_feasible_deterministic(order):
    groups = torch.tensor([0, 0, 1, 1, 1, 3, 3])
    radii = torch.tensor([[0.5, 1.0, 9.0, 0.0], [2.0, 0.0, 9.0, 0.3]], dtype=torch.float64)
    first = sample_in_budget((2, 7, 3), groups, radii, order, torch.Generator().manual_seed(5))
    again = sample_in_budget((2, 7, 3), groups, radii, order, torch.Generator().manual_seed(5))
    other = sample_in_budget((2, 7, 3), groups, radii, order, torch.Generator().manual_seed(6))
    assert first.dtype == torch.float64 and first.shape == (2, 7, 3)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, other)
    for c in range(2):
        assert budget_violation(first[c].numpy(), groups.numpy(), radii[c].numpy(), order) < 1e-12
    assert torch.all(first[0, 5:] == 0) and torch.all(first[1, 2:5] == 0)


def test_sample_in_budget_is_uniform_for_the_per_sample_ball():
    # Uniform in a 2-ball of radius 1: P(||d|| <= 1/2) = 1/4 and the mean norm is 2/3.
    groups = torch.zeros(20000, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)
    norms = sample_in_budget((20000, 2), groups, torch.tensor([1.0]), "inf", gen).norm(dim=-1)
    assert abs(float((norms <= 0.5).double().mean()) - 0.25) < 0.015
    assert abs(float(norms.mean()) - 2 / 3) < 0.01


def test_sample_in_budget_order_one_uses_the_budget():
    # Uniform in {sum of m row norms (each in R^d) <= R}: E[sum] = R * m d / (m d + 1).
    groups = torch.zeros(4, dtype=torch.long)
    gen = torch.Generator().manual_seed(1)
    draws = sample_in_budget((4000, 4, 2), groups, torch.tensor([0.5]), 1, gen)
    totals = draws.norm(dim=-1).sum(dim=-1)
    assert float(totals.max()) <= 2.0 + 1e-6
    assert abs(float(totals.mean()) - 2.0 * 8 / 9) < 0.02


# ----------------------------------------------------------------------------------------------
# Attacks
# ----------------------------------------------------------------------------------------------


def make_mlp(n_out, seed=0, d=2):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(d, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, n_out),
    ).double()


def cross_entropy(out, y):
    return torch.nn.functional.cross_entropy(
        out.reshape(-1, out.shape[-1]), y.reshape(-1), reduction="none"
    ).reshape(y.shape)


def squared_error(out, y):
    return (out.squeeze(-1) - y) ** 2


def classification_data(n=40, seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=gen, dtype=torch.float64)
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).long()
    groups = torch.arange(n) % 3
    return X, y, groups


ATTACK_CONFIGS = [
    {"method": "pgd", "random_start": False},
    {"method": "pgd", "random_start": True},
    {"method": "fgsm"},
]


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("config", ATTACK_CONFIGS)
def test_budget_holds_after_every_step(order, config):
    X, y, groups = classification_data()
    model = make_mlp(2)
    radii = torch.tensor([[0.4, 0.0, 1.5], [0.1, 0.7, 0.0]], dtype=torch.float64)
    X2 = X.expand(2, -1, -1)
    y2 = y.expand(2, -1)
    seen = []

    def check(step, delta):
        seen.append(step)
        assert not delta.requires_grad
        for c in range(2):
            excess = budget_violation(delta[c].numpy(), groups.numpy(), radii[c].numpy(), order)
            assert excess <= 1e-12

    gen = torch.Generator().manual_seed(0)
    X_adv = wasserstein_attack(
        model,
        cross_entropy,
        X2,
        y2,
        groups,
        radii,
        order=order,
        steps=4,
        generator=gen,
        callback=check,
        **config,
    )
    assert seen == ([0] if config["method"] == "fgsm" else [0, 1, 2, 3])
    for c in range(2):
        delta = (X_adv[c] - X).numpy()
        assert budget_violation(delta, groups.numpy(), radii[c].numpy(), order) <= 1e-12
        assert np.all(delta[radii[c].numpy()[groups.numpy()] == 0] == 0)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("method", ["pgd", "fgsm"])
def test_zero_radius_or_zero_steps_returns_input_without_forward(order, method):
    X, y, groups = classification_data()
    calls = []

    def forward(inputs):
        calls.append(1)
        return make_mlp(2)(inputs)

    out = wasserstein_attack(
        forward,
        cross_entropy,
        X,
        y,
        groups,
        torch.zeros(3),
        order=order,
        method=method,
        random_start=True,
    )
    torch.testing.assert_close(out, X, rtol=0, atol=0)
    if method == "pgd":
        out = wasserstein_attack(
            forward, cross_entropy, X, y, groups, torch.ones(3), order=order, steps=0
        )
        torch.testing.assert_close(out, X, rtol=0, atol=0)
    assert calls == []


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("method", ["pgd", "fgsm"])
def test_attack_raises_classification_loss(order, method):
    X, y, groups = classification_data()
    model = make_mlp(2)
    radii = torch.tensor([0.3, 0.5, 0.2], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    X_adv = wasserstein_attack(
        model, cross_entropy, X, y, groups, radii, order=order, method=method, generator=gen
    )
    with torch.no_grad():
        clean, adv = cross_entropy(model(X), y), cross_entropy(model(X_adv), y)
    for g in range(3):
        assert adv[groups == g].mean() > clean[groups == g].mean()


@pytest.mark.parametrize("order", ORDERS)
def test_attack_raises_regression_loss_and_beats_random(order):
    gen = torch.Generator().manual_seed(1)
    X = torch.randn(30, 3, generator=gen, dtype=torch.float64)
    y = torch.sin(X).sum(dim=-1)
    groups = torch.arange(30) % 2
    model = make_mlp(1, d=3)
    radii = torch.tensor([0.3, 0.6], dtype=torch.float64)
    X_adv = wasserstein_attack(model, squared_error, X, y, groups, radii, order=order, steps=10)
    random = X + sample_in_budget(X.shape, groups, radii, order, gen)
    with torch.no_grad():
        clean = squared_error(model(X), y).sum()
        adv = squared_error(model(X_adv), y).sum()
        rand = squared_error(model(random), y).sum()
    assert adv > rand and adv > clean


@pytest.mark.parametrize("order", ORDERS)
def test_radius_on_one_group_moves_only_that_group(order):
    X, y, groups = classification_data()
    X_adv = wasserstein_attack(
        make_mlp(2),
        cross_entropy,
        X,
        y,
        groups,
        torch.tensor([0.0, 0.5, 0.0]),
        order=order,
        random_start=True,
    )
    moved = (X_adv != X).any(dim=-1)
    assert torch.all(~moved[groups != 1])
    assert moved[groups == 1].any()


@pytest.mark.parametrize("order", ORDERS)
def test_first_step_size_rule(order):
    # From zero, one PGD step with multiplier m moves a group's RMS displacement by m * eps
    # (every row by m * eps for "inf") as long as that stays inside the budget.
    X, y, groups = classification_data()
    radii = torch.tensor([0.2, 0.4, 0.8], dtype=torch.float64)
    X_adv = wasserstein_attack(
        make_mlp(2), cross_entropy, X, y, groups, radii, order=order, steps=1, step_size=0.5
    )
    norms = (X_adv - X).norm(dim=-1)
    for g in range(3):
        rows = norms[groups == g]
        if order == "inf":
            torch.testing.assert_close(rows, torch.full_like(rows, 0.5 * float(radii[g])))
        else:
            torch.testing.assert_close(rows.pow(2).mean().sqrt(), 0.5 * radii[g])


@pytest.mark.parametrize("order", ORDERS)
def test_default_pgd_step_is_two_and_a_half_eps_over_steps(order):
    # The documented default: each PGD step moves by 2.5 * eps / steps. With 10 steps the
    # first one (from zero) stays inside every budget, so its length is the step itself.
    X, y, groups = classification_data()
    radii = torch.tensor([0.2, 0.4, 0.8], dtype=torch.float64)
    first = []
    wasserstein_attack(
        make_mlp(2), cross_entropy, X, y, groups, radii, order=order, steps=10,
        callback=lambda step, delta: first.append(delta.clone()) if step == 0 else None,
    )
    norms = first[0].norm(dim=-1)
    for g in range(3):
        rows = norms[groups == g]
        size = rows if order == "inf" else rows.pow(2).mean().sqrt()
        torch.testing.assert_close(size, torch.full_like(size, 0.25 * float(radii[g])))


@pytest.mark.parametrize("order", ORDERS)
def test_default_fgsm_step_is_one_and_a_quarter_eps(order):
    # FGSM's own default (Wong et al.): the step actually taken equals an explicit 1.25,
    # and differs from PGD's 2.5.
    X, y, groups = classification_data()
    radii = torch.tensor([0.2, 0.4, 0.8], dtype=torch.float64)
    model = make_mlp(2)

    def run(step_size):
        gen = torch.Generator().manual_seed(3)
        return wasserstein_attack(model, cross_entropy, X, y, groups, radii, order=order,
                                  method="fgsm", step_size=step_size, generator=gen)

    default = run(None)
    torch.testing.assert_close(default, run(1.25), rtol=0, atol=0)
    assert not torch.allclose(default, run(PGD_STEP_MULTIPLIER))


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("loss_name", ["ce", "mse"])
def test_candidate_batch_matches_separate_calls(order, loss_name):
    X, y, groups = classification_data(n=24)
    n_out = 2 if loss_name == "ce" else 1
    loss = cross_entropy if loss_name == "ce" else squared_error
    target = y if loss_name == "ce" else y.double()
    models = [make_mlp(n_out, seed=s) for s in range(3)]
    radii = torch.tensor([[0.3, 0.2, 0.1], [0.0, 1.0, 0.5], [0.6, 0.6, 0.0]], dtype=torch.float64)
    XC = X.expand(3, -1, -1)
    yC = target.expand(3, -1)

    def forward(inputs):
        return torch.stack([m(inputs[c]) for c, m in enumerate(models)])

    batched = wasserstein_attack(forward, loss, XC, yC, groups, radii, order=order, steps=3)
    for c, m in enumerate(models):
        single = wasserstein_attack(m, loss, X, target, groups, radii[c], order=order, steps=3)
        torch.testing.assert_close(batched[c], single, rtol=1e-12, atol=1e-12)


def test_parameters_untouched_and_no_graph():
    X, y, groups = classification_data()
    model = make_mlp(2)
    model.eval()
    model[0].train()  # mixed modes must survive as they are
    modes = [m.training for m in model.modules()]
    before = [p.detach().clone() for p in model.parameters()]
    X_req = X.clone().requires_grad_(True)
    out = wasserstein_attack(model, cross_entropy, X_req, y, groups, torch.ones(3), steps=3)
    assert all(p.grad is None for p in model.parameters())
    assert X_req.grad is None
    assert not out.requires_grad and out.grad_fn is None
    assert [m.training for m in model.modules()] == modes
    for p, b in zip(model.parameters(), before):
        assert torch.equal(p, b)


def test_works_under_no_grad_and_keeps_dtype_device():
    X, y, groups = classification_data()
    model = make_mlp(2).float()
    with torch.no_grad():
        out = wasserstein_attack(model, cross_entropy, X.float(), y, groups, torch.ones(3))
    assert out.dtype == torch.float32 and out.device == X.device
    assert not torch.equal(out, X.float())


def test_zero_gradient_gives_no_nan():
    X, y, groups = classification_data()

    def constant(inputs):
        return torch.zeros(*inputs.shape[:-1], 2, dtype=inputs.dtype)

    for order in ORDERS:
        out = wasserstein_attack(constant, cross_entropy, X, y, groups, torch.ones(3), order=order)
        torch.testing.assert_close(out, X, rtol=0, atol=0)

    def flat(inputs):  # depends on inputs but with an exactly zero gradient
        return inputs[..., :2] * 0.0

    gen = torch.Generator().manual_seed(0)
    out = wasserstein_attack(
        flat, cross_entropy, X, y, groups, torch.ones(3), order=1, random_start=True, generator=gen
    )
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("method", ["pgd", "fgsm"])
def test_seeded_generator_is_deterministic(order, method):
    X, y, groups = classification_data()
    model = make_mlp(2)

    def run(seed):
        gen = torch.Generator().manual_seed(seed)
        return wasserstein_attack(
            model,
            cross_entropy,
            X,
            y,
            groups,
            torch.ones(3) * 0.5,
            order=order,
            method=method,
            random_start=True,
            generator=gen,
        )

    torch.testing.assert_close(run(0), run(0), rtol=0, atol=0)
    assert not torch.equal(run(0), run(1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "cw"}, "method"),
        ({"order": 0.5}, "order"),
        ({"steps": -1}, "steps"),
        ({"steps": 2.0}, "steps"),
        ({"step_size": 0.0}, "step_size"),
        ({"step_size": float("nan")}, "step_size"),
        ({"radii": torch.tensor([1.0, -1.0, 0.0])}, "nonnegative"),
        ({"radii": torch.ones(2, 3)}, "broadcast"),
        ({"loss": lambda out, y: cross_entropy(out, y).mean()}, "per-sample"),
    ],
)
def test_attack_errors(kwargs, match):
    X, y, groups = classification_data()
    args = {
        "forward": make_mlp(2),
        "loss": cross_entropy,
        "X": X,
        "y": y,
        "group_index": groups,
        "radii": torch.ones(3),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        wasserstein_attack(**args)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("order", ORDERS)
def test_runs_on_cuda_and_matches_cpu(order):
    X, y, groups = classification_data()
    model = make_mlp(2)
    radii = torch.tensor([0.3, 0.0, 0.6], dtype=torch.float64)
    cpu = wasserstein_attack(model, cross_entropy, X, y, groups, radii, order=order)
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(0)
    out = wasserstein_attack(
        model.to(dev),
        cross_entropy,
        X.to(dev),
        y.to(dev),
        groups.to(dev),
        radii.to(dev),
        order=order,
        random_start=False,
        generator=gen,
    )
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), cpu, rtol=1e-9, atol=1e-9)
    rnd = wasserstein_attack(
        model,
        cross_entropy,
        X.to(dev),
        y.to(dev),
        groups.to(dev),
        radii.to(dev),
        order=order,
        method="fgsm",
        generator=gen,
    )
    delta = (rnd - X.to(dev)).cpu().numpy()
    assert budget_violation(delta, groups.numpy(), radii.numpy(), order) <= 1e-12
    raw = torch.randn(5, 40, 2, dtype=torch.float64)
    projected = project_perturbations(raw.to(dev), groups.to(dev), radii.to(dev), order)
    torch.testing.assert_close(projected.cpu(), project_perturbations(raw, groups, radii, order),
                               rtol=1e-12, atol=1e-12)
    assert projected.device.type == "cuda"
