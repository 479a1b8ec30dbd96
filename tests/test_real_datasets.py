"""The real-data preparation of ``pergdro_sklearn.datasets``: rows, groups, features, splits.

The data are read from a local folder laid out like the loaders' cache (``$PERGDRO_DATA_HOME``
or ``<repo>/../shared/data``) with ``download_if_missing=False``; the module is skipped when
no such folder exists. The download path itself is tested in ``test_fetch.py``.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pergdro_sklearn.datasets import (
    fetch_adult,
    fetch_communities_crime,
    fetch_compas,
    train_val_test_split_by_group,
)
from pergdro_sklearn.datasets._communities import COMMUNITIES_RACE_COLUMNS
from pergdro_sklearn.datasets._compas import COMPAS_FORBIDDEN_FEATURES

_REPO = Path(__file__).resolve().parents[1]
DATA_HOME = Path(os.environ.get("PERGDRO_DATA_HOME") or _REPO.parent / "shared" / "data")
_FILES = ("compas/compas-scores-two-years.csv", "adult/adult.data", "adult/adult.test",
          "communities_crime/communities.data")
if not all((DATA_HOME / name).is_file() for name in _FILES):
    pytest.skip(
        "real data sets not found: set PERGDRO_DATA_HOME or provide <repo>/../shared/data",
        allow_module_level=True,
    )

SPLIT_KEYS = [f"{kind}_{part}" for part in ("train", "val", "test") for kind in "Xy"]


def _compas(**kwargs):
    return fetch_compas(data_home=DATA_HOME, download_if_missing=False, **kwargs)


def _adult(**kwargs):
    return fetch_adult(data_home=DATA_HOME, download_if_missing=False, **kwargs)


def _communities(**kwargs):
    return fetch_communities_crime(data_home=DATA_HOME, download_if_missing=False, **kwargs)


def _counts(groups):
    names, counts = np.unique(np.asarray(groups), return_counts=True)
    return dict(zip(names.tolist(), counts.tolist()))


def _split_table(split):
    """Rows per kept group in each part of a split."""
    names = split["group_names"]
    table = pd.DataFrame(index=pd.Index(names, name="group"))
    for part in ("train", "val", "test"):
        table[part] = [int(np.sum(split[f"groups_{part}"] == name)) for name in names]
    table["total"] = table[["train", "val", "test"]].sum(axis=1)
    return table


@pytest.fixture(scope="module")
def compas():
    return _compas()


@pytest.fixture(scope="module")
def adult():
    return _adult()


@pytest.fixture(scope="module")
def communities():
    return _communities()


def _check_bunch(bunch, n_rows):
    assert bunch.data.dtype == np.float64
    assert bunch.data.shape == (n_rows, len(bunch.feature_names))
    assert np.isfinite(bunch.data).all()
    assert bunch.target.shape == (n_rows,)
    assert bunch.groups.shape == (n_rows,)
    assert all(isinstance(g, str) for g in bunch.groups)
    np.testing.assert_array_equal(bunch.group_names, np.unique(bunch.groups))
    assert len(set(bunch.feature_names)) == len(bunch.feature_names)
    assert isinstance(bunch.DESCR, str) and f"Rows: {n_rows}" in bunch.DESCR
    assert bunch.frame is None
    # The features are not standardised here: raw counts/ages are kept.
    assert not np.allclose(bunch.data.std(axis=0), 1.0)


# --- COMPAS -------------------------------------------------------------------------------


def test_compas_rows_target_and_groups(compas):
    _check_bunch(compas, 6172)
    assert set(np.unique(compas.target)) == {0, 1}
    assert compas.target.dtype == np.int64
    assert int(compas.target.sum()) == 2809
    names, counts = np.unique(compas.groups, return_counts=True)
    assert dict(zip(names.tolist(), counts.tolist())) == {
        "African-American": 3175,
        "Asian": 31,
        "Caucasian": 2103,
        "Hispanic": 509,
        "Native American": 11,
        "Other": 343,
    }
    assert compas.task == "classification"


def test_compas_features_exclude_scores_outcomes_and_group(compas):
    names = set(compas.feature_names)
    assert not names & set(COMPAS_FORBIDDEN_FEATURES)
    assert not any(n.startswith(("decile_score", "v_", "r_", "vr_", "score")) for n in names)
    assert not any(n.startswith("race") for n in names)  # race is the grouping
    assert {"age", "priors_count", "sex=Female", "sex=Male", "c_charge_degree=F"} <= names
    # one-hot columns are exclusive and exhaustive
    sex = compas.data[:, [compas.feature_names.index(c) for c in ("sex=Female", "sex=Male")]]
    np.testing.assert_array_equal(sex.sum(axis=1), 1.0)
    assert sex[:, 0].sum() == 1175
    age = compas.data[:, compas.feature_names.index("age")]
    assert 18 <= age.min() and age.max() <= 100


def test_compas_other_groupings():
    by_sex = _compas(groups="sex")
    _check_bunch(by_sex, 6172)
    assert by_sex.group_names.tolist() == ["Female", "Male"]
    assert not any(n.startswith("sex") for n in by_sex.feature_names)
    assert sum(n.startswith("race=") for n in by_sex.feature_names) == 6

    by_both = _compas(groups="race_sex")
    _check_bunch(by_both, 6172)
    assert len(by_both.group_names) == 12
    assert all("|" in g for g in by_both.group_names)
    assert not any(n.startswith(("sex", "race")) for n in by_both.feature_names)
    with pytest.raises(ValueError, match="groups"):
        _compas(groups="age")


def test_compas_documented_group_counts_and_feature_counts():
    assert _counts(_compas(groups="sex").groups) == {"Female": 1175, "Male": 4997}
    both = _compas(groups="race_sex")
    assert _counts(both.groups) == {
        "African-American|Female": 549, "African-American|Male": 2626,
        "Asian|Female": 2, "Asian|Male": 29,
        "Caucasian|Female": 482, "Caucasian|Male": 1621,
        "Hispanic|Female": 82, "Hispanic|Male": 427,
        "Native American|Female": 2, "Native American|Male": 9,
        "Other|Female": 58, "Other|Male": 285,
    }
    assert both.data.shape[1] == 7
    assert _compas().data.shape[1] == 9
    assert _compas(groups="sex").data.shape[1] == 13


# --- Adult --------------------------------------------------------------------------------


def test_adult_rows_split_and_groups(adult):
    _check_bunch(adult, 45222)
    assert adult.is_test.dtype == bool
    assert int((~adult.is_test).sum()) == 30162
    assert int(adult.is_test.sum()) == 15060
    # the official test rows come after the training rows
    assert not adult.is_test[:30162].any() and adult.is_test[30162:].all()
    assert set(np.unique(adult.target)) == {0, 1}
    assert int(adult.target[~adult.is_test].sum()) == 7508
    assert int(adult.target[adult.is_test].sum()) == 3700  # labels with a trailing '.' parsed
    assert len(adult.group_names) == 10
    names, counts = np.unique(adult.groups, return_counts=True)
    table = dict(zip(names.tolist(), counts.tolist()))
    assert table["Female|Other"] == 126
    assert table["Male|White"] == 27020
    assert all(g.split("|")[0] in {"Female", "Male"} for g in names)


def test_adult_features(adult):
    names = adult.feature_names
    for excluded in ("sex", "race", "fnlwgt", "education", "income"):
        assert not any(n == excluded or n.startswith(excluded + "=") for n in names)
    assert not any(n.endswith("=?") for n in names)
    assert {"age", "education-num", "hours-per-week", "workclass=Private"} <= set(names)
    for prefix in ("workclass=", "marital-status=", "occupation=", "relationship="):
        cols = [i for i, n in enumerate(names) if n.startswith(prefix)]
        np.testing.assert_array_equal(adult.data[:, cols].sum(axis=1), 1.0)


def test_adult_other_groupings(adult):
    by_sex = _adult(groups="sex")
    _check_bunch(by_sex, 45222)
    assert _counts(by_sex.groups) == {"Female": 14695, "Male": 30527}
    race_columns = [n for n in by_sex.feature_names if n.startswith("race=")]
    assert len(race_columns) == 5 and not any(n.startswith("sex") for n in by_sex.feature_names)
    by_race = _adult(groups="race")
    _check_bunch(by_race, 45222)
    assert _counts(by_race.groups) == {
        "Amer-Indian-Eskimo": 435,
        "Asian-Pac-Islander": 1303,
        "Black": 4228,
        "Other": 353,
        "White": 38903,
    }
    assert [n for n in by_race.feature_names if n.startswith(("sex", "race"))] == [
        "sex=Female", "sex=Male"]
    # the same rows and targets whatever the grouping; sex|race is their product
    np.testing.assert_array_equal(by_sex.target, adult.target)
    product = [f"{s}|{r}" for s, r in zip(by_sex.groups, by_race.groups)]
    np.testing.assert_array_equal(product, adult.groups)
    assert (adult.data.shape[1], by_sex.data.shape[1], by_race.data.shape[1]) == (80, 85, 82)
    assert int(adult.target.sum()) == 11208
    with pytest.raises(ValueError, match="groups"):
        _adult(groups="race_sex")


def test_as_frame_gives_pandas_objects(communities):
    framed = _communities(as_frame=True)
    assert isinstance(framed.data, pd.DataFrame) and isinstance(framed.target, pd.Series)
    assert list(framed.data.columns) == communities.feature_names
    np.testing.assert_array_equal(framed.data.to_numpy(), communities.data)
    assert framed.target.name == "ViolentCrimesPerPop"
    np.testing.assert_array_equal(framed.groups.to_numpy(), communities.groups)
    assert list(framed.frame.columns) == communities.feature_names + ["ViolentCrimesPerPop"]
    assert framed.categorical_features == []
    np.testing.assert_array_equal(framed.data_encoded, communities.data)


def test_compas_as_frame_is_the_filtered_raw_frame_with_categoricals(compas):
    framed = _compas(as_frame=True)
    raw = pd.read_csv(DATA_HOME / "compas" / "compas-scores-two-years.csv")
    kept = raw[raw.days_b_screening_arrest.between(-30, 30) & (raw.is_recid != -1)
               & (raw.c_charge_degree != "O") & (raw.score_text != "N/A")]
    assert framed.data.shape == (6172, 10) and len(kept) == 6172
    assert framed.feature_names == list(framed.data.columns) == [
        "sex", "age", "age_cat", "race", "juv_fel_count", "juv_misd_count",
        "juv_other_count", "priors_count", "c_charge_degree", "c_charge_desc"]
    assert framed.categorical_features == ["sex", "age_cat", "race", "c_charge_degree",
                                           "c_charge_desc"]
    for name in framed.categorical_features:
        assert isinstance(framed.data[name].dtype, pd.CategoricalDtype)
        # the file's values, row for row (empty charge descriptions are missing)
        np.testing.assert_array_equal(framed.data[name].astype(object).fillna("").to_numpy(),
                                      kept[name].fillna("").astype(str).to_numpy())
    assert framed.data["age_cat"].cat.ordered
    assert framed.data["age_cat"].cat.categories.tolist() == [
        "Less than 25", "25 - 45", "Greater than 45"]
    assert framed.data["c_charge_desc"].cat.categories.size > 300
    assert int(framed.data["c_charge_desc"].isna().sum()) == 5
    np.testing.assert_array_equal(framed.data["priors_count"], kept["priors_count"])
    assert framed.data["age"].dtype == np.int64
    # the encoded arrays of as_frame=False stay beside the raw frame, row for row
    np.testing.assert_array_equal(framed.data_encoded, compas.data)
    assert framed.feature_names_encoded == compas.feature_names
    np.testing.assert_array_equal(framed.data["age"], compas.data[:, 0])
    np.testing.assert_array_equal(framed.groups.to_numpy(), compas.groups)
    np.testing.assert_array_equal(framed.data["race"].astype(str), compas.groups)
    assert framed.frame.shape == (6172, 11) and framed.target.dtype == np.int64
    assert not set(framed.feature_names) & set(COMPAS_FORBIDDEN_FEATURES)


def test_adult_as_frame_is_the_raw_frame_with_categoricals(adult):
    framed = _adult(as_frame=True)
    assert framed.data.shape == (45222, 13)
    assert "fnlwgt" not in framed.feature_names and "income" not in framed.feature_names
    assert framed.categorical_features == [
        "workclass", "education", "marital-status", "occupation", "relationship", "race",
        "sex", "native-country"]
    assert not framed.data.isna().any().any()  # rows with '?' are dropped, as before
    assert framed.data["occupation"].cat.categories.size == 14
    np.testing.assert_array_equal(framed.data_encoded, adult.data)
    np.testing.assert_array_equal(framed.is_test, adult.is_test)
    sex_race = framed.data["sex"].astype(str) + "|" + framed.data["race"].astype(str)
    np.testing.assert_array_equal(sex_race.to_numpy(), adult.groups)
    assert framed.data["hours-per-week"].dtype == np.int64


# --- Communities and Crime ----------------------------------------------------------------


def test_communities_regression_and_groups(communities):
    _check_bunch(communities, 1994)
    assert communities.task == "regression"
    assert communities.target.dtype == np.float64
    assert communities.target.min() >= 0.0 and communities.target.max() <= 1.0
    assert np.unique(communities.target).size > 50
    names, counts = np.unique(communities.groups, return_counts=True)
    assert dict(zip(names.tolist(), counts.tolist())) == {
        "Asian": 88,
        "Black": 219,
        "Hispanic": 115,
        "White": 1572,
    }
    maj = _communities(groups="black_majority")
    names, counts = np.unique(maj.groups, return_counts=True)
    assert dict(zip(names.tolist(), counts.tolist())) == {
        "racepctblack<0.5": 1750,
        "racepctblack>=0.5": 244,
    }
    with pytest.raises(ValueError, match="groups"):
        _communities(groups="race")


def test_communities_features(communities):
    names = set(communities.feature_names)
    assert not names & set(COMMUNITIES_RACE_COLUMNS)
    assert not names & {"state", "county", "community", "communityname", "fold"}
    assert "ViolentCrimesPerPop" not in names
    assert len(communities.dropped_columns) == 22
    assert not names & set(communities.dropped_columns)
    assert "LemasSwornFT" in communities.dropped_columns
    assert communities.imputed_columns == ["OtherPerCap"]
    assert "OtherPerCap" in names
    assert len(names) == 128 - 5 - 1 - 4 - 22


# --- splitting ----------------------------------------------------------------------------


def _check_split(split, X, y, groups, kept_mask):
    idx = [split[f"idx_{p}"] for p in ("train", "val", "test")]
    all_idx = np.concatenate(idx)
    assert len(np.unique(all_idx)) == len(all_idx)  # disjoint
    np.testing.assert_array_equal(np.sort(all_idx), np.flatnonzero(kept_mask))  # covers kept
    for part, part_idx in zip(("train", "val", "test"), idx):
        np.testing.assert_array_equal(split[f"X_{part}"], X[part_idx])
        np.testing.assert_array_equal(split[f"y_{part}"], y[part_idx])
        assert set(split[f"groups_{part}"]) == set(split["group_names"])  # every group, every part


def test_split_compas_drop_policy(compas):
    X, y, g = compas.data, compas.target, compas.groups
    split = train_val_test_split_by_group(X, y, g, random_state=0)
    assert split["small_groups"] == "drop"
    assert split["min_group_size"] == 30
    assert split["dropped_groups"] == {"Native American": 11}
    assert split["merged_groups"] == {}
    assert "Native American" not in split["group_names"]
    assert len(split["group_names"]) == 5
    _check_split(split, X, y, g, g != "Native American")
    table = _split_table(split)
    assert table.loc["Asian"].tolist() == [19, 6, 6, 31]
    for name in split["group_names"]:
        n_g = int(np.sum(g == name))
        assert abs(table.loc[name, "test"] - 0.2 * n_g) <= 1
        assert abs(table.loc[name, "val"] - 0.2 * n_g) <= 1


def test_split_is_class_stratified_within_groups(adult):
    X, y, g = adult.data, adult.target, adult.groups
    split = train_val_test_split_by_group(X, y, g, random_state=3)
    assert split["class_stratified"] and split["group_only_groups"] == []
    assert split["dropped_groups"] == {}
    _check_split(split, X, y, g, np.ones(len(y), dtype=bool))
    for name in split["group_names"]:
        positives = int(y[g == name].sum())
        for part, share in (("test", 0.2), ("val", 0.2), ("train", 0.6)):
            in_part = split[f"groups_{part}"] == name
            assert abs(int(split[f"y_{part}"][in_part].sum()) - share * positives) <= 2


def test_split_is_reproducible(compas):
    X, y, g = compas.data, compas.target, compas.groups
    a = train_val_test_split_by_group(X, y, g, random_state=42)
    b = train_val_test_split_by_group(X, y, g, random_state=42)
    c = train_val_test_split_by_group(X, y, g, random_state=43)
    for key in SPLIT_KEYS + ["idx_train", "idx_val", "idx_test"]:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["idx_test"], c["idx_test"])
    rng = np.random.RandomState(7)
    d = train_val_test_split_by_group(X, y, g, random_state=rng)
    e = train_val_test_split_by_group(X, y, g, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(d["idx_val"], e["idx_val"])


def test_split_merge_policy():
    b = _compas(groups="race_sex")
    X, y, g = b.data, b.target, b.groups
    split = train_val_test_split_by_group(
        X, y, g, small_groups="merge", merged_group_label="small", random_state=0
    )
    expected = {"Asian|Female": 2, "Asian|Male": 29, "Native American|Female": 2}
    expected["Native American|Male"] = 9
    assert split["merged_groups"] == expected
    assert split["dropped_groups"] == {}
    assert split["merged_group_label"] == "small"
    assert "small" in split["group_names"]
    assert not set(split["group_names"]) & set(expected)
    _check_split(split, X, y, g, np.ones(len(y), dtype=bool))
    assert _split_table(split).loc["small", "total"] == 42
    merged_rows = np.isin(g, list(expected))
    for part in ("train", "val", "test"):
        in_small = split[f"groups_{part}"] == "small"
        np.testing.assert_array_equal(in_small, merged_rows[split[f"idx_{part}"]])


def test_split_merge_policy_drops_a_pool_that_is_still_small(compas):
    X, y, g = compas.data, compas.target, compas.groups
    split = train_val_test_split_by_group(X, y, g, small_groups="merge", random_state=0)
    # only Native American (11 rows) is below 30; pooled alone it is still too small
    assert split["dropped_groups"] == {"Native American": 11}
    assert split["merged_groups"] == {} and split["merged_group_label"] is None
    _check_split(split, X, y, g, g != "Native American")
    # with a larger threshold Asian (31) joins the pool: 42 rows >= 40
    split = train_val_test_split_by_group(
        X, y, g, small_groups="merge", min_group_size=40, random_state=0
    )
    assert split["merged_groups"] == {"Asian": 31, "Native American": 11}
    assert _split_table(split).loc["merged_small_groups", "total"] == 42


def test_split_adult_threshold_and_group_only_fallback(adult):
    X, y, g = adult.data, adult.target, adult.groups
    split = train_val_test_split_by_group(X, y, g, min_group_size=150, random_state=0)
    assert split["dropped_groups"] == {"Female|Other": 126}
    assert len(split["group_names"]) == 9
    _check_split(split, X, y, g, g != "Female|Other")

    # A group with only 2 positives cannot spread them over three parts: group-only split.
    rows = np.flatnonzero(g == "Female|Other")
    neg, pos = rows[y[rows] == 0][:40], rows[y[rows] == 1][:2]
    take = np.concatenate([np.flatnonzero(g == "Male|Other"), neg, pos])
    sub_g = g[take].copy()
    sub_g[len(take) - 42 :] = "tiny_minority"
    split = train_val_test_split_by_group(X[take], y[take], sub_g, random_state=0)
    assert split["group_only_groups"] == ["tiny_minority"]
    _check_split(split, X[take], y[take], sub_g, np.ones(len(take), dtype=bool))


def test_split_regression_groups_only(communities):
    X, y, g = communities.data, communities.target, communities.groups
    split = train_val_test_split_by_group(X, y, g, val_size=0.25, test_size=0.25, random_state=1)
    assert not split["class_stratified"]
    assert split["dropped_groups"] == {}
    _check_split(split, X, y, g, np.ones(len(y), dtype=bool))
    table = _split_table(split)
    assert table.loc["Asian"].tolist() == [44, 22, 22, 88]


def test_split_rejects_bad_arguments(compas):
    X, y, g = compas.data, compas.target, compas.groups
    with pytest.raises(ValueError, match="small_groups"):
        train_val_test_split_by_group(X, y, g, small_groups="keep")
    with pytest.raises(ValueError, match="below 1"):
        train_val_test_split_by_group(X, y, g, val_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="min_group_size"):
        train_val_test_split_by_group(X, y, g, min_group_size=2)
    with pytest.raises(ValueError, match="existing group"):
        train_val_test_split_by_group(
            X, y, g, small_groups="merge", merged_group_label="Asian", min_group_size=40
        )
    with pytest.raises(ValueError, match="same number of rows"):
        train_val_test_split_by_group(X, y[:-1], g)


def test_descr_states_source_licence_preparation_and_counts(compas, adult, communities):
    assert "github.com/propublica/compas-analysis" in compas.DESCR
    assert "Licence: none stated" in compas.DESCR
    assert "6172 of 7214 rows" in compas.DESCR
    assert "- Native American: 11 rows" in compas.DESCR
    assert f"positive rate {822 / 2103:.3f}" in compas.DESCR  # Caucasian
    assert "CC BY 4.0" in adult.DESCR and "Kohavi" in adult.DESCR
    assert "30162 training, 15060 test" in adult.DESCR
    assert "- Female|Other: 126 rows" in adult.DESCR
    assert "CC BY 4.0" in communities.DESCR and "Redmond" in communities.DESCR
    assert "- Asian: 88 rows" in communities.DESCR
    assert "Rows: 1994, 96 features." in communities.DESCR
