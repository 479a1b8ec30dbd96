"""UCI Communities and Crime (normalised): :func:`fetch_communities_crime`."""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._base import RemoteFile, fetch_file
from ._prepare import describe, loader_parameters, make_bunch

COMMUNITIES_FILE = RemoteFile(
    folder="communities_crime",
    filename="communities.data",
    url="https://raw.githubusercontent.com/fau-is/gam_comparison/"
    "f6a7db25bf3ba5e0c08dfa6db6523b9726cb6621/data/communities.data",
    sha256="45d750185d12b51d229cf0756a27ac8b608ec8e90ef24e80e97d531d62923986",
    size=1102575,
)

#: The four race-percentage columns, in the order used for the plurality group (ties go to
#: the earlier column), with the group label of each.
COMMUNITIES_RACE_COLUMNS = {
    "racepctblack": "Black",
    "racePctWhite": "White",
    "racePctAsian": "Asian",
    "racePctHisp": "Hispanic",
}
COMMUNITIES_GROUPINGS = ("plurality_race", "black_majority")
_ID_COLUMNS = ("state", "county", "community", "communityname", "fold")
_TARGET = "ViolentCrimesPerPop"
_MISSING = "?"
# Columns missing in more than this share of rows are dropped (the 22 LEMAS police columns).
_MAX_MISSING_SHARE = 0.5
# racepctblack (normalised to [0, 1]) at or above this defines the "black_majority" group.
_BLACK_MAJORITY_THRESHOLD = 0.5

_DESCR = """\
UCI Communities and Crime (normalised)
======================================

1994 US communities described by socio-economic data of the 1990 US Census, law
enforcement data of the 1990 LEMAS survey and crime data of the 1995 FBI UCR; the target
is the number of violent crimes per population. All numeric columns are normalised to
[0, 1] (equal-interval binning after clipping at 3 standard deviations).

Source: UCI Machine Learning Repository, Communities and Crime (Redmond, 2009),
https://archive.ics.uci.edu/dataset/183/communities+and+crime; cite Redmond and Baveja,
"A data-driven software tool for enabling cooperative information sharing among police
departments", European Journal of Operational Research 141 (2002). File communities.data
downloaded by default from github.com/fau-is/gam_comparison (commit f6a7db2, MIT-licensed
repository), which adds a header line with the attribute names of communities.names to
UCI's 1994 rows. Licence: the UCI repository lists Creative Commons Attribution 4.0
(CC BY 4.0); communities.names asks for citations of UCI, the Census, LEMAS and FBI UCR
sources and Redmond and Baveja (2002).

Preparation: target ViolentCrimesPerPop (regression, in [0, 1]); all 1994 rows kept.
Features (not standardised): every other column except the 5 identifiers (state, county,
community, communityname, fold), the 4 race-percentage columns that define the groups
(racepctblack, racePctWhite, racePctAsian, racePctHisp; dropped for every group
definition) and the 22 columns missing in more than half of the rows (the LEMAS police
columns): 96 features. OtherPerCap's one missing value is imputed with the column median
over all rows (no label information is used).

{group_line}
Rows: {n_rows}, {n_features} features.
{counts}
"""

_GROUP_DOC = {
    "plurality_race": "the largest of the four normalised race percentages (Black, White, "
    "Asian, Hispanic; ties go to the first in that order). The columns are normalised "
    "separately, so this is the plurality of normalised shares, as in the literature.",
    "black_majority": "racepctblack >= 0.5 versus racepctblack < 0.5 (normalised value).",
}


def _number(text):
    return np.nan if text == _MISSING else float(text)


def _read(path):
    with open(path, encoding="utf-8") as handle:
        lines = [line.rstrip("\r\n") for line in handle if line.strip()]
    # The header's names come from communities.names' @attribute lines ("communityname
    # string" keeps its ARFF type): the first word is the name.
    names = [field.split()[0] for field in lines[0].split(",")]
    rows = [line.split(",") for line in lines[1:]]
    if any(len(row) != len(names) for row in rows):  # pragma: no cover - checksummed file
        raise ValueError(f"Rows of {path} do not all have {len(names)} fields.")
    return names, rows


@validate_params(loader_parameters(COMMUNITIES_GROUPINGS), prefer_skip_nested_validation=True)
def fetch_communities_crime(
    *,
    data_home=None,
    download_if_missing=True,
    groups="plurality_race",
    as_frame=False,
    base_url=None,
):
    """Load UCI Communities and Crime (normalised version) as a regression problem.

    Downloads ``communities.data`` (1.1 MB) on first use, checks its SHA-256 and caches it
    as ``<data_home>/communities_crime/communities.data``. The target is
    ``ViolentCrimesPerPop`` (normalised to [0, 1]); there are 1994 communities.

    =================  ===============================================================
    Samples            1994
    Features           96
    Target             ``ViolentCrimesPerPop``, real in [0, 1]
    Groups             plurality race (4) or racepctblack >= 0.5 (2)
    =================  ===============================================================

    Features (not standardised): every column except the 5 identifiers, the 4
    race-percentage columns that define the groups (dropped for both group definitions) and
    the 22 columns missing in more than half of the rows; ``OtherPerCap``'s one missing value
    is imputed with the column median (see ``DESCR``).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder; by default ``$PERGDRO_DATA_HOME`` or ``~/pergdro_sklearn_data``, see
        :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise a ``FileNotFoundError`` when the file is not in the data folder
        instead of downloading it.
    groups : {"plurality_race", "black_majority"}, default="plurality_race"
        Group definition. ``"plurality_race"``: the largest of the four normalised race
        percentages, labelled ``"Black"`` (219 rows), ``"White"`` (1572), ``"Asian"`` (88)
        and ``"Hispanic"`` (115); ties go to the first in that order. ``"black_majority"``:
        ``"racepctblack>=0.5"`` (244 rows) and ``"racepctblack<0.5"`` (1750).
    as_frame : bool, default=False
        If True, ``data`` is a pandas DataFrame of the 96 features (every feature is
        numeric, so the raw and the encoded columns are the same; ``categorical_features``
        is empty), ``target`` and ``groups`` are Series and ``frame`` holds the features
        and the target. ``data_encoded`` and ``feature_names_encoded`` hold the ndarray
        and its column names, as for the other loaders.
    base_url : str, default=None
        Mirror to download from, laid out as the data folder (the file is fetched from
        ``<base_url>/communities_crime/communities.data``); by default
        ``$PERGDRO_DATA_BASE_URL`` if set, otherwise the pinned source named in ``DESCR``.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (ndarray of float64, shape (1994, 96)), ``target`` (float64 in [0, 1]),
        ``groups`` (object array of str), ``feature_names``, ``target_names``
        (``["ViolentCrimesPerPop"]``), ``group_names``, ``dropped_columns`` (the mostly
        missing columns), ``imputed_columns``, ``task`` (``"regression"``), ``frame`` and
        ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If the file is missing and ``download_if_missing`` is False.
    OSError
        If the download fails or the file's checksum does not match.

    Examples
    --------
    >>> from pergdro_sklearn.datasets import fetch_communities_crime
    >>> crime = fetch_communities_crime()  # doctest: +SKIP
    >>> crime.data.shape  # doctest: +SKIP
    (1994, 96)
    """
    names, rows = _read(fetch_file(COMMUNITIES_FILE, data_home, download_if_missing, base_url))
    column = {name: [row[index] for row in rows] for index, name in enumerate(names)}
    y = np.array([float(v) for v in column[_TARGET]], dtype=np.float64)
    race = np.column_stack(
        [[float(v) for v in column[name]] for name in COMMUNITIES_RACE_COLUMNS]
    )
    if groups == "plurality_race":
        labels = np.asarray(list(COMMUNITIES_RACE_COLUMNS.values()), dtype=object)
        g = labels[np.argmax(race, axis=1)]
    else:
        g = np.where(
            race[:, 0] >= _BLACK_MAJORITY_THRESHOLD, "racepctblack>=0.5", "racepctblack<0.5"
        ).astype(object)

    excluded = set(_ID_COLUMNS) | set(COMMUNITIES_RACE_COLUMNS) | {_TARGET}
    candidates = [name for name in names if name not in excluded]
    values = np.column_stack([[_number(v) for v in column[name]] for name in candidates])
    missing_share = np.isnan(values).mean(axis=0)
    dropped = missing_share > _MAX_MISSING_SHARE
    dropped_columns = [name for name, drop in zip(candidates, dropped) if drop]
    values = values[:, ~dropped]
    feature_names = [name for name, drop in zip(candidates, dropped) if not drop]
    imputed_columns = []
    for index, name in enumerate(feature_names):
        missing = np.isnan(values[:, index])
        if missing.any():
            values[missing, index] = np.nanmedian(values[:, index])
            imputed_columns.append(name)
    descr = describe(_DESCR, groups, _GROUP_DOC, g, y, len(feature_names), task="regression")
    return make_bunch(
        X=values,
        y=y,
        groups=g,
        feature_names=feature_names,
        target_name=_TARGET,
        task="regression",
        descr=descr,
        as_frame=as_frame,
        dropped_columns=dropped_columns,
        imputed_columns=imputed_columns,
    )
