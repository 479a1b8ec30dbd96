"""The MLP module, and its batched form that trains many candidates at once.

Nothing here knows about scikit-learn or about robustness: these are plain
``torch.nn.Module`` objects with a seeded, global-state-free initialisation.
"""

import contextlib
import copy
import math

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.functional.relu,
    "tanh": torch.tanh,
    "logistic": torch.sigmoid,
    "identity": lambda x: x,
}
# Lipschitz constant of each activation (used by the certified bound).
ACTIVATION_LIPSCHITZ = {"relu": 1.0, "tanh": 1.0, "logistic": 0.25, "identity": 1.0}
# In-place activations, and each activation's derivative applied in place to a gradient
# ``g`` from the activation's output ``a`` (all four are functions of their output).
_ACTIVATIONS_INPLACE = {
    "relu": torch.relu_,
    "tanh": torch.tanh_,
    "logistic": torch.sigmoid_,
    "identity": lambda x: x,
}
_ACTIVATION_GRADIENTS_INPLACE = {
    "relu": lambda g, a: torch.ops.aten.threshold_backward.grad_input(g, a, 0, grad_input=g),
    "tanh": lambda g, a: g.mul_(1 - a * a),
    "logistic": lambda g, a: g.mul_(a * (1 - a)),
    "identity": lambda g, a: g,
}
# A batched layer with fewer outputs than this computes its products the other way round
# (weights on the left): measured on this project's machine (MKL, one thread, 16
# candidates x 200 rows), ``bmm`` whose right factor is a contiguous (K, N) block with
# N < 16 runs 4-6x slower than the transposed product, e.g. 233 us against 44 us for a
# 64 -> 2 output layer. From 16 outputs on both ways cost the same.
_NARROW_LAYER_OUTPUTS = 16


def _init_linear_(weight, bias, generator):
    """PyTorch's default ``nn.Linear`` init, drawn from ``generator``."""
    fan_in = weight.shape[-1]
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    with torch.no_grad():
        weight.uniform_(-bound, bound, generator=generator)
        bias.uniform_(-bound, bound, generator=generator)


class MLP(nn.Module):
    """A fully connected network ``n_in -> hidden... -> n_out``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    hidden_layer_sizes : tuple of int
        Widths of the hidden layers.
    activation : {"relu", "tanh", "logistic", "identity"}
        Hidden activation.
    generator : torch.Generator, optional
        Source of the initial weights (CPU generator).
    """

    def __init__(self, n_in, n_out, hidden_layer_sizes, activation="relu", generator=None):
        super().__init__()
        sizes = [n_in, *hidden_layer_sizes, n_out]
        self.activation = activation
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        if generator is not None:
            for layer in self.layers:
                _init_linear_(layer.weight, layer.bias, generator)

    def forward(self, x):
        act = ACTIVATIONS[self.activation]
        for layer in self.layers[:-1]:
            x = act(layer(x))
        return self.layers[-1](x)

    def weight_matrices(self):
        """Weight matrices in layer order, each of shape ``(out, in)``."""
        return [layer.weight for layer in self.layers]

    def penalized_parameters(self):
        """The parameters of the L2 penalty ``alpha`` (weights, not biases)."""
        return [layer.weight for layer in self.layers]


class BatchedMLP(nn.Module):
    """``C`` independent MLPs of one architecture evaluated with batched matmuls.

    Inputs have shape ``(C, n, n_in)`` and outputs ``(C, n, n_out)``. Built from a
    list of :class:`MLP` so that candidate ``c`` starts from exactly the weights a
    sequential fit with the same seed would use; :meth:`unstack` gives them back.
    """

    def __init__(self, mlps):
        super().__init__()
        if not mlps:
            raise ValueError("BatchedMLP needs at least one MLP.")
        self.activation = mlps[0].activation
        n_layers = len(mlps[0].layers)
        # weights stored as (C, in, out) for baddbmm; biases as (C, 1, out)
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[i].weight.detach().T for m in mlps]).clone())
            for i in range(n_layers)
        )
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([m.layers[i].bias.detach()[None] for m in mlps]).clone())
            for i in range(n_layers)
        )

    @property
    def n_candidates(self):
        return self.weights[0].shape[0]

    def forward(self, x):
        params = (*self.weights, *self.biases)
        if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params)):
            return _BatchedMLPFunction.apply(x, self.activation, *params)
        # no graph: nothing is kept for a backward pass, each activation is freed as
        # soon as the next layer is computed (predictions on large chunks of rows)
        with torch.no_grad():
            out, _ = _forward_layers(x, self.activation, self.weights, self.biases, keep=False)
        return out

    def weight_matrices(self):
        """Weight matrices in layer order, each of shape ``(C, out, in)``."""
        return [w.transpose(1, 2) for w in self.weights]

    def penalized_parameters(self):
        """The stacked weights (not the biases), for the L2 penalty ``alpha``."""
        return list(self.weights)

    def unstack(self, c):
        """Candidate ``c`` as a plain :class:`MLP` (a copy, on the same device)."""
        sizes = [self.weights[0].shape[1]] + [w.shape[2] for w in self.weights]
        mlp = MLP(sizes[0], sizes[-1], tuple(sizes[1:-1]), self.activation)
        mlp = mlp.to(device=self.weights[0].device, dtype=self.weights[0].dtype)
        with torch.no_grad():
            for layer, w, b in zip(mlp.layers, self.weights, self.biases):
                layer.weight.copy_(w[c].T)
                layer.bias.copy_(b[c, 0])
        return mlp


def _layer_forward(bias, x, weight):
    """``x @ weight + bias`` for one batched layer (``weight`` is ``(C, in, out)``)."""
    if weight.shape[2] < _NARROW_LAYER_OUTPUTS:
        wt = weight.transpose(1, 2).contiguous()  # (C, out, in): tiny
        return torch.baddbmm(bias.transpose(1, 2), wt, x.transpose(1, 2)).transpose(1, 2)
    return torch.baddbmm(bias, x, weight)


def _forward_layers(x, activation, weights, biases, keep):
    """The batched forward pass; with ``keep``, also the input of every layer."""
    act = _ACTIVATIONS_INPLACE[activation]
    inputs = [x] if keep else None
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases)):
        x = _layer_forward(b, x, w)
        if i < last:
            x = act(x)  # a fresh tensor of this pass: safe in place
            if keep:
                inputs.append(x)
    return x, inputs


class _BatchedMLPFunction(torch.autograd.Function):
    """Forward and backward of a :class:`BatchedMLP` as one autograd node.

    The same arithmetic as chaining ``baddbmm`` and the activation under autograd,
    arranged to move less memory, which is what bounds a batched network on the CPU:
    activations are applied in place and their derivatives are applied in place to
    gradients this node owns, and a narrow layer (few outputs) takes its products the
    fast way round (see ``_NARROW_LAYER_OUTPUTS``). Gradients are computed only for
    the inputs that require them, so an attack that differentiates with respect to
    the input alone (parameters frozen, :func:`input_gradients_only`) costs no weight
    gradients.

    Called as ``apply(x, activation, *weights, *biases)``.
    """

    @staticmethod
    def forward(ctx, x, activation, *params):
        n_layers = len(params) // 2
        weights, biases = params[:n_layers], params[n_layers:]
        h, inputs = _forward_layers(x, activation, weights, biases, keep=True)
        ctx.activation = activation
        ctx.n_layers = n_layers
        ctx.save_for_backward(*inputs, *weights)
        return h

    @staticmethod
    def backward(ctx, grad):
        n_layers = ctx.n_layers
        saved = ctx.saved_tensors
        inputs, weights = saved[:n_layers], saved[n_layers:]
        needs = ctx.needs_input_grad  # (x, activation, *weights, *biases)
        derivative = _ACTIVATION_GRADIENTS_INPLACE[ctx.activation]
        grad_w, grad_b = [None] * n_layers, [None] * n_layers
        grad_x = None
        g = grad
        for i in range(n_layers - 1, -1, -1):
            a, w = inputs[i], weights[i]
            narrow = w.shape[2] < _NARROW_LAYER_OUTPUTS
            if needs[2 + i]:
                grad_w[i] = (torch.bmm(g.transpose(1, 2), a).transpose(1, 2).contiguous()
                             if narrow else torch.bmm(a.transpose(1, 2), g))
            if needs[2 + n_layers + i]:
                grad_b[i] = g.sum(dim=1, keepdim=True)
            if i == 0 and not needs[0]:
                break
            if w.shape[2] == 1:  # an outer product: cheaper as a broadcast multiply
                g = g * w.transpose(1, 2)
            else:
                g = torch.bmm(g, w.transpose(1, 2))  # a fresh tensor: safe in place
            if i > 0:
                g = derivative(g, a)
            else:
                grad_x = g
        return (grad_x, None, *grad_w, *grad_b)


@contextlib.contextmanager
def input_gradients_only(module):
    """Within the block, ``module``'s parameters do not require gradients.

    For a within-group attack, which differentiates the loss with respect to the
    input alone: autograd then builds no weight gradients (the fused backward of
    :class:`BatchedMLP` skips them). The parameters' ``requires_grad`` flags are
    restored on exit, also when the block raises.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield module
    finally:
        for p in params:
            p.requires_grad_(True)


def penalized_parameters(module, candidate_dims=0):
    """Parameters that the L2 penalty ``alpha`` applies to.

    Modules may say so with a ``penalized_parameters()`` method; otherwise every
    parameter with at least two dimensions per candidate (weight matrices, kernels,
    embeddings) is penalised and vectors (biases, norm scales) are not.
    """
    if hasattr(module, "penalized_parameters"):
        return list(module.penalized_parameters())
    return [p for p in module.parameters() if p.dim() >= 2 + candidate_dims]


class StackedModule(nn.Module):
    """``C`` copies of any module, run at once with ``torch.func`` over a vmap.

    The copies' parameters and buffers are stacked along a leading dimension
    (:func:`torch.func.stack_module_state`); :meth:`forward` maps inputs of shape
    ``(C, n, ...)`` with :func:`torch.func.functional_call` under
    :func:`torch.func.vmap`. Modules that vmap cannot run (in-place buffer updates
    such as batch norm's running statistics, data-dependent control flow) fail in
    :meth:`check`, and the caller falls back to one fit per candidate.
    """

    def __init__(self, modules):
        super().__init__()
        params, buffers = torch.func.stack_module_state(list(modules))
        self._param_names = list(params)
        self._buffer_names = list(buffers)
        self.stacked = nn.ParameterList(
            nn.Parameter(params[name].detach().clone()) for name in self._param_names)
        for i, name in enumerate(self._buffer_names):
            self.register_buffer(f"stacked_buffer_{i}", buffers[name].clone())
        # a parameter-free copy: functional_call supplies every tensor
        # not registered as submodules: only the stacked tensors are trained
        object.__setattr__(self, "_template", copy.deepcopy(modules[0]))
        object.__setattr__(self, "_skeleton", copy.deepcopy(modules[0]).to("meta"))

    @property
    def n_candidates(self):
        return self.stacked[0].shape[0]

    def _tensors(self):
        params = dict(zip(self._param_names, self.stacked))
        buffers = {name: getattr(self, f"stacked_buffer_{i}")
                   for i, name in enumerate(self._buffer_names)}
        return params, buffers

    def forward(self, x):
        skeleton = self._skeleton

        def one(params, buffers, rows):
            return torch.func.functional_call(skeleton, (params, buffers), (rows,))

        params, buffers = self._tensors()
        return torch.func.vmap(one, randomness="different")(params, buffers, x)

    def penalized_parameters(self):
        return [p for p in self.stacked if p.dim() >= 3]

    def check(self, n_features):
        """Run a tiny forward and backward pass; raises if vmap cannot batch the module."""
        x = torch.zeros(self.n_candidates, 2, n_features, device=self.stacked[0].device)
        self(x).sum().backward()
        self.zero_grad(set_to_none=True)

    def unstack(self, c):
        """Candidate ``c`` as an ordinary module (a copy of the first one, reloaded)."""
        module = copy.deepcopy(self._template)
        params, buffers = self._tensors()
        state = {name: t[c].detach().clone() for name, t in {**params, **buffers}.items()}
        module.load_state_dict(state)
        return module
