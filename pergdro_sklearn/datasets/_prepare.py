"""Shared steps of the real-data preparation: one-hot encoding, the Bunch, its description."""

from __future__ import annotations

import csv
import os
import textwrap

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions


def loader_parameters(groupings):
    """The parameter constraints every loader shares, with its ``groups`` options."""
    return {
        "data_home": [str, os.PathLike, None],
        "download_if_missing": ["boolean"],
        "groups": [StrOptions(set(groupings))],
        "as_frame": ["boolean"],
        "base_url": [str, None],
    }


def read_columns(path):
    """The columns of a CSV file with a header line, by name, as lists of str.

    A name that the header repeats gives its first column; unnamed columns (R's row
    names) are left out.
    """
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header, rows = rows[0], rows[1:]
    first = {}
    for index, name in enumerate(header):
        if name:
            first.setdefault(name, index)
    return {name: [row[index] for row in rows] for name, index in first.items()}


def one_hot(columns):
    """Full one-hot encoding: one float column per observed level, levels sorted.

    Parameters
    ----------
    columns : dict of str to sequence of str
        Column name to values.

    Returns
    -------
    blocks : list of ndarray
        The 0/1 columns.
    names : list of str
        ``"<column>=<level>"`` for each block.
    """
    blocks, names = [], []
    for column, values in columns.items():
        levels, codes = np.unique(np.asarray(values, dtype=str), return_inverse=True)
        indicator = np.zeros((len(codes), len(levels)), dtype=np.float64)
        indicator[np.arange(len(codes)), codes.ravel()] = 1.0
        blocks.extend(indicator.T)
        names.extend(f"{column}={level}" for level in levels)
    return blocks, names


def assemble(numeric, categorical):
    """Feature matrix from numeric columns followed by one-hot categorical ones.

    Parameters
    ----------
    numeric : dict of str to array-like of float
        Numeric columns, in order.
    categorical : dict of str to sequence of str
        Categorical columns, in order, one-hot encoded by :func:`one_hot`.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), dtype float64
        The features (never NaN or infinite).
    feature_names : list of str
        Column names of ``X``.
    """
    blocks = [np.asarray(values, dtype=np.float64) for values in numeric.values()]
    cat_blocks, cat_names = one_hot(categorical)
    X = np.column_stack(blocks + cat_blocks).astype(np.float64, copy=False)
    if not np.isfinite(X).all():
        raise ValueError("The prepared feature matrix contains NaN or infinite values.")
    return X, list(numeric) + cat_names


def drop_missing(table, columns, missing="NA"):
    """The rows of ``table`` (column name to values) with no ``missing`` value in any of
    ``columns``, every column as an object array."""
    table = {name: np.asarray(values, dtype=object) for name, values in table.items()}
    keep = np.logical_and.reduce([table[name] != missing for name in columns])
    return {name: values[keep] for name, values in table.items()}


def describe(template, groups, group_doc, g, y, n_features, task="classification", **fields):
    """A loader's ``DESCR``: ``template`` with its group definition (``group_doc[groups]``),
    row and feature counts and rows per group filled in, and any other ``fields``."""
    return template.format(group_line=group_line(groups, group_doc[groups]), n_rows=len(y),
                           n_features=n_features, counts=count_lines(g, y, task), **fields)


def group_line(name, doc):
    """The description's line on the group definition, wrapped."""
    return textwrap.fill(f"Groups ({name}): {doc}", width=88)


def count_lines(groups, target=None, task="classification"):
    """Rows per group as description lines (with the positive rate or the target mean)."""
    groups = np.asarray(groups, dtype=object)
    names, counts = np.unique(groups, return_counts=True)
    lines = []
    for name, count in zip(names, counts):
        line = f"- {name}: {count} rows"
        if target is not None:
            mean = float(np.mean(np.asarray(target, dtype=float)[groups == name]))
            stat = "positive rate" if task == "classification" else "mean target"
            line += f" ({stat} {mean:.3f})"
        lines.append(line)
    return "\n".join(lines)


def _pandas():
    try:
        import pandas
    except ImportError as error:  # pragma: no cover - pandas is a test dependency
        raise ImportError(
            "as_frame=True needs pandas; install it (pip install pandas) or use as_frame=False."
        ) from error
    return pandas


def raw_frame(columns, integers=(), ordered=None):
    """The raw columns as a DataFrame: integers as int64, the rest as pandas categoricals.

    Parameters
    ----------
    columns : dict of str to sequence of str
        Column name to the values read from the file, in order.
    integers : sequence of str, default=()
        Columns read as int64.
    ordered : dict of str to sequence of str, default=None
        Categorical columns with a natural order, with their levels in that order. The
        levels of the other categorical columns are the observed values, sorted. An empty
        value becomes missing (NaN), not a level.

    Returns
    -------
    frame : pandas.DataFrame
    """
    pd = _pandas()
    ordered = ordered or {}
    data = {}
    for name, values in columns.items():
        values = np.asarray(values, dtype=object)
        if name in integers:
            data[name] = values.astype(np.int64)
            continue
        values = np.array([v.strip() if v.strip() else None for v in values], dtype=object)
        levels = ordered.get(name, sorted({v for v in values if v is not None}))
        data[name] = pd.Categorical(values, categories=list(levels), ordered=name in ordered)
    return pd.DataFrame(data)


def make_bunch(*, X, y, groups, feature_names, target_name, task, descr, as_frame, raw=None,
               **extra):
    """The loaders' Bunch, with pandas objects when ``as_frame`` is True.

    With ``as_frame=True``, ``data`` is the raw frame ``raw`` (categorical columns as
    pandas categoricals; the encoded features' DataFrame when ``raw`` is None),
    ``feature_names`` its columns, ``target`` a Series named ``target_name``, ``groups`` a
    Series named ``"group"`` and ``frame`` the DataFrame of ``data`` followed by the
    target. The encoded features are kept beside it: ``data_encoded`` (the ndarray that
    ``as_frame=False`` returns as ``data``) and ``feature_names_encoded``.
    """
    groups = np.asarray(groups, dtype=object)
    bunch = Bunch(
        data=X,
        target=y,
        groups=groups,
        feature_names=list(feature_names),
        target_names=[target_name],
        group_names=np.unique(groups),
        task=task,
        frame=None,
        DESCR=descr,
        **extra,
    )
    if as_frame:
        pd = _pandas()
        bunch.data_encoded = X
        bunch.feature_names_encoded = list(feature_names)
        bunch.data = pd.DataFrame(X, columns=list(feature_names)) if raw is None else raw
        bunch.feature_names = [str(c) for c in bunch.data.columns]
        bunch.categorical_features = [
            str(c) for c in bunch.data.columns
            if isinstance(bunch.data[c].dtype, pd.CategoricalDtype)]
        bunch.target = pd.Series(y, name=target_name)
        bunch.groups = pd.Series(groups, name="group")
        bunch.frame = pd.concat([bunch.data, bunch.target], axis=1)
    return bunch
