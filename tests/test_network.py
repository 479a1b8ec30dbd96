"""The batched MLP's fused forward and backward give autograd's results."""

import pytest
import torch

from pergdro_sklearn._train.network import (
    ACTIVATIONS,
    MLP,
    BatchedMLP,
    _BatchedMLPFunction,
    input_gradients_only,
)


def _reference(net, x):
    """The batched network as a plain chain of autograd operations."""
    act = ACTIVATIONS[net.activation]
    last = len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        x = torch.baddbmm(b, x, w)
        if i < last:
            x = act(x)
    return x


def _batched(n_in, n_out, hidden, activation, n_candidates=3, dtype=torch.float64):
    gen = torch.Generator().manual_seed(0)
    mlps = [MLP(n_in, n_out, hidden, activation, generator=gen) for _ in range(n_candidates)]
    return BatchedMLP(mlps).to(dtype), mlps


# narrow layers (fewer than 16 outputs) take the other product order: cover 1, 2 and 5
# outputs, a narrow hidden layer and a wide output layer
SHAPES = [(2, 2, (64, 64)), (3, 1, (20,)), (4, 5, (8, 20)), (6, 17, (16,))]


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("n_in, n_out, hidden", SHAPES)
def test_fused_gradients_equal_autograd(activation, n_in, n_out, hidden):
    net, _ = _batched(n_in, n_out, hidden, activation)
    x = torch.randn(3, 11, n_in, dtype=torch.float64, requires_grad=True)
    params = [x, *net.weights, *net.biases]
    out = net(x)
    ref = _reference(net, x)
    torch.testing.assert_close(out, ref)
    upstream = torch.randn_like(out)
    got = torch.autograd.grad(out, params, upstream)
    want = torch.autograd.grad(ref, params, upstream)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        torch.testing.assert_close(g, w)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
def test_fused_backward_passes_gradcheck(activation):
    net, _ = _batched(3, 2, (5,), activation, n_candidates=2)
    x = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    params = [x, *net.weights, *net.biases]
    assert torch.autograd.gradcheck(
        lambda *p: _BatchedMLPFunction.apply(p[0], activation, *p[1:]), params)


def test_batched_forward_equals_each_candidate(shifted):
    net, mlps = _batched(2, 2, (16, 16), "relu", n_candidates=4, dtype=torch.float32)
    X = torch.as_tensor(shifted.X_test, dtype=torch.float32)
    out = net(X.expand(4, *X.shape))
    for c, mlp in enumerate(mlps):
        torch.testing.assert_close(out[c], mlp(X), atol=1e-5, rtol=1e-5)


def test_input_gradients_only_skips_weight_gradients():
    net, _ = _batched(2, 2, (8,), "relu")
    x = torch.randn(3, 5, 2, dtype=torch.float64, requires_grad=True)
    with input_gradients_only(net):
        out = net(x)
        assert all(not p.requires_grad for p in net.parameters())
    assert out.grad_fn is not None
    (gx,) = torch.autograd.grad(out.sum(), x, retain_graph=True)
    (want,) = torch.autograd.grad(_reference(net, x).sum(), x)
    torch.testing.assert_close(gx, want)
    assert all(p.grad is None for p in net.parameters())
    out.sum().backward()  # the graph reaches the input alone
    assert all(p.grad is None for p in net.parameters())


def _products_in_backward(net, x):
    out = net(x)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        out.sum().backward()
    return sum(e.count for e in prof.key_averages() if e.key == "aten::bmm")


def test_frozen_attack_backward_computes_input_gradients_alone():
    net, _ = _batched(2, 2, (8, 8), "relu")  # three layers
    x = torch.randn(3, 5, 2, dtype=torch.float64, requires_grad=True)
    assert _products_in_backward(net, x) == 6  # weights and inputs of every layer
    with input_gradients_only(net):
        assert _products_in_backward(net, x) == 3  # inputs only
    assert _products_in_backward(net, x.detach()) == 5  # no gradient for x itself


def test_input_gradients_only_restores_flags_after_an_error():
    net, _ = _batched(2, 2, (8,), "relu")
    net.biases[0].requires_grad_(False)  # a frozen parameter stays frozen
    with pytest.raises(RuntimeError, match="boom"):
        with input_gradients_only(net):
            raise RuntimeError("boom")
    flags = [p.requires_grad for p in net.parameters()]
    assert flags.count(False) == 1 and not net.biases[0].requires_grad


def test_cross_entropy_of_a_narrow_output_layout_equals_torch():
    from torch.nn import functional as F

    from pergdro_sklearn._train.losses import cross_entropy

    net, _ = _batched(2, 3, (8,), "relu")  # 3 outputs: laid out classes-outer
    x = torch.randn(3, 7, 2, dtype=torch.float64)
    out = net(x).detach().requires_grad_(True)
    assert out.stride(-1) != 1
    y = torch.tensor([0, 1, 2, 2, 1, 0, 1])
    got = cross_entropy(out, y)
    want = F.cross_entropy(out.reshape(-1, 3), y.repeat(3), reduction="none").reshape(3, 7)
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(torch.autograd.grad(got.sum(), out)[0],
                               torch.autograd.grad(want.sum(), out)[0])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_without_a_graph_equals_the_fused_forward(activation):
    net, _ = _batched(3, 2, (8, 5), activation)
    x = torch.randn(3, 6, 3, dtype=torch.float64)
    with_graph = net(x)
    assert with_graph.grad_fn is not None
    with torch.no_grad():
        plain = net(x)
    with torch.inference_mode():
        inference = net(x)
    assert plain.grad_fn is None
    torch.testing.assert_close(plain, with_graph.detach(), rtol=0, atol=0)
    torch.testing.assert_close(inference, plain, rtol=0, atol=0)


def test_training_attack_runs_with_the_parameters_frozen(shifted, monkeypatch):
    from pergdro_sklearn import PerGDROClassifier
    from pergdro_sklearn._estimators.batched import fit_candidates
    from pergdro_sklearn._train import loop as _training

    flags = []
    attack = _training.wasserstein_attack

    def spy(forward, *args, **kwargs):
        def watched(X):
            out = forward(X)
            flags.append(out.grad_fn is not None and not any(
                p.requires_grad for p in spy.module.parameters()))
            return out
        return attack(watched, *args, **kwargs)

    original = _training.Trainer.perturb

    def perturb(self, X, y, group_index):
        spy.module = self.module
        return original(self, X, y, group_index)

    monkeypatch.setattr(_training, "wasserstein_attack", spy)
    monkeypatch.setattr(_training.Trainer, "perturb", perturb)
    params = [dict(rho=0.5, epsilon=0.5), dict(rho=0.0, epsilon=1.0)]
    fit_candidates(PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=1, random_state=0),
                   params, shifted.X_train, shifted.y_train, shifted.groups_train)
    assert flags and all(flags)  # every attack forward: a graph to the input, weights frozen
    assert all(p.requires_grad for p in spy.module.parameters())  # and unfrozen after
