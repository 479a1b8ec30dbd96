"""The data side of a fit, validated and converted once.

:class:`TrainingData` holds what every candidate of a round shares: the tensors,
the group labels and counts, the nominal group weights, the row weights, the batch
size and the optional early-stopping holdout. Building it touches no estimator
state that survives a failure; the per-candidate part (network, optimiser,
inter-group weighting) lives in :mod:`._base`.
"""

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch

from ._constants import MIN_ROWS_PER_GROUP


@dataclass
class TrainingData:
    """Validated training data, shared by every candidate trained on it.

    ``X`` is a float32 tensor, or a float32 CSR matrix whose minibatches are made
    dense on the fly. ``row_scale`` is ``None`` without sample weights, else each
    row's weight divided by its group's mean weight (mean 1 within each group).
    ``nominal`` is each group's share of the total weight (of the rows without
    sample weights); ``sampling`` is each group's expected share of a minibatch.
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


def stratified_holdout(group_index, strata, fraction, rng):
    """Boolean mask of a holdout with ``fraction`` of each group's rows.

    Within each group the rows are shuffled, ordered by ``strata`` (the class, or
    zeros) and taken at evenly spaced positions, so each stratum's share is kept.
    Every group keeps at least one row on each side.
    """
    mask = np.zeros(group_index.shape[0], dtype=bool)
    for g in np.unique(group_index):
        rows = np.flatnonzero(group_index == g)
        n_g = rows.shape[0]
        if n_g < MIN_ROWS_PER_GROUP:
            raise ValueError(
                f"Early stopping needs at least {MIN_ROWS_PER_GROUP} rows per group "
                f"(one for training, one for validation); a group has {n_g}."
            )
        n_val = int(np.clip(round(fraction * n_g), 1, n_g - 1))
        rows = rows[rng.permutation(n_g)]
        rows = rows[np.argsort(strata[rows], kind="stable")]
        picks = np.floor((np.arange(n_val) + 0.5) * n_g / n_val).astype(int)
        mask[rows[picks]] = True
    return mask


__all__ = [
    "TrainingData",
    "check_group_weights",
    "check_hidden_layer_sizes",
    "features_to_device",
    "group_row_scale",
    "stratified_holdout",
    "take_rows",
]
