"""Train / validation / test split stratified by group, with a policy for small groups."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import type_of_target

from .._splits import stratified_order

# A class x group cell needs this many rows to have one in each of train, validation and test.
_MIN_CELL = 3


def _round_half_up(value: float) -> int:
    return int(np.floor(value + 0.5))


def train_val_test_split_by_group(
    X,
    y,
    groups,
    *,
    val_size=0.2,
    test_size=0.2,
    min_group_size=30,
    small_groups="drop",
    merged_group_label="merged_small_groups",
    random_state=None,
    stratify_classes=True,
):
    """Split into train, validation and test parts, stratified by group (and class).

    Every kept group is split on its own: ``round(n_g * test_size)`` rows go to test and
    ``round(n_g * val_size)`` to validation (at least one each), the rest to train, so every
    kept group appears in every part in (nearly) the requested proportions. For
    classification targets (``type_of_target`` binary or multiclass) with
    ``stratify_classes=True``, the rows of each group are also balanced over the classes;
    a group in which some class has between 1 and 2 rows (too few for one row per part) falls
    back to group-only stratification and is listed under ``group_only_groups``. Continuous
    targets are only stratified by group.

    Small groups (fewer than ``min_group_size`` rows) follow an explicit policy:

    ``"drop"`` (default)
        their rows are removed from every part; ``dropped_groups`` reports them.
    ``"merge"``
        they are pooled into one group labelled ``merged_group_label``; ``merged_groups``
        reports the pooled groups. If the pool itself has fewer than ``min_group_size`` rows it
        is dropped as well, and its members are reported under ``dropped_groups`` (and
        ``merged_groups`` is then empty).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Features.
    y : array-like of shape (n_samples,)
        Targets.
    groups : array-like of shape (n_samples,)
        Group label of each row (converted to str; the returned labels are str).
    val_size, test_size : float, default=0.2
        Fractions of each group for the validation and test parts; both in (0, 1) with a sum
        below 1.
    min_group_size : int, default=30
        Groups with fewer rows are "small" (with the default sizes a group of 30 gives 18 / 6 /
        6 rows). Must be at least 3.
    small_groups : {"drop", "merge"}, default="drop"
        Policy for small groups, see above.
    merged_group_label : str, default="merged_small_groups"
        Label of the pooled group under ``small_groups="merge"``; must not be an existing label.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible splits.
    stratify_classes : bool, default=True
        Whether to balance classes within each group (classification targets only).

    Returns
    -------
    split : dict
        ``X_train``, ``y_train``, ``groups_train``, ``idx_train`` and the same for ``_val`` and
        ``_test`` (``idx_*`` index the input rows, sorted increasingly; ``groups_*`` carry the
        merged label where rows were merged); ``group_names`` (sorted kept labels);
        ``dropped_groups`` and ``merged_groups`` (dicts label -> number of rows);
        ``group_only_groups`` (kept groups split without class stratification);
        ``class_stratified`` (bool); ``small_groups``, ``min_group_size``,
        ``merged_group_label`` (the policy that was applied).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(200, dtype=float).reshape(100, 2)
    >>> y = np.tile([0, 1], 50)
    >>> g = np.array(["a"] * 60 + ["b"] * 35 + ["c"] * 5)
    >>> from pergdro_sklearn.datasets import train_val_test_split_by_group
    >>> s = train_val_test_split_by_group(X, y, g, random_state=0)
    >>> s["dropped_groups"], len(s["idx_train"]), len(s["idx_val"]), len(s["idx_test"])
    ({'c': 5}, 57, 19, 19)
    """
    X = np.asarray(X)
    y = np.asarray(y)
    groups = np.asarray(groups)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-dimensional, got shape {X.shape}.")
    n = X.shape[0]
    if y.shape[0] != n or groups.shape[0] != n or y.ndim != 1 or groups.ndim != 1:
        raise ValueError("X, y and groups must have the same number of rows (y, groups 1-D).")
    for name, value in (("val_size", val_size), ("test_size", test_size)):
        if not isinstance(value, Real) or not 0 < value < 1:
            raise ValueError(f"{name} must be a float in (0, 1), got {value!r}.")
    if val_size + test_size >= 1:
        raise ValueError("val_size + test_size must be below 1.")
    if not isinstance(min_group_size, Integral) or min_group_size < _MIN_CELL:
        raise ValueError(f"min_group_size must be an integer >= {_MIN_CELL}.")
    if small_groups not in ("drop", "merge"):
        raise ValueError(f"small_groups must be 'drop' or 'merge', got {small_groups!r}.")

    labels = np.asarray([str(v) for v in groups], dtype=object)
    names, counts = np.unique(labels, return_counts=True)
    small = {str(k): int(c) for k, c in zip(names, counts) if c < min_group_size}
    dropped: dict[str, int] = {}
    merged: dict[str, int] = {}
    keep = np.ones(n, dtype=bool)
    if small_groups == "drop":
        dropped = dict(small)
    elif small:
        if merged_group_label in set(names.tolist()):
            raise ValueError(f"merged_group_label {merged_group_label!r} is an existing group.")
        if sum(small.values()) >= min_group_size:
            merged = dict(small)
            labels = labels.copy()
            labels[np.isin(labels, list(small))] = merged_group_label
        else:
            dropped = dict(small)
    if dropped:
        keep &= ~np.isin(labels, list(dropped))

    rng = check_random_state(random_state)
    class_stratified = bool(stratify_classes) and type_of_target(y) in ("binary", "multiclass")
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    group_only = []
    kept_names = np.unique(labels[keep])
    for name in kept_names:
        members = np.flatnonzero(keep & (labels == name))
        n_g = len(members)
        n_test = max(1, _round_half_up(n_g * test_size))
        n_val = max(1, _round_half_up(n_g * val_size))
        if n_g - n_test - n_val < 1:
            raise ValueError(
                f"Group {name!r} ({n_g} rows) cannot fill train, validation and test; "
                "increase min_group_size or lower val_size/test_size."
            )
        if class_stratified:
            _, cell_sizes = np.unique(y[members], return_counts=True)
            use_classes = bool(np.all(cell_sizes >= _MIN_CELL))
        else:
            use_classes = False
        if use_classes:
            order = members[stratified_order(y[members], rng)]
        else:
            order = rng.permutation(members)
            if class_stratified:
                group_only.append(str(name))
        parts["test"].append(order[:n_test])
        parts["val"].append(order[n_test : n_test + n_val])
        parts["train"].append(order[n_test + n_val :])

    out: dict = {}
    for part in ("train", "val", "test"):
        idx = np.sort(np.concatenate(parts[part])) if parts[part] else np.empty(0, dtype=np.intp)
        out[f"X_{part}"] = X[idx]
        out[f"y_{part}"] = y[idx]
        out[f"groups_{part}"] = labels[idx]
        out[f"idx_{part}"] = idx
    out.update(
        group_names=kept_names,
        dropped_groups=dropped,
        merged_groups=merged,
        group_only_groups=group_only,
        class_stratified=class_stratified,
        small_groups=small_groups,
        min_group_size=int(min_group_size),
        merged_group_label=merged_group_label if merged else None,
    )
    return out

