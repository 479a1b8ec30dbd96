"""Checks of a user's ``module=`` factory and of the network it builds.

``module`` is a callable ``module(n_features, n_outputs) -> torch.nn.Module``. The
mistakes it invites (an ``nn.Module`` instance instead of a factory, a network in
float64, one without parameters, a forward that returns a tuple or a dict) are
caught here, before training, with errors that say what to change instead of
what torch found wrong deep inside the loop.
"""

import torch


def check_factory(factory):
    """Raise a clear ValueError when ``module=`` is not a factory."""
    if isinstance(factory, torch.nn.Module):
        raise ValueError(
            f"module must be a factory module(n_features, n_outputs) -> torch.nn.Module, got "
            f"an instance of {type(factory).__name__}; pass a function that builds it, e.g. "
            "module=lambda n_features, n_outputs: torch.nn.Linear(n_features, n_outputs) "
            "(each fit and each candidate needs a network of its own).")
    if not callable(factory):
        raise ValueError(f"module must be a callable module(n_features, n_outputs), got "
                         f"{type(factory).__name__}.")


def check_built(module, n_features, n_outputs):
    """Raise a clear error when the network ``module(n_features, n_outputs)`` built
    cannot be trained: not a Module, no trainable parameters, or not float32."""
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module(n_features, n_outputs) must return a torch.nn.Module, "
                        f"got {type(module).__name__}.")
    parameters = [p for p in module.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError(
            f"module({n_features}, {n_outputs}) built a {type(module).__name__} without "
            "trainable parameters; there is nothing to train.")
    tensors = list(module.parameters()) + list(module.buffers())
    dtypes = sorted({str(t.dtype).replace("torch.", "") for t in tensors
                     if t.is_floating_point() and t.dtype != torch.float32})
    if dtypes:
        raise ValueError(
            f"module({n_features}, {n_outputs}) built a network with {', '.join(dtypes)} "
            "parameters or buffers; training runs in float32: build it in float32 (without "
            ".double() or dtype=torch.float64), or return module.float().")


def check_output(out, n_features, n_outputs):
    """Raise a clear ValueError unless the probe forward returned a (2, n_outputs) tensor."""
    if not isinstance(out, torch.Tensor):
        raise ValueError(
            f"module({n_features}, {n_outputs})'s forward returned a {type(out).__name__}; it "
            f"must return one tensor of shape (n_rows, {n_outputs}) (return only the "
            "outputs, e.g. the first element of a tuple).")
    if tuple(out.shape) != (2, n_outputs):
        raise ValueError(
            f"module({n_features}, {n_outputs}) maps 2 rows to outputs of shape "
            f"{tuple(out.shape)}; expected (2, {n_outputs})."
        )


__all__ = ["check_built", "check_factory", "check_output"]
