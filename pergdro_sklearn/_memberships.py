"""Group memberships: overlapping (0/1) or soft (probabilities) groups, and unknown rows.

Numpy only. A :class:`Memberships` wraps a matrix of shape ``(n_samples, n_groups)``;
wrapping it is what tells the package that the columns are groups and not
attributes to intersect (a bare 2-D array stays one column per attribute).

Training reads memberships by *expanding* them: each (row, group) pair of positive
membership becomes a row of that group, weighted by the membership. A group's loss is
then the membership-weighted mean over its rows, and its Wasserstein ball is its own,
while the training loop sees ordinary labels and row weights (:func:`expand`). A
one-hot matrix is turned back into labels (:func:`one_hot_labels`): the disjoint path,
unchanged.
"""

import numpy as np

from ._constants import MIN_ROWS_PER_GROUP

UNKNOWN_GROUPS = ("error", "nominal", "estimate")


class Memberships:
    """Group memberships of each row: overlapping (0/1) or soft (probabilities).

    Pass it as ``groups=`` wherever the package takes groups (``fit`` of every
    estimator, the search, the ensembles, the metrics and ``group_report``). A plain
    2-D array keeps its meaning (one column per attribute, intersected); wrapping the
    matrix in ``Memberships`` is what says that its columns are groups.

    Parameters
    ----------
    matrix : array-like of shape (n_samples, n_groups)
        Entry ``(i, g)`` is row ``i``'s membership of group ``g``, in ``[0, 1]``: 0/1 for
        overlapping groups (a row may be in several), probabilities for soft membership.
        Every row needs a positive membership. NaN marks an unknown entry (see the
        estimators' ``unknown_groups``).
    names : array-like of shape (n_groups,), default=None
        The groups' labels (distinct, all strings or all numbers); ``0 .. n_groups - 1``
        by default.

    Attributes
    ----------
    matrix : ndarray of shape (n_samples, n_groups), float64
    names : ndarray of shape (n_groups,)

    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn import Memberships
    >>> m = Memberships([[1, 1, 0], [0, 1, 1]], names=["a", "b", "c"])
    >>> m.shape, m.is_binary, m.is_one_hot
    ((2, 3), True, False)
    >>> m[[1]].matrix.tolist()
    [[0.0, 1.0, 1.0]]
    """

    def __init__(self, matrix, names=None):
        if isinstance(matrix, Memberships):
            matrix, names = matrix.matrix, matrix.names if names is None else names
        if hasattr(matrix, "columns") and names is None:  # a DataFrame: its columns name
            names = [str(c) for c in matrix.columns]
        matrix = np.array(matrix, dtype=float)
        if matrix.ndim != 2:
            raise ValueError(f"Memberships needs a 2-D matrix (n_samples, n_groups), got "
                             f"shape {matrix.shape}.")
        if matrix.shape[1] == 0:
            raise ValueError("Memberships needs at least one group (column).")
        if np.any(np.isinf(matrix)):
            raise ValueError("Memberships holds infinite values; memberships lie in [0, 1].")
        known = matrix[~np.isnan(matrix)]
        if np.any((known < 0) | (known > 1)):
            bad = known[(known < 0) | (known > 1)][0]
            raise ValueError(f"Memberships must lie in [0, 1] (0/1 for overlapping groups, "
                             f"probabilities for soft membership), got {bad:.4g}.")
        names = np.arange(matrix.shape[1]) if names is None else np.asarray(names)
        if names.ndim != 1 or names.shape[0] != matrix.shape[1]:
            raise ValueError(f"names has shape {names.shape} but the matrix has "
                             f"{matrix.shape[1]} groups; give one name per column.")
        if np.unique(names).shape[0] != names.shape[0]:
            raise ValueError(f"names must be distinct, got {names.tolist()}.")
        complete = ~np.isnan(matrix).any(axis=1)
        empty = np.flatnonzero(complete & (matrix.sum(axis=1) <= 0))
        if empty.size:
            raise ValueError(f"{empty.size} row(s) of Memberships belong to no group (all "
                             f"zeros), first at {empty[:5].tolist()}; give each row a "
                             "positive membership, or NaN if unknown.")
        self.matrix = matrix
        self.names = names

    @classmethod
    def from_attributes(cls, attributes, names=None):
        """Overlapping groups from attribute columns: one group per (column, value).

        Each row is in one group per attribute (``"sex=Female"``, ``"race=White"``...),
        so the groups overlap, unlike the intersections that a 2-D ``groups`` makes.
        Missing values (NaN, None) give NaN for that attribute's groups.
        """
        if hasattr(attributes, "columns"):
            names = [str(c) for c in attributes.columns] if names is None else names
            columns = [attributes.iloc[:, j].to_numpy() for j in range(attributes.shape[1])]
        else:
            array = np.asarray(attributes, dtype=object)
            array = array.reshape(-1, 1) if array.ndim == 1 else array
            columns = list(array.T)
            names = [f"x{j}" for j in range(len(columns))] if names is None else names
        blocks, labels = [], []
        for name, column in zip(names, columns):
            column = np.asarray(column, dtype=object)
            missing = _missing(column)
            values = np.unique(column[~missing].astype(str))
            block = (column.astype(str)[:, None] == values[None, :]).astype(float)
            block[missing] = np.nan
            blocks.append(block)
            labels += [f"{name}={v}" for v in values]
        return cls(np.hstack(blocks), names=np.array(labels))

    # ---- array-like protocol (scikit-learn indexes metadata by rows) --------------
    @property
    def shape(self):
        return self.matrix.shape

    def __len__(self):
        return self.matrix.shape[0]

    def __getitem__(self, rows):
        if isinstance(rows, tuple) and len(rows) == 2 and rows[1] is Ellipsis:
            rows = rows[0]  # scikit-learn's _safe_indexing asks for array[rows, ...]
        if isinstance(rows, tuple):
            raise IndexError("Memberships are indexed by rows only.")
        matrix = self.matrix[rows]
        if matrix.ndim == 1:
            raise IndexError("Memberships[i] of one row: index with a list or a slice.")
        out = object.__new__(Memberships)  # a subset of valid rows: no re-validation
        out.matrix, out.names = matrix, self.names
        return out

    def __repr__(self):
        kind = "binary" if self.is_binary else "soft"
        return (f"Memberships({self.shape[0]} rows, {self.shape[1]} {kind} groups "
                f"{self.names.tolist()})")

    # ---- what the matrix holds -------------------------------------------------------
    @property
    def unknown(self):
        """Rows with an unknown (NaN) entry."""
        return np.isnan(self.matrix).any(axis=1)

    @property
    def is_binary(self):
        known = self.matrix[~np.isnan(self.matrix)]
        return bool(np.all((known == 0) | (known == 1)))

    @property
    def is_one_hot(self):
        return bool(self.is_binary and not self.unknown.any()
                    and np.all(self.matrix.sum(axis=1) == 1))

    def sorted(self):
        """The same memberships with the columns in sorted name order (``groups_``)."""
        order = np.argsort(self.names, kind="stable")
        if np.array_equal(order, np.arange(order.shape[0])):
            return self
        out = object.__new__(Memberships)
        out.matrix, out.names = self.matrix[:, order], self.names[order]
        return out

    def strata(self):
        """A label per row for stratified splits: its set of groups (0/1), else the
        group of its largest membership."""
        known = np.nan_to_num(self.matrix, nan=0.0)
        dominant = np.array([f"d{g}" for g in np.argmax(known, axis=1)])
        if not self.is_binary:
            return dominant
        keys = np.array([row.tobytes().hex() for row in (known > 0).astype(np.uint8)])
        _, index, counts = np.unique(keys, return_inverse=True, return_counts=True)
        rare = counts[index.reshape(-1)] <= MIN_ROWS_PER_GROUP  # too few to split
        return np.where(rare, dominant, keys)

    def dominant_index(self):
        """Each row's group of largest membership (position in ``names``)."""
        return np.argmax(np.nan_to_num(self.matrix, nan=0.0), axis=1).astype(np.int64)


def _missing(column):
    """Missing entries (NaN, None, pandas NA) of an object column."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is installed with the test extras
        return np.array([v is None or v != v for v in column], dtype=bool)
    return np.asarray(pd.isna(column), dtype=bool)


def is_memberships(groups):
    return isinstance(groups, Memberships)


def one_hot_labels(memberships):
    """The labels of a one-hot matrix (the disjoint fast path), else ``None``."""
    if not memberships.is_one_hot:
        return None
    return memberships.names[np.argmax(memberships.matrix, axis=1)]


def check_memberships(memberships, n_samples, min_rows=MIN_ROWS_PER_GROUP):
    """Sorted memberships of ``n_samples`` rows whose every group has enough mass."""
    if memberships.shape[0] != n_samples:
        raise ValueError(f"groups (Memberships) has {memberships.shape[0]} rows but X has "
                         f"{n_samples}; give one row of memberships per row of X.")
    if memberships.unknown.any():
        raise ValueError(
            f"groups (Memberships) has {int(memberships.unknown.sum())} row(s) with unknown "
            "(NaN) memberships; set unknown_groups='nominal' or 'estimate' to allow them.")
    memberships = memberships.sorted()
    support = (memberships.matrix > 0).sum(axis=0)
    small = memberships.names[support < min_rows]
    if small.size:
        raise ValueError(
            f"Group(s) {small.tolist()} have positive membership in fewer than {min_rows} "
            f"rows (rows {support[support < min_rows].tolist()}); every group needs at "
            "least that many. Merge or drop them.")
    return memberships


def expand(matrix):
    """The (row, group) pairs of positive membership, row by row.

    Returns ``(rows, group_index, weights)``: each pair's row, group position and
    membership. A row of several groups appears once per group, in column order.
    """
    rows, group_index = np.nonzero(matrix > 0)
    return rows.astype(np.int64), group_index.astype(np.int64), matrix[rows, group_index]


def expand_to_fitted(memberships, fitted_labels, n_samples):
    """:func:`expand` of new data's memberships onto the fitted ``groups_`` order.

    Every column must name a fitted group; fitted groups without a column get no rows.
    """
    if memberships.shape[0] != n_samples:
        raise ValueError(f"groups (Memberships) has {memberships.shape[0]} rows but X has "
                         f"{n_samples}.")
    if memberships.unknown.any():
        raise ValueError("groups (Memberships) has unknown (NaN) memberships; evaluation "
                         "needs known groups.")
    fitted = list(np.asarray(fitted_labels).tolist())
    unknown = [n for n in memberships.names.tolist() if n not in fitted]
    if unknown:
        raise ValueError(f"groups contains labels not seen in fit: {unknown}; the fitted "
                         f"labels are {fitted}.")
    position = np.array([fitted.index(n) for n in memberships.names.tolist()], dtype=np.int64)
    rows, columns, weights = expand(memberships.matrix)
    index = position[columns]
    order = np.lexsort((index, rows))
    return rows[order], index[order], weights[order]


def weighted_group_means(values, memberships):
    """Membership-weighted mean of ``values`` (n,) per group, ``(n_groups,)``; NaN where
    a group has no mass."""
    matrix = np.nan_to_num(memberships.matrix, nan=0.0)
    mass = matrix.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, values @ matrix / mass, np.nan)


def group_rows(memberships):
    """``[(label, rows, weights or None)]``: each group's rows of positive membership
    and their memberships (``None`` when all are 1), in sorted label order."""
    m = memberships.sorted()
    out = []
    for g, label in enumerate(m.names):
        column = np.nan_to_num(m.matrix[:, g], nan=0.0)
        rows = np.flatnonzero(column > 0)
        if rows.size:
            weights = None if np.all(column[rows] == 1) else column[rows]
            out.append((label, rows, weights))
    return out


__all__ = [
    "Memberships",
    "UNKNOWN_GROUPS",
    "check_memberships",
    "expand",
    "expand_to_fitted",
    "group_rows",
    "is_memberships",
    "one_hot_labels",
    "weighted_group_means",
]
