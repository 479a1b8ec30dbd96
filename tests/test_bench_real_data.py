"""``benchmarks.real_data``: its results file name and its data folder (training stubbed)."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from benchmarks import _common, real_data  # noqa: E402


def _fake_run(name, bunch, seed, args):
    task = real_data.DATASETS[name][2]
    methods = [*real_data.BASELINES, real_data.SEARCH]
    results = {m: (0.5 + 0.1 * seed + 0.01 * i, 0.4 + 0.02 * seed, {"a": 0.4, "b": 0.6})
               for i, m in enumerate(methods)}
    times = {m: 1.0 for m in methods}
    meta = dict(dropped={}, n_rows=8, n_test=2, smallest_test=2, collapsed=(1, 4, seed == 0),
                n_features=3, task=task, mlp=0.5,
                picked="per_gdro", pick=(0.5, [0.1, 0.2]))
    return results, times, meta


@pytest.fixture
def stubbed(tmp_path, monkeypatch):
    monkeypatch.setattr(real_data, "RESULTS", tmp_path)
    monkeypatch.setattr(_common, "RESULTS", tmp_path)
    monkeypatch.setattr(real_data, "run", _fake_run)
    homes = []
    monkeypatch.setattr(real_data, "load", lambda name, home: homes.append((name, home)))
    return tmp_path, homes


@pytest.mark.parametrize("flags, output", [(["--quick"], "real_data_quick"), ([], "real_data")])
def test_results_file_is_named_after_the_run_not_a_data_set(flags, output, stubbed):
    results, homes = stubbed
    path = real_data.main([*flags, "--seeds", "2", "--data-home", "some/folder"])
    assert path == results / f"{output}.md"
    assert sorted(p.name for p in results.iterdir()) == [f"{output}.md", f"{output}.png"]
    text = path.read_text()
    for name in real_data.DATASETS:
        assert f"## {name}" in text
    assert text.count("times one MLP fit of 100 epochs") == len(real_data.DATASETS)
    assert "The default search against each baseline" in text
    assert homes == [(name, "some/folder") for name in real_data.DATASETS]


def test_data_home_order(tmp_path, monkeypatch):
    monkeypatch.setenv("PERGDRO_DATA_HOME", str(tmp_path / "env"))
    assert _common.benchmark_data_home("flag") == "flag"
    assert _common.benchmark_data_home() == str(tmp_path / "env")
    monkeypatch.delenv("PERGDRO_DATA_HOME")
    beside = Path(_common.__file__).resolve().parents[2] / "shared" / "data"
    expected = str(beside) if beside.is_dir() else None
    assert _common.benchmark_data_home() == expected


def test_feature_scaler_standardises_numeric_columns_and_keeps_indicators_at_0_1():
    rng = np.random.default_rng(0)
    numeric = rng.normal(5.0, 3.0, size=(200, 2))
    indicator = (rng.random((200, 1)) < 0.02).astype(float)  # a rare one-hot category
    X = np.hstack([indicator, numeric])
    Z = _common.feature_scaler(X).transform(X)
    np.testing.assert_allclose(Z[:, :2].mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1.0)
    np.testing.assert_array_equal(Z[:, 2], indicator[:, 0])


def test_load_falls_back_to_the_loaders_cache_for_a_data_set_the_folder_lacks(monkeypatch):
    calls = []

    def loader(data_home=None, download_if_missing=True, **kwargs):
        calls.append((data_home, download_if_missing))
        if data_home is not None:
            raise FileNotFoundError("not in this folder")
        return "bunch"

    monkeypatch.setitem(real_data.DATASETS, "fake", (loader, {}, "classification"))
    assert real_data.load("fake", "shared/data") == "bunch"
    # the folder is read without downloading into it; the default cache may download
    assert calls == [("shared/data", False), (None, True)]


def test_markdown_table_escapes_pipes_in_group_labels():
    table = _common.markdown_table(["method", "Black|single"], [["ERM", "0.7"]])
    assert table.splitlines()[0] == "| method | Black\\|single |"
    assert all(line.count(" | ") == 1 for line in (table.splitlines()[0],
                                                   table.splitlines()[2]))


def test_per_seed_line_shows_the_seed_a_mean_rests_on():
    # seed 1 alone makes the mean: one of 6 test rows of the smallest group ("a")
    def scores(worst, other):
        return {"a": worst, "b": other}

    per_seed = [({real_data.SEARCH: (0.7, w, scores(w, 0.7)),
                  "GroupDRO": (0.7, 0.6, scores(0.65, 0.6))}, {}, {"smallest_test": n})
                for w, n in ((0.6, 8), (0.5, 6), (0.6, 7))]
    line = real_data.per_seed_line(per_seed, range(3), "classification", "GroupDRO")
    assert "seed 0: +0.00 (a: 0.600 against 0.650)" in line
    assert "seed 1: -10.00 (a: 0.500 against 0.650)" in line
    assert "smallest test group has 6 rows" in line and "16.7 points" in line
    mse = real_data.per_seed_line(per_seed, range(3), "regression", "GroupDRO")
    # lower MSE is better: the worst group is the highest, "b"
    assert "seed 1: +0.1000 (b: 0.700 against 0.600)" in mse and "points" not in mse


def test_by_pick_line_splits_the_mean_gap_by_what_the_search_picked():
    def seed(search, baseline, picked):
        return ({real_data.SEARCH: (0.8, search, {}), "linear": (0.8, baseline, {})}, {},
                {"picked": picked})

    per_seed = [seed(0.70, 0.70, "linear"), seed(0.66, 0.70, "linear + ERM"),
                seed(0.70, 0.70, "linear"), seed(0.62, 0.70, "linear + ERM"),
                seed(0.75, 0.70, "per_gdro")]
    line = real_data.by_pick_line(per_seed, "classification", "linear")
    assert ("linear: 2 seeds, +0.00 (sum +0.00), linear + ERM: 2 seeds, -6.00 "
            "(sum -12.00), per_gdro: 1 seed, +5.00 (sum +5.00).") in line
    mse = real_data.by_pick_line(per_seed[-1:], "regression", "linear")
    assert "per_gdro: 1 seed, -0.0500 (sum -0.0500)." in mse  # lower MSE is better


def test_collapse_line_counts_the_networks_that_predicted_one_class():
    per_seed = [({}, {}, {"collapsed": c}) for c in ((0, 16, False), (16, 16, True))]
    line = real_data.collapse_line(per_seed, range(2))
    assert "seed 0: 0 of 16, seed 1: 16 of 16 (ERM among them)." in line
    none = real_data.collapse_line(per_seed[:1], range(1))
    assert none.startswith("No network candidate")


def test_network_params_sets_only_a_non_default_early_stopping_loss():
    from argparse import Namespace

    from benchmarks.real_data import network_params

    assert network_params(Namespace(early_stopping_loss="auto")) == {}
    assert network_params(Namespace()) == {}
    assert network_params(Namespace(early_stopping_loss="average")) == {
        "early_stopping_loss": "average"}
    assert network_params(Namespace(early_stopping_loss="worst_group")) == {
        "early_stopping_loss": "worst_group"}


def test_search_params_sets_only_a_non_default_refit_seeds():
    from argparse import Namespace

    from benchmarks.real_data import default_search, search_params

    assert search_params(Namespace(refit_seeds=3)) == {}  # the package's default
    assert search_params(Namespace()) == {}
    assert search_params(Namespace(refit_seeds=1)) == {"refit_seeds": 1}
    assert default_search("classification", 0, None, {"refit_seeds": 1}).refit_seeds == 1
    assert default_search("regression", 0).refit_seeds == 3


def test_paired_gives_the_t_interval_of_the_differences():
    mean, low, high = _common.paired([3.0, 5.0, 7.0], [2.0, 3.0, 4.0])  # differences 1, 2, 3
    half = 4.302652729911275 / np.sqrt(3)  # t(0.975, 2) times the standard error (std 1)
    assert mean == pytest.approx(2.0)
    assert (low, high) == pytest.approx((2.0 - half, 2.0 + half))
    assert np.isnan(_common.paired([1.0], [0.0])[1])  # one pair: no interval
    assert _common.format_paired([3.0, 5.0, 7.0], [2.0, 3.0, 4.0], digits=2) == (
        f"+2.00 [{2.0 - half:+.2f}, {2.0 + half:+.2f}]")
