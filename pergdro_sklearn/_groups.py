"""Group labels: validation, encoding, per-group radii, the groups-missing warning.

Numpy only: every layer of the package (metrics, splits, training set-up,
estimators, search, ensembles) reads groups through these helpers.
"""

import numpy as np

from ._constants import (
    GROUP_LABEL_SEPARATOR,
    MAX_RADIUS,
    MIN_POSITIVE_RADIUS,
    MIN_ROWS_PER_GROUP,
)
from ._memberships import is_memberships, one_hot_labels
from ._warnings import warn_user


# --------------------------------------------------------------------------
# Validation helpers (numpy only)
# --------------------------------------------------------------------------
def _missing_labels(column):
    """Boolean mask of the missing entries (NaN, None, NaT, pandas NA) of a 1-D array."""
    kind = column.dtype.kind
    if kind == "f":
        return ~np.isfinite(column)
    if kind in "mM":
        return np.isnat(column)
    if kind != "O":
        return np.zeros(column.shape[0], dtype=bool)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is installed with the test extras
        pd = None
    if pd is not None:
        return np.asarray(pd.isna(column), dtype=bool)

    def missing(value):  # pragma: no cover - only without pandas
        try:
            return value is None or bool(value != value)
        except (TypeError, ValueError):  # pandas.NA cannot be compared
            return True

    return np.fromiter((missing(value) for value in column), dtype=bool, count=column.size)


def group_labels(groups, n_samples, allow_missing=False):
    """One label per row from 1-D groups or from several columns of attributes.

    ``groups`` may be 1-D (a list, an array, a pandas Series) or 2-D (a pandas
    DataFrame, or an array with one column per attribute). Several columns are
    intersected: a row's label is its labels joined with ``GROUP_LABEL_SEPARATOR``,
    e.g. ``"African-American|Male"``. Missing labels (NaN, None, NaT, pandas NA) are
    errors. Returns ``(labels, columns)``: the 1-D labels and a description of the
    columns for messages (``None`` for 1-D groups). With ``allow_missing=True`` missing
    labels are allowed and ``(labels, columns, missing)`` comes back, ``missing`` the
    rows with a missing label in some column (their labels are meaningless).
    """
    if is_memberships(groups):
        raise ValueError(
            "groups is a Memberships here, where group labels are expected; "
            "memberships are taken by fit, the search, the ensembles and the metrics.")
    names = None
    if hasattr(groups, "columns") and getattr(groups, "ndim", 1) == 2:  # a DataFrame
        names = [str(name) for name in groups.columns]
        columns = [groups.iloc[:, j].to_numpy() for j in range(groups.shape[1])]
        typed_columns = columns
    elif hasattr(groups, "to_numpy") and getattr(groups, "ndim", 1) == 1:  # a Series
        columns = typed_columns = [groups.to_numpy()]
    else:
        # Lists keep each label's type for the missing-label check (numpy would turn a
        # float NaN among strings into the string "nan").
        typed = np.asarray(groups, dtype=object) if isinstance(groups, (list, tuple)) else None
        array = np.asarray(groups)
        if array.ndim == 2 and (array.shape[1] == 1 or array.shape == (1, n_samples)):
            array = array.reshape(-1)
            typed = None if typed is None else typed.reshape(-1)
        if array.ndim not in (1, 2):
            raise ValueError(f"groups must be 1-D or 2-D, got shape {array.shape}.")
        if array.ndim == 1:
            columns = [array]
            typed_columns = [array if typed is None else typed]
        else:
            columns = list(array.T)
            typed_columns = columns if typed is None else list(typed.T)
    if not columns:
        raise ValueError(
            f"groups has {n_samples if names is not None else np.shape(groups)[0]} rows but "
            "no columns; give one group label per row (1-D), or one column per attribute.")
    if columns[0].shape[0] != n_samples:
        raise ValueError(
            f"groups has {columns[0].shape[0]} entries but X has {n_samples} rows; pass one "
            "group label per row."
        )
    missing = np.zeros(n_samples, dtype=bool)
    for column in typed_columns:
        if allow_missing:
            missing |= _missing_labels(column)
        else:
            _check_no_missing(column)
    if allow_missing and missing.any() and not missing.all():
        # a known label in the missing rows' place, so that the labels sort
        columns = [np.where(missing, column[~missing][0], column) for column in typed_columns]
    if len(columns) == 1:
        return (columns[0], None, missing) if allow_missing else (columns[0], None)
    if names is None:
        names = [f"column {j}" for j in range(len(columns))]
    texts = [column.astype(str) for column in columns]
    for name, text in zip(names, texts):
        joined = text[np.char.find(text, GROUP_LABEL_SEPARATOR) >= 0]
        if joined.size:
            raise ValueError(
                f"groups {name} has labels containing {GROUP_LABEL_SEPARATOR!r} (e.g. "
                f"{joined[0]!r}), which joins the columns' labels; rename them."
            )
    labels = texts[0]
    for text in texts[1:]:
        labels = np.char.add(np.char.add(labels, GROUP_LABEL_SEPARATOR), text)
    if allow_missing:
        return labels, GROUP_LABEL_SEPARATOR.join(names), missing
    return labels, GROUP_LABEL_SEPARATOR.join(names)


def _check_no_missing(column):
    """Missing group labels are errors: a row without a group cannot be weighted."""
    missing = _missing_labels(column)
    if np.any(missing):
        rows = np.flatnonzero(missing)
        what = "missing or infinite" if column.dtype.kind == "f" else "missing"
        raise ValueError(
            f"groups has {rows.size} {what} label(s) (NaN, None, NaT, NA"
            f"{', inf' if column.dtype.kind == 'f' else ''}), first at row(s) "
            f"{rows[:5].tolist()}; give every row a group, or drop those rows."
        )


def encode_groups(groups, n_samples, min_rows=MIN_ROWS_PER_GROUP):
    """Validate group labels; return ``(labels, group_index, counts)``.

    ``groups=None`` means one group. Labels may be ints or strings; ``labels`` are
    sorted and ``group_index`` maps each row to its position in ``labels``. 2-D groups
    (a DataFrame, or one column per attribute) are intersected into labels such as
    ``"African-American|Male"`` (see :func:`group_labels`).
    """
    if groups is None:
        return np.array([0]), np.zeros(n_samples, dtype=np.int64), np.array([n_samples])
    if is_memberships(groups) and one_hot_labels(groups) is not None:
        groups = one_hot_labels(groups)  # disjoint groups: the labels' path
    groups, columns = group_labels(groups, n_samples)
    labels, group_index = unique_labels(groups, "groups")
    group_index = group_index.reshape(-1)
    counts = np.bincount(group_index, minlength=labels.shape[0])
    small = labels[counts < min_rows]
    if small.size:
        cells = "" if columns is None else f" (intersections of {columns})"
        raise ValueError(
            f"Group(s) {small.tolist()}{cells} have fewer than {min_rows} rows "
            f"(counts {counts[counts < min_rows].tolist()}) among the {n_samples} rows given; "
            "merge or drop them. If the whole data set has enough rows of them, this fit got "
            "a subsample too small to hold every group: scikit-learn's HalvingGridSearchCV "
            "and HalvingRandomSearchCV subsample the rows by default (resource='n_samples'); "
            "halve by epochs instead with resource='max_iter' (and max_resources=the "
            "max_iter to reach), or raise min_resources; with small folds, use fewer of "
            "them or a group-stratified splitter."
        )
    return labels, group_index.astype(np.int64).reshape(-1), counts


def label_kind(label):
    """``"string"`` or ``"number"`` (bools and numpy scalars count as numbers)."""
    return "string" if isinstance(label, (str, np.str_, bytes)) else "number"


def unique_labels(values, what):
    """Sorted distinct labels of ``values`` and each value's position among them.

    A ValueError (not numpy's TypeError) when the labels mix strings and numbers,
    which cannot be sorted together.

    Examples
    --------
    >>> unique_labels(np.array(["b", "a", "b"]), "y")[0].tolist()
    ['a', 'b']
    >>> unique_labels(np.array([1, "a"], dtype=object), "y")
    Traceback (most recent call last):
    ...
    ValueError: y mixes labels of different types (int, str): they cannot be sorted together. ...
    """
    values = np.asarray(values)
    try:
        return np.unique(values, return_inverse=True)
    except TypeError:
        kinds = sorted({type(label).__name__ for label in values.ravel().tolist()})
        raise ValueError(
            f"{what} mixes labels of different types ({', '.join(kinds)}): they cannot be "
            "sorted together. Give every label as a string, or every label as a number."
        ) from None


def positions_in(labels, values, what):
    """Position of each of ``values`` in the sorted ``labels``; unknown values are errors.

    ``what`` names the values in messages (``"groups"``, ``"y"``...). Returns an
    int64 array of the shape of ``values``.
    """
    values = np.asarray(values)
    try:
        position = np.searchsorted(labels, values)
    except TypeError:
        raise ValueError(
            f"{what} labels ({values.dtype}) cannot be compared with the fitted labels "
            f"{labels.tolist()}."
        ) from None
    position = np.clip(position, 0, labels.shape[0] - 1)
    unknown = labels[position] != values
    if np.any(unknown):
        raise ValueError(
            f"{what} contains labels not seen in fit: {np.unique(values[unknown]).tolist()}; "
            f"the fitted labels are {labels.tolist()}."
        )
    return position.astype(np.int64)


def index_groups(groups, labels, n_samples):
    """Map labels of new data onto the fitted ``labels``; unknown labels are errors."""
    if groups is None:
        if labels.shape[0] != 1:
            raise ValueError(
                f"groups is required: the model was fitted on {labels.shape[0]} groups."
            )
        return np.zeros(n_samples, dtype=np.int64)
    if np.ndim(groups) == 1 and np.shape(groups)[0] != n_samples:
        raise ValueError(f"groups has {np.shape(groups)[0]} entries but X has {n_samples} rows.")
    return positions_in(labels, group_labels(groups, n_samples)[0], "groups")


def resolve_epsilons(epsilon, labels):
    """Per-group radii in ``labels`` order from a float, an array, a dict or a Series.

    A dict names groups (the others get 0); a pandas Series is matched by its index,
    which must name every group once; a tuple key names an intersection of 2-D groups.
    """
    n_groups = labels.shape[0]
    if hasattr(epsilon, "index") and hasattr(epsilon, "to_numpy") and np.ndim(epsilon) == 1:
        index = list(epsilon.index)
        if len(set(index)) != len(index) or set(index) != set(labels.tolist()):
            raise ValueError(
                f"epsilon is a Series indexed by {index}; its index must name each of the "
                f"fitted groups {labels.tolist()} once (a Series is matched by label)."
            )
        epsilon = dict(zip(index, epsilon.to_numpy()))
    if isinstance(epsilon, dict):
        epsilon = {
            GROUP_LABEL_SEPARATOR.join(map(str, key)) if isinstance(key, tuple) else key: value
            for key, value in epsilon.items()
        }
        unknown = [k for k in epsilon if k not in set(labels.tolist())]
        if unknown:
            raise ValueError(
                f"epsilon names unknown groups {unknown}; fitted groups are {labels.tolist()}."
            )
        eps = np.array([float(epsilon.get(label, 0.0)) for label in labels.tolist()])
    elif np.ndim(epsilon) == 0:
        eps = np.full(n_groups, float(epsilon))
    elif np.ndim(epsilon) > 1:
        raise ValueError(
            f"epsilon must be a number, a 1-D array with one radius per group, or a dict; "
            f"got an array of shape {np.shape(epsilon)}."
        )
    else:
        eps = np.asarray(epsilon, dtype=float).reshape(-1)
        if eps.shape[0] != n_groups:
            raise ValueError(
                f"epsilon has {eps.shape[0]} values but there are {n_groups} groups "
                f"{labels.tolist()}; give one radius per group in that order."
            )
    if not np.all(np.isfinite(eps)) or np.any(eps < 0):
        raise ValueError(f"epsilon must be finite and non-negative, got {eps.tolist()}.")
    return check_radius_range(eps, "epsilon")


def check_radius_range(values, name):
    """``values`` (radii), unless one lies outside what float32 training holds.

    A radius is 0 or lies in ``[MIN_POSITIVE_RADIUS, MAX_RADIUS]``: smaller positive
    radii round to 0 in float32 (the attack vanishes while the fitted ``epsilons_``
    say otherwise), and the squared norms of larger perturbations overflow float32.

    Examples
    --------
    >>> check_radius_range([0.0, 0.5], "epsilon").tolist()
    [0.0, 0.5]
    >>> check_radius_range([1e38], "epsilon")
    Traceback (most recent call last):
    ...
    ValueError: epsilon holds the radius 1e+38, beyond what float32 training can hold ...
    """
    values = np.asarray(values, dtype=float)
    tiny = values[(values > 0) & (values < MIN_POSITIVE_RADIUS)]
    if tiny.size:
        raise ValueError(
            f"{name} holds the radius {tiny[0]:.4g}, below float32's smallest normal number "
            f"({MIN_POSITIVE_RADIUS:.4g}): training (in float32) would treat it as 0. Use 0, "
            f"or radii of at least {MIN_POSITIVE_RADIUS:.4g} (on the scale of standardised "
            "features, radii below about 1e-6 do nothing).")
    huge = values[values > MAX_RADIUS]
    if huge.size:
        raise ValueError(
            f"{name} holds the radius {huge[0]:.4g}, beyond what float32 training can hold "
            f"(at most {MAX_RADIUS:.4g}, the square root of float32's largest number: the "
            "squared norms of larger perturbations overflow). Standardise the features and "
            "use radii on their scale.")
    return values


def check_radius(value, name):
    """A finite, non-negative scalar radius."""
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and non-negative, got {value}.")
    return value


def groups_or_alias(groups, sensitive_features):
    """``groups``, or ``sensitive_features`` when only that is given.

    ``sensitive_features`` is fairlearn's name for the per-row group attribute; it is
    accepted wherever ``groups`` is, in direct calls. Passing both is an error, even
    when they hold the same values.

    Examples
    --------
    >>> groups_or_alias(None, ["a", "b"])
    ['a', 'b']
    >>> groups_or_alias([0, 1], None)
    [0, 1]
    """
    if sensitive_features is None:
        return groups
    if groups is not None:
        raise ValueError(
            "Pass groups or sensitive_features, not both: sensitive_features is an alias of "
            "groups (fairlearn's name for the same per-row labels)."
        )
    return sensitive_features


def groups_from_fit_kwargs(groups, kwargs, owner):
    """``groups``, or its alias ``sensitive_features`` among a ``fit``'s extra keywords.

    ``fit`` takes the alias through ``**kwargs`` rather than a named parameter: metadata
    routing reads the names of ``fit``'s parameters, and it should offer ``groups``
    only (see :func:`groups_or_alias`). Any other keyword is a TypeError.
    """
    unknown = sorted(set(kwargs) - {"sensitive_features"})
    if unknown:
        raise TypeError(
            f"{owner}.fit() got unexpected keyword argument(s) {unknown}; the group labels "
            "go in groups= (or its alias sensitive_features=)."
        )
    return groups_or_alias(groups, kwargs.get("sensitive_features"))


class GroupsMissingWarning(UserWarning):
    """A group-robust estimator was fitted without ``groups`` while a setting needs them.

    Without groups the estimator trains on one group, so the inter-group radius
    ``rho``, per-group radii and GroupDRO's reweighting have no effect.
    """


GROUPS_MISSING_FIX = (
    "Likely cause: it was fitted inside a Pipeline, cross_validate or a search with "
    "metadata routing off (groups then go to the splitter only), or with routing on but "
    "without set_fit_request(groups=True). Fix: sklearn.set_config("
    "enable_metadata_routing=True) and estimator.set_fit_request(groups=True), then pass "
    "groups=... to the outer fit (or pass groups=... to fit directly)."
)


def settings_needing_groups(estimator):
    """The settings of ``estimator`` that have no effect without groups (descriptions)."""
    params = estimator.get_params(deep=False)
    if "rho" not in params:  # GroupDRO: reweighting groups is the whole method
        return [f"{type(estimator).__name__}'s group reweighting"]
    needs = [f"rho={params['rho']!r}"] if params["rho"] > 0 else []
    epsilon = params.get("epsilon")
    if isinstance(epsilon, dict) or np.ndim(epsilon) > 0:
        needs.append("a per-group epsilon")
    return needs


def warn_if_groups_missing(estimator, groups):
    """Warn (:class:`GroupsMissingWarning`) when ``groups`` is None but needed.

    Needed means ``rho > 0``, a per-group ``epsilon`` (array or dict), or any
    GroupDRO estimator. ``rho=0`` with a scalar ``epsilon`` trains without groups
    on purpose and stays silent. The warning's location is the user's call.
    """
    if groups is not None:
        return
    needs = settings_needing_groups(estimator)
    if needs:
        warn_user(
            f"{type(estimator).__name__} was fitted without groups: it trains on one group, "
            f"so {' and '.join(needs)} has no effect. {GROUPS_MISSING_FIX}",
            GroupsMissingWarning)


__all__ = [
    "GROUPS_MISSING_FIX",
    "GroupsMissingWarning",
    "check_radius",
    "check_radius_range",
    "label_kind",
    "unique_labels",
    "encode_groups",
    "group_labels",
    "groups_from_fit_kwargs",
    "groups_or_alias",
    "index_groups",
    "positions_in",
    "resolve_epsilons",
    "settings_needing_groups",
    "warn_if_groups_missing",
]
