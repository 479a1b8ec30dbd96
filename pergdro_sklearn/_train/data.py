"""The data side of a fit, validated and converted once.

:class:`TrainingData` holds what every candidate of a round shares: the tensors,
the group labels and counts, the nominal group weights, the row weights, the batch
size and the optional early-stopping holdout. Building it touches no estimator
state that survives a failure; the per-candidate part (network, optimiser,
inter-group weighting) lives in :mod:`_estimators.base`. Also here: the device,
tensor and generator helpers every fit uses.
"""

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch


@dataclass
class TrainingData:
    """Validated training data, shared by every candidate trained on it.

    ``X`` is a float32 tensor, or a float32 CSR matrix whose minibatches are made
    dense on the fly. ``row_scale`` is ``None`` without sample weights, else each
    row's weight divided by its group's mean weight (mean 1 within each group).
    ``nominal`` is each group's share of the total weight (of the rows without
    sample weights); ``sampling`` is each group's expected share of a minibatch.
    ``n_pinned`` is 1 when rows of unknown group form a last group whose weight stays
    nominal (it has no label and no radius), else 0.
    ``validation`` is the early-stopping holdout (a :class:`TrainingData` without
    its own holdout) or ``None``. ``fitted`` holds the attributes that validation
    computed (``n_features_in_``, ``classes_``...), copied onto each fitted model.
    """

    X: object
    y: torch.Tensor
    group_index: torch.Tensor
    labels: np.ndarray
    counts: np.ndarray
    nominal: np.ndarray
    sampling: np.ndarray
    row_scale: object
    batch_size: int
    device: torch.device
    validation: object = None
    fitted: dict = field(default_factory=dict)
    n_pinned: int = 0

    @property
    def n_groups(self):
        """Groups trained: the labels, and a last pinned group of unknown rows if any."""
        return self.labels.shape[0] + self.n_pinned

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def n_features(self):
        return self.X.shape[1]

    def dense_X(self):
        """``X`` as a dense float32 tensor (a copy when ``X`` is sparse)."""
        if isinstance(self.X, torch.Tensor):
            return self.X
        return torch.from_numpy(self.X.toarray()).to(self.device)


def take_rows(X, index, device):
    """Rows ``index`` of a tensor, or of a CSR matrix made dense on ``device``."""
    if isinstance(X, torch.Tensor):
        return X[index.to(X.device)]
    rows = X[index.cpu().numpy()].toarray()
    return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.float32)).to(device)


def features_to_device(X, device):
    """Validated features as float32: a tensor on ``device``, or a CSR matrix."""
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float32)
    array = np.ascontiguousarray(X, dtype=np.float32)  # no copy for float32 input
    return torch.from_numpy(array).to(device)


def check_hidden_layer_sizes(sizes):
    """``hidden_layer_sizes`` as a tuple of positive ints, else a ``ValueError``."""
    values = [sizes] if np.ndim(sizes) == 0 else list(np.asarray(sizes, dtype=object).ravel())
    bad = [v for v in values if isinstance(v, (bool, np.bool_)) or not isinstance(v, Integral)
           or v < 1]
    if bad:
        raise ValueError(
            f"hidden_layer_sizes must contain positive integers, got {sizes!r} "
            f"(invalid: {bad})."
        )
    return tuple(int(v) for v in values)


def group_row_scale(group_index, weights, n_groups):
    """Each row's weight over its group's mean weight; ``None`` when that is all ones."""
    if weights is None:
        return None
    totals = np.bincount(group_index, weights=weights, minlength=n_groups)
    counts = np.bincount(group_index, minlength=n_groups)
    scale = weights * counts[group_index] / totals[group_index]
    if np.all(scale == 1.0):
        return None
    return scale


def check_group_weights(weights, group_index, labels):
    """Refuse groups whose rows all have zero weight."""
    totals = np.bincount(group_index, weights=weights, minlength=labels.shape[0])
    empty = labels[totals <= 0]
    if empty.size:
        raise ValueError(
            f"sample_weight is zero for every row of group(s) {empty.tolist()}; a group "
            "needs positive weight (drop the group instead)."
        )


__all__ = [
    "TrainingData",
    "check_group_weights",
    "check_hidden_layer_sizes",
    "features_to_device",
    "group_row_scale",
    "take_rows",
]


def resolve_device(device):
    """The ``torch.device`` of a ``device`` parameter; a ValueError when unusable.

    ``"auto"`` picks CUDA when torch sees a GPU. Anything else goes through
    ``torch.device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``...), and a device
    type whose torch backend says it is not available (or a CUDA index past the
    last GPU) is refused with a message naming what torch sees.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"device={device!r} is not a device torch understands ({exc}); use 'cpu', "
                "'cuda', 'cuda:N', 'mps', 'auto' or another torch.device string."
            ) from None
    kind = resolved.type
    if kind == "cpu":
        return resolved
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device={str(device)!r} was requested but torch sees no CUDA "
                             "device; use device='cpu' or 'auto'.")
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"device={str(device)!r} was requested but torch sees {count} "
                             f"CUDA device(s) (cuda:0 to cuda:{count - 1}).")
        return resolved
    backend = getattr(torch.backends, kind, None) if kind == "mps" else getattr(torch, kind, None)
    available = getattr(backend, "is_available", None)
    if not callable(available) or not available():
        raise ValueError(f"device={str(device)!r} was requested but torch's {kind!r} backend "
                         "is not available on this machine; use device='cpu' or 'auto'.")
    return resolved


def as_float_tensor(array, device):
    """A float32 tensor on ``device`` (a fresh, writable copy; sparse input made dense)."""
    if sp.issparse(array):
        array = array.toarray()
    return torch.from_numpy(np.array(array, dtype=np.float32)).to(device)


def copy_generator(gen):
    """An independent generator in the same state (so a failed fit leaves the old one)."""
    new = torch.Generator(device=gen.device)
    new.set_state(gen.get_state())
    return new
