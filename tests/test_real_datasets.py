"""Tests of the real-data preparation in ``benchmarks/real_datasets.py``.

The data live outside the repository; the whole module is skipped when they cannot be found
(see ``benchmarks.real_datasets.get_data_home``).
"""

from pathlib import Path

import numpy as np
import pytest

from benchmarks import real_datasets as rd

if not rd.data_available():
    pytest.skip(
        "real data sets not found: set PERGDRO_DATA_HOME or provide <repo>/../shared/data",
        allow_module_level=True,
    )

SPLIT_KEYS = [f"{kind}_{part}" for part in ("train", "val", "test") for kind in "Xy"]


@pytest.fixture(scope="module")
def compas():
    return rd.load_compas()


@pytest.fixture(scope="module")
def adult():
    return rd.load_adult()


@pytest.fixture(scope="module")
def communities():
    return rd.load_communities()


def _check_bunch(bunch, n_rows):
    assert bunch.X.dtype == np.float64
    assert bunch.X.shape == (n_rows, len(bunch.feature_names))
    assert np.isfinite(bunch.X).all()
    assert bunch.y.shape == (n_rows,)
    assert bunch.groups.shape == (n_rows,)
    assert all(isinstance(g, str) for g in bunch.groups)
    np.testing.assert_array_equal(bunch.group_names, np.unique(bunch.groups))
    assert len(set(bunch.feature_names)) == len(bunch.feature_names)
    assert isinstance(bunch.description, str) and bunch.description
    # The features are not standardised here: raw counts/ages are kept.
    assert not np.allclose(bunch.X.std(axis=0), 1.0)


# --- data folder --------------------------------------------------------------------------


def test_data_home_resolution_order(tmp_path, monkeypatch):
    env_dir = tmp_path / "env"
    arg_dir = tmp_path / "arg"
    env_dir.mkdir()
    arg_dir.mkdir()
    monkeypatch.setenv(rd.DATA_HOME_ENV, str(env_dir))
    assert rd.get_data_home(arg_dir) == arg_dir
    assert rd.get_data_home() == env_dir
    assert not rd.data_available()  # the env folder is empty
    monkeypatch.delenv(rd.DATA_HOME_ENV)
    repo_root = Path(rd.__file__).resolve().parents[1]
    assert rd.get_data_home().resolve() == (repo_root.parent / "shared" / "data").resolve()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        rd.get_data_home(tmp_path / "nowhere")
    monkeypatch.setenv(rd.DATA_HOME_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match=rd.DATA_HOME_ENV):
        rd.get_data_home()


def test_data_is_not_inside_the_repository():
    repo_root = Path(rd.__file__).resolve().parents[1]
    home = rd.get_data_home().resolve()
    assert repo_root not in home.parents and home != repo_root


def test_explicit_data_home_is_used(tmp_path):
    with pytest.raises(FileNotFoundError):
        rd.load_compas(data_home=tmp_path)
    b = rd.load_communities(data_home=rd.get_data_home())
    assert b.X.shape[0] == 1994


# --- COMPAS -------------------------------------------------------------------------------


def test_compas_rows_target_and_groups(compas):
    _check_bunch(compas, 6172)
    assert set(np.unique(compas.y)) == {0, 1}
    assert compas.y.dtype == np.int64
    assert int(compas.y.sum()) == 2809
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
    assert not names & set(rd.COMPAS_FORBIDDEN_FEATURES)
    assert not any(n.startswith(("decile_score", "v_", "r_", "vr_", "score")) for n in names)
    assert not any(n.startswith("race") for n in names)  # race is the grouping
    assert {"age", "priors_count", "sex=Female", "sex=Male", "c_charge_degree=F"} <= names
    # one-hot columns are exclusive and exhaustive
    sex = compas.X[:, [compas.feature_names.index(c) for c in ("sex=Female", "sex=Male")]]
    np.testing.assert_array_equal(sex.sum(axis=1), 1.0)
    assert sex[:, 0].sum() == 1175
    age = compas.X[:, compas.feature_names.index("age")]
    assert 18 <= age.min() and age.max() <= 100


def test_compas_other_groupings():
    by_sex = rd.load_compas(groups="sex")
    _check_bunch(by_sex, 6172)
    assert by_sex.group_names.tolist() == ["Female", "Male"]
    assert not any(n.startswith("sex") for n in by_sex.feature_names)
    assert sum(n.startswith("race=") for n in by_sex.feature_names) == 6

    by_both = rd.load_compas(groups="race_sex")
    _check_bunch(by_both, 6172)
    assert len(by_both.group_names) == 12
    assert all("|" in g for g in by_both.group_names)
    assert not any(n.startswith(("sex", "race")) for n in by_both.feature_names)
    with pytest.raises(ValueError, match="groups"):
        rd.load_compas(groups="age")


# --- Adult --------------------------------------------------------------------------------


def test_adult_rows_split_and_groups(adult):
    _check_bunch(adult, 45222)
    assert adult.is_test.dtype == bool
    assert int((~adult.is_test).sum()) == 30162
    assert int(adult.is_test.sum()) == 15060
    # the official test rows come after the training rows
    assert not adult.is_test[:30162].any() and adult.is_test[30162:].all()
    assert set(np.unique(adult.y)) == {0, 1}
    assert int(adult.y[~adult.is_test].sum()) == 7508
    assert int(adult.y[adult.is_test].sum()) == 3700  # labels with a trailing '.' parsed
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
        np.testing.assert_array_equal(adult.X[:, cols].sum(axis=1), 1.0)


# --- Communities and Crime ----------------------------------------------------------------


def test_communities_regression_and_groups(communities):
    _check_bunch(communities, 1994)
    assert communities.task == "regression"
    assert communities.y.dtype == np.float64
    assert communities.y.min() >= 0.0 and communities.y.max() <= 1.0
    assert np.unique(communities.y).size > 50
    names, counts = np.unique(communities.groups, return_counts=True)
    assert dict(zip(names.tolist(), counts.tolist())) == {
        "Asian": 88,
        "Black": 219,
        "Hispanic": 115,
        "White": 1572,
    }
    maj = rd.load_communities(groups="black_majority")
    names, counts = np.unique(maj.groups, return_counts=True)
    assert dict(zip(names.tolist(), counts.tolist())) == {
        "racepctblack<0.5": 1750,
        "racepctblack>=0.5": 244,
    }
    with pytest.raises(ValueError, match="groups"):
        rd.load_communities(groups="race")


def test_communities_features(communities):
    names = set(communities.feature_names)
    assert not names & set(rd.COMMUNITIES_RACE_COLUMNS)
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
    X, y, g = compas.X, compas.y, compas.groups
    split = rd.train_val_test_split_by_group(X, y, g, random_state=0)
    assert split["small_groups"] == "drop"
    assert split["min_group_size"] == 30
    assert split["dropped_groups"] == {"Native American": 11}
    assert split["merged_groups"] == {}
    assert "Native American" not in split["group_names"]
    assert len(split["group_names"]) == 5
    _check_split(split, X, y, g, g != "Native American")
    table = rd.describe_split(split)
    assert table.loc["Asian"].tolist() == [19, 6, 6, 31]
    for name in split["group_names"]:
        n_g = int(np.sum(g == name))
        assert abs(table.loc[name, "test"] - 0.2 * n_g) <= 1
        assert abs(table.loc[name, "val"] - 0.2 * n_g) <= 1


def test_split_is_class_stratified_within_groups(adult):
    X, y, g = adult.X, adult.y, adult.groups
    split = rd.train_val_test_split_by_group(X, y, g, random_state=3)
    assert split["class_stratified"] and split["group_only_groups"] == []
    assert split["dropped_groups"] == {}
    _check_split(split, X, y, g, np.ones(len(y), dtype=bool))
    for name in split["group_names"]:
        positives = int(y[g == name].sum())
        for part, share in (("test", 0.2), ("val", 0.2), ("train", 0.6)):
            in_part = split[f"groups_{part}"] == name
            assert abs(int(split[f"y_{part}"][in_part].sum()) - share * positives) <= 2


def test_split_is_reproducible(compas):
    X, y, g = compas.X, compas.y, compas.groups
    a = rd.train_val_test_split_by_group(X, y, g, random_state=42)
    b = rd.train_val_test_split_by_group(X, y, g, random_state=42)
    c = rd.train_val_test_split_by_group(X, y, g, random_state=43)
    for key in SPLIT_KEYS + ["idx_train", "idx_val", "idx_test"]:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["idx_test"], c["idx_test"])
    rng = np.random.RandomState(7)
    d = rd.train_val_test_split_by_group(X, y, g, random_state=rng)
    e = rd.train_val_test_split_by_group(X, y, g, random_state=np.random.RandomState(7))
    np.testing.assert_array_equal(d["idx_val"], e["idx_val"])


def test_split_merge_policy():
    b = rd.load_compas(groups="race_sex")
    X, y, g = b.X, b.y, b.groups
    split = rd.train_val_test_split_by_group(
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
    assert rd.describe_split(split).loc["small", "total"] == 42
    merged_rows = np.isin(g, list(expected))
    for part in ("train", "val", "test"):
        in_small = split[f"groups_{part}"] == "small"
        np.testing.assert_array_equal(in_small, merged_rows[split[f"idx_{part}"]])


def test_split_merge_policy_drops_a_pool_that_is_still_small(compas):
    X, y, g = compas.X, compas.y, compas.groups
    split = rd.train_val_test_split_by_group(X, y, g, small_groups="merge", random_state=0)
    # only Native American (11 rows) is below 30; pooled alone it is still too small
    assert split["dropped_groups"] == {"Native American": 11}
    assert split["merged_groups"] == {} and split["merged_group_label"] is None
    _check_split(split, X, y, g, g != "Native American")
    # with a larger threshold Asian (31) joins the pool: 42 rows >= 40
    split = rd.train_val_test_split_by_group(
        X, y, g, small_groups="merge", min_group_size=40, random_state=0
    )
    assert split["merged_groups"] == {"Asian": 31, "Native American": 11}
    assert rd.describe_split(split).loc["merged_small_groups", "total"] == 42


def test_split_adult_threshold_and_group_only_fallback(adult):
    X, y, g = adult.X, adult.y, adult.groups
    split = rd.train_val_test_split_by_group(X, y, g, min_group_size=150, random_state=0)
    assert split["dropped_groups"] == {"Female|Other": 126}
    assert len(split["group_names"]) == 9
    _check_split(split, X, y, g, g != "Female|Other")

    # A group with only 2 positives cannot spread them over three parts: group-only split.
    rows = np.flatnonzero(g == "Female|Other")
    neg, pos = rows[y[rows] == 0][:40], rows[y[rows] == 1][:2]
    take = np.concatenate([np.flatnonzero(g == "Male|Other"), neg, pos])
    sub_g = g[take].copy()
    sub_g[len(take) - 42 :] = "tiny_minority"
    split = rd.train_val_test_split_by_group(X[take], y[take], sub_g, random_state=0)
    assert split["group_only_groups"] == ["tiny_minority"]
    _check_split(split, X[take], y[take], sub_g, np.ones(len(take), dtype=bool))


def test_split_regression_groups_only(communities):
    X, y, g = communities.X, communities.y, communities.groups
    split = rd.train_val_test_split_by_group(X, y, g, val_size=0.25, test_size=0.25, random_state=1)
    assert not split["class_stratified"]
    assert split["dropped_groups"] == {}
    _check_split(split, X, y, g, np.ones(len(y), dtype=bool))
    table = rd.describe_split(split)
    assert table.loc["Asian"].tolist() == [44, 22, 22, 88]


def test_split_rejects_bad_arguments(compas):
    X, y, g = compas.X, compas.y, compas.groups
    with pytest.raises(ValueError, match="small_groups"):
        rd.train_val_test_split_by_group(X, y, g, small_groups="keep")
    with pytest.raises(ValueError, match="below 1"):
        rd.train_val_test_split_by_group(X, y, g, val_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="min_group_size"):
        rd.train_val_test_split_by_group(X, y, g, min_group_size=2)
    with pytest.raises(ValueError, match="existing group"):
        rd.train_val_test_split_by_group(
            X, y, g, small_groups="merge", merged_group_label="Asian", min_group_size=40
        )
    with pytest.raises(ValueError, match="same number of rows"):
        rd.train_val_test_split_by_group(X, y[:-1], g)


def test_describe_tables(compas, adult, communities):
    table = rd.describe(compas)
    assert table["n"].sum() == 6172
    assert table.loc["Native American", "n"] == 11
    assert np.isclose(table["share"].sum(), 1.0)
    assert np.isclose(table.loc["Caucasian", "positive_rate"], 822 / 2103)
    table = rd.describe(adult)
    assert table["n_official_test"].sum() == 15060
    assert table.loc["Female|Other", "n"] == 126
    table = rd.describe(communities)
    assert "y_mean" in table.columns and table["n"].sum() == 1994
