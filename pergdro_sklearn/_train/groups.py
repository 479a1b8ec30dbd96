"""Per-group reductions of torch tensors, shared by the loop, the attacks and the risk."""

import torch


def group_sums(values, group_index, n_groups):
    """Sum ``values`` of shape ``(..., n)`` per group: ``(..., n_groups)``."""
    out = values.new_zeros(values.shape[:-1] + (n_groups,))
    return out.index_add_(-1, group_index, values)


def group_counts(group_index, n_groups, dtype):
    """Rows per group as a float tensor of shape ``(n_groups,)``."""
    ones = torch.ones_like(group_index, dtype=dtype)
    return ones.new_zeros(n_groups).index_add_(0, group_index, ones)


__all__ = ["group_counts", "group_sums"]
