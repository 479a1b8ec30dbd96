"""Loading and splitting of the real tabular data sets used by the benchmarks.

Three public data sets from the group-robustness and fairness literature are supported:

* COMPAS two-year recidivism (ProPublica), binary classification, :func:`load_compas`;
* UCI Adult / Census Income, binary classification, :func:`load_adult`;
* UCI Communities and Crime (normalised), regression, :func:`load_communities`.

The data are never shipped with (or copied into) this repository. They are read from a data
folder resolved by :func:`get_data_home`, in this order:

1. an explicit ``data_home`` argument;
2. the environment variable ``PERGDRO_DATA_HOME``;
3. ``<repository root>/../shared/data``, where the repository root is the parent of the
   ``benchmarks/`` folder that holds this module.

The folder is expected to contain ``compas/compas-scores-two-years.csv``,
``adult/adult.data``, ``adult/adult.test`` (plus ``adult/adult.names``) and
``communities_crime/communities.data`` (plus ``communities_crime/communities.names``).

Every loader returns a :class:`sklearn.utils.Bunch` with

``X``
    float64 array of shape (n_samples, n_features), no NaN, *not* standardised (the benchmarks
    put a :class:`~sklearn.preprocessing.StandardScaler` in their pipelines);
``y``
    int64 0/1 labels (classification) or float64 targets (regression);
``groups``
    object array of str group labels, one per row;
``feature_names``, ``group_names``, ``target_name``, ``task``, ``description``
    and data-set specific extras (``is_test`` for Adult, ``dropped_columns`` for Communities).

The attributes that define the groups are always excluded from the features (the models get no
direct access to group membership); correlated proxies (e.g. Adult's ``relationship``, which
contains ``Husband``/``Wife``) are kept, as in the literature.

:func:`train_val_test_split_by_group` splits any of them into train / validation / test parts,
stratified by group (and by class for classification), with an explicit policy for groups that
are too small to be split (``small_groups="drop"`` or ``"merge"``).
"""

from __future__ import annotations

import csv
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.multiclass import type_of_target

__all__ = [
    "DATA_HOME_ENV",
    "COMPAS_FORBIDDEN_FEATURES",
    "COMMUNITIES_RACE_COLUMNS",
    "get_data_home",
    "data_available",
    "load_compas",
    "load_adult",
    "load_communities",
    "train_val_test_split_by_group",
    "describe",
    "describe_split",
]

#: Name of the environment variable that points to the data folder.
DATA_HOME_ENV = "PERGDRO_DATA_HOME"

_REPO_ROOT = Path(__file__).resolve().parent.parent

_COMPAS_FILE = ("compas", "compas-scores-two-years.csv")
_ADULT_DIR = "adult"
_COMMUNITIES_DIR = "communities_crime"

#: COMPAS columns that must never be used as features: the COMPAS scores themselves, the
#: recidivism outcomes (target leakage), and the survival-analysis bookkeeping derived from them.
COMPAS_FORBIDDEN_FEATURES = (
    "decile_score",
    "score_text",
    "type_of_assessment",
    "v_decile_score",
    "v_score_text",
    "v_type_of_assessment",
    "is_recid",
    "is_violent_recid",
    "violent_recid",
    "two_year_recid",
    "r_case_number",
    "r_charge_degree",
    "r_days_from_arrest",
    "r_offense_date",
    "r_charge_desc",
    "r_jail_in",
    "r_jail_out",
    "vr_case_number",
    "vr_charge_degree",
    "vr_offense_date",
    "vr_charge_desc",
    "start",
    "end",
    "event",
)

_COMPAS_NUMERIC = ("age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count")
_COMPAS_GROUPINGS = ("race", "sex", "race_sex")

# Column names of adult.data / adult.test, in file order (they are listed in adult.names).
_ADULT_COLUMNS = (
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
)
_ADULT_NUMERIC = ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week")
_ADULT_CATEGORICAL = ("workclass", "marital-status", "occupation", "relationship", "native-country")

#: The four race-percentage columns of Communities and Crime, in the order used for the
#: plurality group (ties go to the earlier column), with the group label of each.
COMMUNITIES_RACE_COLUMNS = {
    "racepctblack": "Black",
    "racePctWhite": "White",
    "racePctAsian": "Asian",
    "racePctHisp": "Hispanic",
}
_COMMUNITIES_ID_COLUMNS = ("state", "county", "community", "communityname", "fold")
_COMMUNITIES_TARGET = "ViolentCrimesPerPop"
_COMMUNITIES_GROUPINGS = ("plurality_race", "black_majority")

# A class x group cell needs this many rows to have one in each of train, validation and test.
_MIN_CELL = 3


# ---------------------------------------------------------------------------------------------
# Data folder
# ---------------------------------------------------------------------------------------------


def _default_data_home() -> Path:
    return _REPO_ROOT.parent / "shared" / "data"


def get_data_home(data_home=None) -> Path:
    """Resolve the folder that holds the real data sets.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit folder. When None, the environment variable ``PERGDRO_DATA_HOME`` is used if it
        is set and non-empty, otherwise ``<repository root>/../shared/data``.

    Returns
    -------
    path : pathlib.Path
        The resolved folder.

    Raises
    ------
    FileNotFoundError
        If the resolved folder does not exist. An explicit argument or a set environment
        variable that points nowhere is an error, not a reason to fall back to the default.
    """
    if data_home is not None:
        path, origin = Path(data_home), "the data_home argument"
    elif os.environ.get(DATA_HOME_ENV):
        path, origin = Path(os.environ[DATA_HOME_ENV]), f"${DATA_HOME_ENV}"
    else:
        path, origin = _default_data_home(), "the default <repo root>/../shared/data"
    path = path.expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"Data folder {str(path)!r} (from {origin}) does not exist. Pass data_home=... or "
            f"set {DATA_HOME_ENV} to the folder holding compas/, adult/ and communities_crime/."
        )
    return path


def _required_files(home: Path) -> list[Path]:
    return [
        home.joinpath(*_COMPAS_FILE),
        home / _ADULT_DIR / "adult.data",
        home / _ADULT_DIR / "adult.test",
        home / _COMMUNITIES_DIR / "communities.data",
    ]


def data_available(data_home=None) -> bool:
    """Tell whether all three data sets can be found.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Resolved as in :func:`get_data_home`.

    Returns
    -------
    available : bool
        True when the data folder exists and holds the COMPAS, Adult and Communities files.
    """
    try:
        home = get_data_home(data_home)
    except FileNotFoundError:
        return False
    return all(path.is_file() for path in _required_files(home))


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"Expected data file {str(path)!r} is missing.")
    return path


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _one_hot(frame: pd.DataFrame, columns) -> tuple[list[np.ndarray], list[str]]:
    """Full one-hot encoding (one column per observed level, levels sorted)."""
    blocks, names = [], []
    for column in columns:
        values = frame[column].astype(str).to_numpy(dtype=object)
        for level in sorted(set(values)):
            blocks.append((values == level).astype(np.float64))
            names.append(f"{column}={level}")
    return blocks, names


def _assemble(frame: pd.DataFrame, numeric, categorical) -> tuple[np.ndarray, list[str]]:
    blocks = [frame[column].to_numpy(dtype=np.float64) for column in numeric]
    names = list(numeric)
    cat_blocks, cat_names = _one_hot(frame, categorical)
    X = np.column_stack(blocks + cat_blocks).astype(np.float64, copy=False)
    if not np.isfinite(X).all():  # pragma: no cover - guarded by the preparation above
        raise ValueError("Prepared feature matrix contains NaN or infinite values.")
    return X, names + cat_names


def _labels(values) -> np.ndarray:
    return np.asarray([str(v) for v in values], dtype=object)


def _dedupe(names: list[str]) -> list[str]:
    """Make column names unique by suffixing repeats with ``__dup<k>``."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        out.append(name if count == 0 else f"{name}__dup{count}")
        seen[name] = count + 1
    return out


# ---------------------------------------------------------------------------------------------
# COMPAS
# ---------------------------------------------------------------------------------------------


def load_compas(data_home=None, groups="race") -> Bunch:
    """Load ProPublica's COMPAS two-year recidivism data.

    ProPublica's filter is applied: ``-30 <= days_b_screening_arrest <= 30``,
    ``is_recid != -1``, ``c_charge_degree != 'O'`` and ``score_text != 'N/A'``, leaving 6172
    rows. The target is ``two_year_recid``.

    Features (not standardised): ``age``, ``priors_count``, ``juv_fel_count``,
    ``juv_misd_count``, ``juv_other_count`` (numeric) and one-hot ``c_charge_degree`` (F/M),
    plus one-hot ``sex`` and/or ``race`` *only when that attribute is not part of the grouping*:
    ``groups="race"`` keeps ``sex=*``, ``groups="sex"`` keeps ``race=*``, ``groups="race_sex"``
    keeps neither. No COMPAS score column (``decile_score``, ``score_text``, ``v_*``, ...), no
    recidivism outcome column (``is_recid``, ``r_*``, ``vr_*``, ...), no survival bookkeeping
    (``start``, ``end``, ``event``) and no identifier, date or free-text column is used;
    ``age_cat`` is left out as redundant with ``age``. The header repeats ``decile_score`` and
    ``priors_count``; the repeats are renamed ``<name>__dup1`` and not used.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder, resolved as in :func:`get_data_home`.
    groups : {"race", "sex", "race_sex"}, default="race"
        Group attribute: race (6 values: African-American, Asian, Caucasian, Hispanic,
        Native American, Other), sex (Female, Male), or their product labelled ``"race|sex"``
        (e.g. ``"Caucasian|Female"``).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` (float64, (6172, n_features)), ``y`` (int64 0/1), ``groups`` (object array of
        str), ``feature_names`` (list of str), ``group_names`` (sorted ndarray of str),
        ``target_name``, ``task`` (``"classification"``) and ``description``.
    """
    if groups not in _COMPAS_GROUPINGS:
        raise ValueError(f"groups must be one of {_COMPAS_GROUPINGS}, got {groups!r}.")
    path = _require(get_data_home(data_home).joinpath(*_COMPAS_FILE))
    with open(path, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    # pandas would mangle the repeated names itself; do it explicitly so we know what we read.
    frame = pd.read_csv(
        path,
        header=0,
        names=_dedupe(header),
        na_values=[""],
        keep_default_na=False,  # keep the literal string 'N/A' of score_text
    )
    days = pd.to_numeric(frame["days_b_screening_arrest"], errors="coerce")
    score_text = frame["score_text"].astype(str).str.strip()
    keep = (
        days.between(-30, 30)
        & (pd.to_numeric(frame["is_recid"], errors="coerce") != -1)
        & (frame["c_charge_degree"].astype(str) != "O")
        & (score_text != "N/A")
        & (score_text != "")
        & frame["score_text"].notna()
    )
    frame = frame.loc[keep].reset_index(drop=True)

    categorical = ["c_charge_degree"]
    if "sex" not in groups:
        categorical.append("sex")
    if "race" not in groups:
        categorical.append("race")
    X, feature_names = _assemble(frame, _COMPAS_NUMERIC, categorical)
    if set(feature_names) & set(COMPAS_FORBIDDEN_FEATURES):  # pragma: no cover - by design
        raise AssertionError("A forbidden COMPAS column slipped into the features.")

    y = frame["two_year_recid"].to_numpy(dtype=np.int64)
    if groups == "race":
        g = _labels(frame["race"])
    elif groups == "sex":
        g = _labels(frame["sex"])
    else:
        g = _labels(frame["race"].astype(str) + "|" + frame["sex"].astype(str))

    description = (
        "ProPublica COMPAS two-year recidivism (Broward County, FL, 2013-2014), "
        "compas-scores-two-years.csv. ProPublica filter (-30 <= days_b_screening_arrest <= 30, "
        "is_recid != -1, c_charge_degree != 'O', score_text != 'N/A') -> "
        f"{len(y)} rows. Target: two_year_recid. Groups: {groups}. Features: "
        f"{', '.join(feature_names)}. Excluded: COMPAS scores, recidivism outcomes, survival "
        "bookkeeping, identifiers, dates, charge descriptions, age_cat and the group "
        "attribute(s). Source: github.com/propublica/compas-analysis (no licence stated)."
    )
    return Bunch(
        X=X,
        y=y,
        groups=g,
        feature_names=feature_names,
        group_names=np.unique(g),
        target_name="two_year_recid",
        task="classification",
        description=description,
    )


# ---------------------------------------------------------------------------------------------
# Adult
# ---------------------------------------------------------------------------------------------


def _read_adult(path: Path) -> pd.DataFrame:
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    skip = 1 if first.startswith("|") else 0  # adult.test opens with "|1x3 Cross validator"
    frame = pd.read_csv(
        path,
        header=None,
        names=list(_ADULT_COLUMNS),
        skiprows=skip,
        skipinitialspace=True,
        na_values=["?"],
        keep_default_na=False,
        skip_blank_lines=True,
    )
    frame["income"] = frame["income"].astype(str).str.strip().str.rstrip(".")
    return frame


def load_adult(data_home=None) -> Bunch:
    """Load UCI Adult (Census Income), official train and test parts concatenated.

    Rows with a missing value (``?``) are dropped, leaving 30162 rows from ``adult.data``
    followed by 15060 rows from ``adult.test`` (45222 in all); ``is_test`` marks the latter.
    The target is ``income > 50K`` (the trailing ``.`` of the test labels is removed).

    Features (not standardised): numeric ``age``, ``education-num``, ``capital-gain``,
    ``capital-loss``, ``hours-per-week`` and full one-hot ``workclass``, ``marital-status``,
    ``occupation``, ``relationship``, ``native-country`` (levels from both parts together).
    Excluded: ``sex`` and ``race`` (they define the groups), ``fnlwgt`` (a census sampling
    weight, not an attribute of the person) and ``education`` (a one-to-one recoding of
    ``education-num``).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder, resolved as in :func:`get_data_home`.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` (float64), ``y`` (int64, 1 for ``>50K``), ``groups`` (object array of
        ``"sex|race"`` labels such as ``"Female|White"``; 10 groups), ``is_test`` (bool),
        ``feature_names``, ``group_names``, ``target_name``, ``task`` and ``description``.
    """
    folder = get_data_home(data_home) / _ADULT_DIR
    parts = []
    for name, is_test in (("adult.data", False), ("adult.test", True)):
        part = _read_adult(_require(folder / name)).dropna(axis=0, how="any")
        part["__is_test"] = is_test
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    bad = set(frame["income"].unique()) - {"<=50K", ">50K"}
    if bad:  # pragma: no cover - the files are fixed
        raise ValueError(f"Unexpected Adult income labels: {sorted(bad)}")

    X, feature_names = _assemble(frame, _ADULT_NUMERIC, _ADULT_CATEGORICAL)
    y = (frame["income"] == ">50K").to_numpy(dtype=np.int64)
    g = _labels(frame["sex"].astype(str) + "|" + frame["race"].astype(str))
    is_test = frame["__is_test"].to_numpy(dtype=bool)
    description = (
        "UCI Adult / Census Income (Kohavi 1996), adult.data + adult.test, rows with '?' "
        f"dropped -> {int((~is_test).sum())} train + {int(is_test.sum())} test rows "
        "(is_test marks the official test part). Target: income > 50K. Groups: sex|race "
        "(10 groups). Features: numeric age, education-num, capital-gain, capital-loss, "
        "hours-per-week; one-hot workclass, marital-status, occupation, relationship, "
        "native-country. Excluded: sex, race (group attributes), fnlwgt (sampling weight), "
        "education (duplicate of education-num). Source: UCI ML Repository."
    )
    return Bunch(
        X=X,
        y=y,
        groups=g,
        is_test=is_test,
        feature_names=feature_names,
        group_names=np.unique(g),
        target_name="income>50K",
        task="classification",
        description=description,
    )


# ---------------------------------------------------------------------------------------------
# Communities and Crime
# ---------------------------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _communities_names(names_path: Path) -> list[str]:
    with open(_require(names_path), encoding="utf-8", errors="replace") as handle:
        return [line.split()[1] for line in handle if line.lower().startswith("@attribute")]


def load_communities(data_home=None, groups="plurality_race") -> Bunch:
    """Load UCI Communities and Crime (normalised version) as a regression problem.

    The target is ``ViolentCrimesPerPop`` (normalised to [0, 1]); there are 1994 communities.
    If the first line of ``communities.data`` is a header it supplies the column names,
    otherwise they are read from the ``@attribute`` lines of ``communities.names``.

    Features (not standardised): every remaining column except

    * the 5 identifiers ``state``, ``county``, ``community``, ``communityname``, ``fold``;
    * the columns that are mostly (more than half) missing: the 22 LEMAS police columns;
    * the 4 race-percentage columns ``racepctblack``, ``racePctWhite``, ``racePctAsian`` and
      ``racePctHisp``, which define the groups.

    The only remaining missing value (``OtherPerCap``, one row) is imputed with the column
    median computed on all 1994 rows (one value; no label information is used).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder, resolved as in :func:`get_data_home`.
    groups : {"plurality_race", "black_majority"}, default="plurality_race"
        ``"plurality_race"``: the largest of the four (normalised) race percentages, labelled
        ``"Black"``, ``"White"``, ``"Asian"``, ``"Hispanic"`` (ties go to the first in that
        order; note the columns are normalised separately, so this is the plurality of
        normalised shares, as used in the literature). ``"black_majority"``:
        ``"racepctblack>=0.5"`` versus ``"racepctblack<0.5"`` (normalised value).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X`` (float64), ``y`` (float64 in [0, 1]), ``groups`` (object array of str),
        ``feature_names``, ``group_names``, ``dropped_columns`` (mostly-missing columns),
        ``imputed_columns``, ``target_name``, ``task`` (``"regression"``) and ``description``.
    """
    if groups not in _COMMUNITIES_GROUPINGS:
        raise ValueError(f"groups must be one of {_COMMUNITIES_GROUPINGS}, got {groups!r}.")
    folder = get_data_home(data_home) / _COMMUNITIES_DIR
    path = _require(folder / "communities.data")
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().strip().split(",")
    has_header = not _is_number(first[0])
    if has_header:
        # The header's 4th name is "communityname string" (copied from the ARFF type).
        names = [field.split()[0] for field in first]
    else:
        names = _communities_names(folder / "communities.names")
    frame = pd.read_csv(
        path,
        header=None,
        names=names,
        skiprows=1 if has_header else 0,
        na_values=["?"],
        keep_default_na=False,
        skip_blank_lines=True,
    )
    missing = set(COMMUNITIES_RACE_COLUMNS) | set(_COMMUNITIES_ID_COLUMNS) | {_COMMUNITIES_TARGET}
    missing -= set(frame.columns)
    if missing:  # pragma: no cover - the file is fixed
        raise ValueError(f"Communities file lacks columns {sorted(missing)}.")

    y = frame[_COMMUNITIES_TARGET].to_numpy(dtype=np.float64)
    race = frame[list(COMMUNITIES_RACE_COLUMNS)].to_numpy(dtype=np.float64)
    if groups == "plurality_race":
        labels = np.asarray(list(COMMUNITIES_RACE_COLUMNS.values()), dtype=object)
        g = labels[np.argmax(race, axis=1)]
    else:
        g = np.where(race[:, 0] >= 0.5, "racepctblack>=0.5", "racepctblack<0.5").astype(object)

    excluded = set(_COMMUNITIES_ID_COLUMNS) | set(COMMUNITIES_RACE_COLUMNS) | {_COMMUNITIES_TARGET}
    candidates = [c for c in frame.columns if c not in excluded]
    features = frame[candidates].apply(pd.to_numeric, errors="raise").astype(np.float64)
    missing_share = features.isna().mean()
    dropped_columns = [c for c in candidates if missing_share[c] > 0.5]
    features = features.drop(columns=dropped_columns)
    imputed_columns = [c for c in features.columns if features[c].isna().any()]
    for column in imputed_columns:
        features[column] = features[column].fillna(features[column].median())
    X = features.to_numpy(dtype=np.float64)
    feature_names = list(features.columns)

    description = (
        "UCI Communities and Crime (Redmond 2009, normalised, 1994 communities). Target: "
        f"ViolentCrimesPerPop in [0, 1]. Groups: {groups}. Features: {len(feature_names)} "
        "numeric columns; excluded: identifiers (state, county, community, communityname, "
        "fold), the race-percentage columns defining the groups (racepctblack, racePctWhite, "
        f"racePctAsian, racePctHisp) and {len(dropped_columns)} mostly-missing columns "
        f"({', '.join(dropped_columns)}); median-imputed: {', '.join(imputed_columns) or 'none'}."
        " Source: UCI ML Repository."
    )
    return Bunch(
        X=X,
        y=y,
        groups=g,
        feature_names=feature_names,
        group_names=np.unique(g),
        dropped_columns=dropped_columns,
        imputed_columns=imputed_columns,
        target_name=_COMMUNITIES_TARGET,
        task="regression",
        description=description,
    )


# ---------------------------------------------------------------------------------------------
# Splitting
# ---------------------------------------------------------------------------------------------


def _round_half_up(value: float) -> int:
    return int(np.floor(value + 0.5))


def _stratified_order(labels: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
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
            order = members[_stratified_order(y[members], rng)]
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


# ---------------------------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------------------------


def describe(bunch) -> pd.DataFrame:
    """Per-group summary of a loaded data set.

    Parameters
    ----------
    bunch : sklearn.utils.Bunch
        Output of one of the loaders (needs ``y``, ``groups`` and ``task``; ``is_test`` is
        used when present).

    Returns
    -------
    table : pandas.DataFrame
        One row per group (sorted), columns ``n`` (rows), ``share`` (fraction of all rows) and
        ``positive_rate`` (classification) or ``y_mean`` (regression); plus ``n_official_test``
        when the bunch has ``is_test``.
    """
    groups = np.asarray(bunch.groups)
    y = np.asarray(bunch.y, dtype=np.float64)
    names = np.unique(groups)
    table = pd.DataFrame(index=pd.Index(names, name="group"))
    table["n"] = [int(np.sum(groups == name)) for name in names]
    table["share"] = table["n"] / len(groups)
    column = "positive_rate" if bunch.get("task") == "classification" else "y_mean"
    table[column] = [float(y[groups == name].mean()) for name in names]
    if "is_test" in bunch:
        is_test = np.asarray(bunch.is_test, dtype=bool)
        table["n_official_test"] = [int(np.sum(is_test & (groups == name))) for name in names]
    return table


def describe_split(split) -> pd.DataFrame:
    """Rows per group in each part of a :func:`train_val_test_split_by_group` result.

    Parameters
    ----------
    split : dict
        Output of :func:`train_val_test_split_by_group`.

    Returns
    -------
    table : pandas.DataFrame
        One row per kept group, columns ``train``, ``val``, ``test`` and ``total``.
    """
    names = split["group_names"]
    table = pd.DataFrame(index=pd.Index(names, name="group"))
    for part in ("train", "val", "test"):
        part_groups = split[f"groups_{part}"]
        table[part] = [int(np.sum(part_groups == name)) for name in names]
    table["total"] = table[["train", "val", "test"]].sum(axis=1)
    return table
