"""Every group-stratified split of the package: every group on every side.

:func:`stratified_holdout` is the one holdout (early stopping, the search's
default split, the ensembles' validation part), built on :func:`stratified_order`
(which the data sets' train / validation / test split uses too);
:func:`make_group_folds` builds the search's default splits (that holdout or ``k``
stratified folds); :func:`make_folds` resolves the search's ``cv`` (those
defaults, a splitter or an iterable of splits) and checks that every group is in
every training part.
"""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state

from ._constants import DEFAULT_SEARCH_HOLDOUT, MIN_ROWS_PER_GROUP, SEED_MAX


def _split_ok(group_index, n_groups, folds):
    """Labels of the groups missing from a validation part or short in a training part."""
    bad = set()
    for train, val in folds:
        train_counts = np.bincount(group_index[train], minlength=n_groups)
        val_counts = np.bincount(group_index[val], minlength=n_groups)
        bad.update(np.flatnonzero((train_counts < MIN_ROWS_PER_GROUP) | (val_counts < 1)).tolist())
    return sorted(bad)


def stratified_order(labels, rng):
    """Random order of ``range(len(labels))`` in which every prefix is class balanced.

    Each class is shuffled and its members are placed at the evenly spaced keys
    ``(rank + u_c) / n_c`` (``u_c`` uniform, one per class); sorting the keys interleaves the
    classes so that any contiguous block holds each class within about one row of its
    proportional share.
    """
    positions, keys = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_c = len(members)
        positions.append(members)
        keys.append((np.arange(n_c) + rng.uniform()) / n_c)
    positions_arr = np.concatenate(positions)
    return positions_arr[np.argsort(np.concatenate(keys), kind="stable")]


def make_group_folds(cv, group_index, labels, classes_index=None, random_state=None):
    """Stratified splits in which every group is in every training and validation part.

    A holdout (``cv`` a float) is :func:`stratified_holdout` of each group, balanced
    over the classes of classifiers; ``k`` folds are stratified by (group, class)
    cells when every cell is large enough, else by the groups alone.

    Parameters
    ----------
    cv : int or float
        ``k >= 2`` folds, or the validation fraction of one holdout split.
    group_index : ndarray of shape (n_samples,)
        Position of each row's group in ``labels``.
    labels : ndarray of shape (n_groups,)
    classes_index : ndarray of shape (n_samples,), default=None
        Class of each row (classifiers).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    folds : list of (train, validation) index arrays

    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn._splits import make_group_folds
    >>> group_index = np.repeat([0, 1], [20, 5])
    >>> folds = make_group_folds(0.2, group_index, np.array(["a", "b"]), random_state=0)
    >>> np.bincount(group_index[folds[0][1]]).tolist()
    [4, 1]
    """
    n_groups = labels.shape[0]
    seed = check_random_state(random_state).randint(SEED_MAX)
    holdout = isinstance(cv, Real) and not isinstance(cv, Integral)
    if holdout:
        bad = np.flatnonzero(np.bincount(group_index, minlength=n_groups)
                             < MIN_ROWS_PER_GROUP + 1).tolist()
        if not bad:
            strata = np.zeros_like(group_index) if classes_index is None else classes_index
            is_val = stratified_holdout(group_index, strata, float(cv),
                                        np.random.RandomState(seed))
            folds = [(np.flatnonzero(~is_val), np.flatnonzero(is_val))]
            bad = _split_ok(group_index, n_groups, folds)
            if not bad:
                return folds
    else:
        bad = []
        # (group, class) cells where every cell can be in every fold, else the groups
        cells = [group_index] if classes_index is None else [
            group_index * (int(classes_index.max()) + 1) + classes_index, group_index]
        for strata in cells:
            _, strata = np.unique(strata, return_inverse=True)
            if np.bincount(strata).min() < cv:
                bad = np.flatnonzero(np.bincount(group_index, minlength=n_groups) < cv).tolist()
                continue
            splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed)
            folds = [(np.sort(tr), np.sort(va))
                     for tr, va in splitter.split(np.zeros((strata.shape[0], 1)), strata)]
            bad = _split_ok(group_index, n_groups, folds)
            if not bad:
                return folds
    names = [labels[i].item() if hasattr(labels[i], "item") else labels[i] for i in bad]
    sizes = np.bincount(group_index, minlength=n_groups)[bad].tolist()
    need = (f"{MIN_ROWS_PER_GROUP + 1} rows for a holdout split (1 for validation, "
            f"{MIN_ROWS_PER_GROUP} for training)" if holdout
            else f"enough rows for {cv} folds (one validation row per fold and "
                 f"{MIN_ROWS_PER_GROUP} training rows)")
    raise ValueError(
        f"Group(s) {names} (rows {sizes}) are too small to appear in every split: each "
        f"group needs {need}. Merge small groups or use fewer folds."
    )


def make_folds(cv, X, y, groups, labels, group_index, classes_index, seed):
    """The search's ``(train, validation)`` index pairs for ``cv``.

    Parameters
    ----------
    cv : int, float, cross-validation splitter, iterable or None
        As the search's ``cv``; ``None`` is the default holdout.
    X, y : array-like
        Passed to a splitter's ``split``.
    groups : ndarray of shape (n_samples,)
        Group labels, passed to a splitter's ``split``.
    labels : ndarray of shape (n_groups,)
    group_index : ndarray of shape (n_samples,)
    classes_index : ndarray of shape (n_samples,) or None
    seed : int
        Seeds the default splits.

    Returns
    -------
    folds : list of (train, validation) index arrays
    """
    cv = DEFAULT_SEARCH_HOLDOUT if cv is None else cv
    if isinstance(cv, Real) and not isinstance(cv, Integral):
        if not 0 < cv < 1:
            raise ValueError(f"A float cv is a validation fraction in (0, 1), got {cv}.")
        return make_group_folds(cv, group_index, labels, classes_index, seed)
    if isinstance(cv, Integral):
        return make_group_folds(int(cv), group_index, labels, classes_index, seed)
    splitter = check_cv(cv)
    with warnings.catch_warnings():
        # the search always hands groups over; splitters that ignore them may say so
        warnings.filterwarnings("ignore", message="The groups parameter is ignored",
                                category=UserWarning)
        folds = [(np.asarray(tr), np.asarray(va)) for tr, va in splitter.split(X, y, groups)]
    if not folds:
        raise ValueError("cv produced no splits.")
    n_groups = labels.shape[0]
    for k, (train, val) in enumerate(folds):
        counts = np.bincount(group_index[train], minlength=n_groups)
        short = labels[counts < MIN_ROWS_PER_GROUP].tolist()
        if short:
            raise ValueError(
                f"Training part {k} of cv has fewer than {MIN_ROWS_PER_GROUP} rows of "
                f"group(s) {short}; every group must be in every training part."
            )
        if val.size == 0:
            raise ValueError(f"Validation part {k} of cv is empty.")
    return folds


__all__ = ["make_folds", "make_group_folds"]


def stratified_holdout(group_index, strata, fraction, rng):
    """Boolean mask of a holdout with ``fraction`` of each group's rows.

    The one holdout of the package (the search's default split, early stopping,
    the ensembles' validation part): each group's rows are put in a random order
    in which every prefix is balanced over ``strata`` (the class, or zeros;
    :func:`stratified_order`), and the first ``round(fraction * n_g)`` of them are
    held out, so every stratum keeps its share. Every group keeps at least one row
    on each side.
    """
    mask = np.zeros(group_index.shape[0], dtype=bool)
    for g in np.unique(group_index):
        rows = np.flatnonzero(group_index == g)
        n_g = rows.shape[0]
        if n_g < MIN_ROWS_PER_GROUP:
            raise ValueError(
                f"A holdout needs at least {MIN_ROWS_PER_GROUP} rows per group (one for "
                f"training, one for validation); a group has {n_g}."
            )
        n_val = int(np.clip(round(fraction * n_g), 1, n_g - 1))
        mask[rows[stratified_order(strata[rows], rng)[:n_val]]] = True
    return mask
