"""ProPublica's COMPAS two-year recidivism data: :func:`fetch_compas`."""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._base import RemoteFile, fetch_file
from ._prepare import assemble, describe, loader_parameters, make_bunch, raw_frame, read_columns

COMPAS_FILE = RemoteFile(
    folder="compas",
    filename="compas-scores-two-years.csv",
    url="https://raw.githubusercontent.com/propublica/compas-analysis/"
    "bafff5da3f2e45eca6c2d5055faad269defd135a/compas-scores-two-years.csv",
    sha256="c451db85908b2f7fef1d83203bedf6b71ecda0d5af468d82ae62178f91d0cc7d",
    size=2546489,
)

#: COMPAS columns that are never features: the COMPAS scores themselves, the recidivism
#: outcomes (target leakage) and the survival-analysis bookkeeping derived from them.
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
COMPAS_GROUPINGS = ("race", "sex", "race_sex")
_NUMERIC = ("age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count")
#: Columns of the raw frame (``as_frame=True``), in file order: the defendant's
#: attributes, juvenile and prior counts and the current charge, never a COMPAS score,
#: outcome, identifier or date.
COMPAS_RAW_COLUMNS = ("sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count",
                      "juv_other_count", "priors_count", "c_charge_degree", "c_charge_desc")
_INTEGER = ("age", "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count")
_AGE_CATEGORIES = ("Less than 25", "25 - 45", "Greater than 45")
# ProPublica's filter: days between screening and arrest within this window.
_SCREENING_WINDOW = 30

_DESCR = """\
ProPublica COMPAS two-year recidivism data
==========================================

Criminal defendants screened with the COMPAS risk tool in Broward County, Florida, in
2013-2014, and whether they were charged with a new crime within two years.

Source: ProPublica, "How We Analyzed the COMPAS Recidivism Algorithm" (Larson, Mattu,
Kirchner and Angwin, 2016), file compas-scores-two-years.csv of
https://github.com/propublica/compas-analysis (commit bafff5d; 7214 rows, 53 columns).
Licence: none stated. The repository has no licence file and its README states no terms;
the data are public court and FOIA records compiled by ProPublica. Cite ProPublica's
analysis when you report on them.

Preparation: ProPublica's filter keeps rows with -30 <= days_b_screening_arrest <= 30,
is_recid != -1, c_charge_degree != 'O' and score_text != 'N/A': 6172 of 7214 rows.
Target: two_year_recid (1 = charged with a new crime within two years).
Features (not standardised): age, priors_count, juv_fel_count, juv_misd_count,
juv_other_count, one-hot c_charge_degree (F/M), and one-hot sex and/or race when that
attribute does not define the groups. Never used: the COMPAS scores (decile_score,
score_text, v_*), the recidivism outcomes (is_recid, r_*, vr_*), the survival bookkeeping
(start, end, event), identifiers, dates, charge descriptions and age_cat (redundant with
age). The header repeats decile_score and priors_count; the first of each is read.
Raw frame (as_frame=True): the same rows with sex, age, age_cat, race, juv_fel_count,
juv_misd_count, juv_other_count, priors_count, c_charge_degree and c_charge_desc as in
the file (counts as integers, the rest as pandas categoricals; race and sex are kept
whatever the group definition).

{group_line}
Rows: {n_rows}, {n_features} features.
{counts}
"""

_GROUP_DOC = {
    "race": "race, 6 values (African-American, Asian, Caucasian, Hispanic, Native American, "
    "Other).",
    "sex": "sex, Female or Male.",
    "race_sex": "race x sex, labelled 'race|sex' (12 groups).",
}




def _number(text):
    return float(text) if text.strip() else np.nan


@validate_params(loader_parameters(COMPAS_GROUPINGS), prefer_skip_nested_validation=True)
def fetch_compas(
    *, data_home=None, download_if_missing=True, groups="race", as_frame=False, base_url=None
):
    """Load ProPublica's COMPAS two-year recidivism data (binary classification).

    Downloads ``compas-scores-two-years.csv`` (2.5 MB) from ProPublica's repository on first
    use, checks its SHA-256 and caches it as ``<data_home>/compas/compas-scores-two-years.csv``.
    ProPublica's filter leaves 6172 rows; the target is ``two_year_recid``.

    =================  ===============================================================
    Samples            6172 (of 7214 before the filter)
    Features           9 (``groups="race"``), 13 (``"sex"``) or 7 (``"race_sex"``)
    Target             ``two_year_recid``, 0/1 (2809 ones)
    Groups             race (6), sex (2) or race x sex (12)
    =================  ===============================================================

    Features (not standardised): ``age``, ``priors_count``, ``juv_fel_count``,
    ``juv_misd_count``, ``juv_other_count``, one-hot ``c_charge_degree`` (F/M), and one-hot
    ``sex`` and/or ``race`` only when that attribute does not define the groups. No COMPAS
    score, recidivism outcome, survival bookkeeping, identifier, date or free-text column is
    used (see ``DESCR``).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder; by default ``$PERGDRO_DATA_HOME`` or ``~/pergdro_sklearn_data``, see
        :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise a ``FileNotFoundError`` when the file is not in the data folder
        instead of downloading it.
    groups : {"race", "sex", "race_sex"}, default="race"
        Group definition. ``"race"``: African-American 3175, Asian 31, Caucasian 2103,
        Hispanic 509, Native American 11, Other 343 rows. ``"sex"``: Female 1175, Male 4997.
        ``"race_sex"``: labels ``"race|sex"`` such as ``"Caucasian|Female"`` (12 groups;
        the smallest, ``"Asian|Female"`` and ``"Native American|Female"``, have 2 rows).
    as_frame : bool, default=False
        If True, ``data`` is the raw frame of the same 6172 rows (ProPublica's filter
        applied): ``sex``, ``age``, ``age_cat``, ``race``, ``juv_fel_count``,
        ``juv_misd_count``, ``juv_other_count``, ``priors_count``, ``c_charge_degree``
        and ``c_charge_desc`` as they are in the file, counts as int64 and the other
        columns as pandas categoricals (``age_cat`` ordered; the 5 empty
        ``c_charge_desc`` are missing values), ready for a ``ColumnTransformer``. It
        keeps ``race`` and ``sex`` whatever ``groups`` is: leave the attribute that
        defines the groups out of the transformer if it should not be an input.
        ``target`` and ``groups`` are Series, ``frame`` holds ``data`` and the target,
        and the encoded features of ``as_frame=False`` stay available as
        ``data_encoded`` (ndarray) with ``feature_names_encoded``.
    base_url : str, default=None
        Mirror to download from, laid out as the data folder (the file is fetched from
        ``<base_url>/compas/compas-scores-two-years.csv``); by default
        ``$PERGDRO_DATA_BASE_URL`` if set, otherwise ProPublica's repository.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (ndarray of float64, shape (6172, n_features)), ``target`` (int64 0/1),
        ``groups`` (object array of str), ``feature_names``, ``target_names``
        (``["two_year_recid"]``), ``group_names`` (sorted labels), ``task``
        (``"classification"``), ``frame`` (None unless ``as_frame``) and ``DESCR``.
        With ``as_frame=True``, ``data`` is the raw DataFrame described above, with
        ``categorical_features`` (its categorical columns), ``data_encoded`` and
        ``feature_names_encoded``.

    Raises
    ------
    FileNotFoundError
        If the file is missing and ``download_if_missing`` is False.
    OSError
        If the download fails or the file's checksum does not match.

    Examples
    --------
    >>> from pergdro_sklearn.datasets import fetch_compas
    >>> compas = fetch_compas()  # doctest: +SKIP
    >>> compas.data.shape  # doctest: +SKIP
    (6172, 9)
    >>> raw = fetch_compas(as_frame=True)  # doctest: +SKIP
    >>> raw.data.shape, raw.categorical_features  # doctest: +SKIP
    ((6172, 10), ['sex', 'age_cat', 'race', 'c_charge_degree', 'c_charge_desc'])
    """
    path = fetch_file(COMPAS_FILE, data_home, download_if_missing, base_url)
    table = read_columns(path)
    days = np.array([_number(v) for v in table["days_b_screening_arrest"]])
    is_recid = np.array([_number(v) for v in table["is_recid"]])
    charge = np.asarray(table["c_charge_degree"], dtype=object)
    score = np.array([v.strip() for v in table["score_text"]], dtype=object)
    keep = (
        (days >= -_SCREENING_WINDOW)
        & (days <= _SCREENING_WINDOW)
        & (is_recid != -1)
        & (charge != "O")
        & (score != "N/A")
        & (score != "")
    )
    column = {name: np.asarray(values, dtype=object)[keep] for name, values in table.items()}

    numeric = {name: [_number(v) for v in column[name]] for name in _NUMERIC}
    categorical = {"c_charge_degree": column["c_charge_degree"]}
    if "sex" not in groups:
        categorical["sex"] = column["sex"]
    if "race" not in groups:
        categorical["race"] = column["race"]
    X, feature_names = assemble(numeric, categorical)
    if set(feature_names) & set(COMPAS_FORBIDDEN_FEATURES):  # pragma: no cover - by design
        raise AssertionError("A forbidden COMPAS column slipped into the features.")

    y = np.array([int(v) for v in column["two_year_recid"]], dtype=np.int64)
    if groups == "race_sex":
        g = np.array([f"{r}|{s}" for r, s in zip(column["race"], column["sex"])], dtype=object)
    else:
        g = column[groups].astype(str).astype(object)
    descr = describe(_DESCR, groups, _GROUP_DOC, g, y, len(feature_names))
    return make_bunch(
        X=X,
        y=y,
        groups=g,
        feature_names=feature_names,
        target_name="two_year_recid",
        task="classification",
        descr=descr,
        as_frame=as_frame,
        raw=raw_frame({name: column[name] for name in COMPAS_RAW_COLUMNS}, _INTEGER,
                      {"age_cat": _AGE_CATEGORIES}) if as_frame else None,
    )
