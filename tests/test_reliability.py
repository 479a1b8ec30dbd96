"""Inputs that used to give silently wrong answers or unhelpful errors (issue 12), and
2-D groups (several sensitive attributes intersected)."""

import math

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import cross_validate
from sklearn.utils._param_validation import InvalidParameterError

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn._groups import encode_groups, index_groups, resolve_epsilons
from pergdro_sklearn.metrics import get_scorer, group_scores

pd = pytest.importorskip("pandas")

FAST = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0)


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y


# ---------------------------------------------------------------------------
# Missing group labels
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("missing", [float("nan"), None, "pd.NA", "np.nan"])
def test_missing_label_among_strings_is_an_error(missing):
    missing = {"pd.NA": pd.NA, "np.nan": np.nan}.get(missing, missing)
    groups = ["a", "b"] * 60
    groups[7] = missing
    X, y = _data()
    with pytest.raises(ValueError, match=r"missing( or infinite)? label.*row\(s\) \[7\]"):
        PerGDROClassifier(**FAST).fit(X, y, groups=groups)


@pytest.mark.parametrize("make", [
    lambda g: pd.Series(g, dtype="string"),
    lambda g: pd.Series(g, dtype="category"),
    lambda g: pd.Series(g, dtype=object),
    lambda g: np.array(g, dtype=object),
])
def test_missing_label_in_pandas_and_object_arrays_is_an_error(make):
    groups = ["a", "b"] * 60
    groups[3] = None
    with pytest.raises(ValueError, match="missing label"):
        encode_groups(make(groups), 120)


def test_nat_in_datetime_groups_is_an_error():
    days = pd.to_datetime(["2024-01-01", "2024-01-02"] * 60).to_numpy().copy()
    days[5] = np.datetime64("NaT")
    for groups in (days, pd.Series(days), list(pd.Series(days))):
        with pytest.raises(ValueError, match="missing label"):
            encode_groups(groups, 120)
    # Without NaT the dates are ordinary groups.
    labels, _, counts = encode_groups(pd.to_datetime(["2024-01-01", "2024-01-02"] * 60), 120)
    assert labels.shape == (2,) and counts.tolist() == [60, 60]


def test_numeric_groups_with_nan_or_inf_are_errors():
    for bad in (np.nan, np.inf):
        groups = np.repeat([0.0, 1.0], 60)
        groups[2] = bad
        with pytest.raises(ValueError, match=r"missing or infinite label.*\[2\]"):
            encode_groups(groups, 120)


def test_missing_label_at_predict_time_is_an_error():
    X, y = _data()
    groups = np.array(["a", "b"] * 60, dtype=object)
    est = PerGDROClassifier(**FAST).fit(X, y, groups=groups)
    groups[0] = np.nan
    with pytest.raises(ValueError, match="missing label"):
        est.robust_risk(X, y, groups=groups)


# ---------------------------------------------------------------------------
# 2-D groups
# ---------------------------------------------------------------------------
def _attributes(n=120):
    race = np.array(["African-American", "Caucasian", "Hispanic"] * (n // 3))
    sex = np.array(["Female"] * (n // 2) + ["Male"] * (n // 2))
    return pd.DataFrame({"race": race, "sex": sex})


def test_dataframe_groups_are_the_intersection_of_the_columns():
    frame = _attributes()
    X, y = _data()
    est = PerGDROClassifier(epsilon={"Hispanic|Male": 0.5}, **FAST).fit(X, y, groups=frame)
    expected = sorted({f"{r}|{s}" for r, s in zip(frame.race, frame.sex)})
    assert est.groups_.tolist() == expected
    assert est.group_counts_.tolist() == [20] * 6
    eps = dict(zip(est.groups_.tolist(), est.epsilons_.tolist()))
    assert eps["Hispanic|Male"] == 0.5
    assert sum(eps.values()) == 0.5
    # The same groups at score time, as a DataFrame or as a 2-D array, or already joined.
    for groups in (frame, frame.to_numpy(), frame.race + "|" + frame.sex):
        np.testing.assert_array_equal(
            index_groups(groups, est.groups_, 120),
            np.searchsorted(est.groups_, (frame.race + "|" + frame.sex).to_numpy()))
    assert est.robust_risk(X, y, groups=frame) == est.robust_risk(X, y, groups=frame.to_numpy())


def test_two_column_array_groups_and_tuple_epsilon_keys():
    X, y = _data()
    groups = np.column_stack([np.repeat([0, 1], 60), np.tile([0, 1, 2], 40)])
    est = PerGDROClassifier(epsilon={(1, 2): 0.3}, **FAST).fit(X, y, groups=groups)
    assert est.groups_.tolist() == ["0|0", "0|1", "0|2", "1|0", "1|1", "1|2"]
    assert est.epsilons_.tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.3]


def test_small_intersection_cells_are_named():
    frame = _attributes()
    frame.loc[0, "sex"] = "Other"  # one row: African-American|Other
    X, y = _data()
    with pytest.raises(ValueError, match=r"\['African-American\|Other'\].*race\|sex"):
        PerGDROClassifier(**FAST).fit(X, y, groups=frame)


def test_missing_label_in_one_column_is_an_error():
    frame = _attributes()
    frame.loc[4, "sex"] = None
    X, y = _data()
    with pytest.raises(ValueError, match="missing label"):
        GroupDROClassifier(**FAST).fit(X, y, groups=frame)


def test_separator_inside_a_label_is_refused():
    frame = _attributes()
    frame.loc[frame.race == "Hispanic", "race"] = "Hispanic|Latino"
    with pytest.raises(ValueError, match="containing '|'"):
        encode_groups(frame, 120)


def test_series_groups_are_one_dimensional():
    X, y = _data()
    series = pd.Series(np.repeat(["x", "y", "z"], 40), name="site")
    est = PerGDROClassifier(**FAST).fit(X, y, groups=series)
    assert est.groups_.tolist() == ["x", "y", "z"]


def test_single_column_dataframe_keeps_its_labels():
    labels, _, _ = encode_groups(pd.DataFrame({"g": np.repeat([3, 7], 60)}), 120)
    assert labels.tolist() == [3, 7]


def test_2d_groups_in_the_routed_scorer_and_metrics():
    frame = _attributes()
    X, y = _data()
    joined = (frame.race + "|" + frame.sex).to_numpy()
    scores = group_scores(y, 1 - y, groups=frame)
    assert list(scores) == sorted(set(joined))
    with sklearn.config_context(enable_metadata_routing=True):
        est = PerGDROClassifier(**FAST).set_fit_request(groups=True)
        scoring = {"worst": get_scorer("worst_group_accuracy")}
        by_frame = cross_validate(est, X, y, cv=3, scoring=scoring, params={"groups": frame})
        by_label = cross_validate(est, X, y, cv=3, scoring=scoring, params={"groups": joined})
    np.testing.assert_array_equal(by_frame["test_worst"], by_label["test_worst"])


def test_search_accepts_2d_groups():
    frame = _attributes()
    X, y = _data()
    search = PerGDROSearchCV(PerGDROClassifier(**FAST), n_iter=2, n_initial_points=2,
                             random_state=0, baselines=None)
    search.fit(X, y, groups=frame)
    assert search.best_estimator_.groups_.tolist() == sorted(set(frame.race + "|" + frame.sex))


# ---------------------------------------------------------------------------
# epsilon given as a 2-D array or a Series
# ---------------------------------------------------------------------------
def test_two_dimensional_epsilon_is_refused():
    labels = np.array(["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        resolve_epsilons(np.array([[0.1, 0.2], [0.3, 0.4]]), labels)
    X, y = _data()
    with pytest.raises(ValueError, match="1-D"):
        PerGDROClassifier(epsilon=[[0.1, 0.2, 0.3]], **FAST).fit(
            X, y, groups=np.repeat(["a", "b", "c"], 40))


def test_epsilon_series_is_matched_by_label():
    X, y = _data()
    groups = np.repeat(["a", "b", "c"], 40)
    radii = pd.Series({"c": 0.3, "a": 0.1, "b": 0.2})  # not in sorted order
    est = PerGDROClassifier(epsilon=radii, **FAST).fit(X, y, groups=groups)
    assert est.epsilons_.tolist() == [0.1, 0.2, 0.3]


@pytest.mark.parametrize("index", [["a", "b", "zz"], ["a", "b"], ["a", "b", "c", "c"]])
def test_epsilon_series_with_other_labels_is_refused(index):
    radii = pd.Series(np.full(len(index), 0.1), index=index)
    with pytest.raises(ValueError, match="matched by label"):
        resolve_epsilons(radii, np.array(["a", "b", "c"]))


# ---------------------------------------------------------------------------
# Attack step size, Wasserstein order, class labels
# ---------------------------------------------------------------------------
def _recorded_steps(monkeypatch, est, X, y, groups):
    import pergdro_sklearn._train.loop as training

    seen = []
    real = training.wasserstein_attack

    def recording(*args, **kwargs):
        seen.append((kwargs["method"], kwargs["step_size"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "wasserstein_attack", recording)
    est.fit(X, y, groups=groups)
    return set(seen)


@pytest.mark.parametrize("attack, step", [("pgd", 2.5), ("fgsm", 1.25)])
def test_auto_attack_step_size_is_resolved_per_method(monkeypatch, attack, step):
    X, y = _data()
    groups = np.repeat(["a", "b", "c"], 40)
    # five PGD steps: one step of either size reaches the ball's boundary, the same point
    steps = dict(attack_steps=5)
    est = PerGDROClassifier(attack=attack, epsilon=0.5, **steps, **FAST)
    assert est.attack_step_size == "auto"
    assert _recorded_steps(monkeypatch, est, X, y, groups) == {(attack, step)}
    # The explicit value trains the same model; the other method's default does not.
    explicit = PerGDROClassifier(attack=attack, epsilon=0.5, attack_step_size=step, **steps,
                                 **FAST)
    explicit.fit(X, y, groups=groups)
    other = PerGDROClassifier(attack=attack, epsilon=0.5, attack_step_size=3.75 - step,
                              **steps, **FAST)
    other.fit(X, y, groups=groups)
    np.testing.assert_array_equal(est.predict_proba(X), explicit.predict_proba(X))
    assert not np.allclose(est.predict_proba(X), other.predict_proba(X))


@pytest.mark.parametrize("order", [np.inf, float("inf"), math.inf])
def test_wasserstein_order_accepts_infinity(order):
    X, y = _data()
    groups = np.repeat(["a", "b", "c"], 40)
    by_name = PerGDROClassifier(wasserstein_order="inf", epsilon=0.3, **FAST).fit(
        X, y, groups=groups)
    by_value = PerGDROClassifier(wasserstein_order=order, epsilon=0.3, **FAST).fit(
        X, y, groups=groups)
    np.testing.assert_array_equal(by_name.predict_proba(X), by_value.predict_proba(X))


@pytest.mark.parametrize("order", [3, 1.5, 0, -np.inf, "two", "1", None])
def test_other_wasserstein_orders_are_refused_by_parameter_validation(order):
    X, y = _data()
    est = PerGDROClassifier(wasserstein_order=order, **FAST)
    with pytest.raises(InvalidParameterError, match="wasserstein_order"):
        est.fit(X, y, groups=np.repeat(["a", "b", "c"], 40))
    assert not hasattr(est, "module_")


def test_boolean_wasserstein_order_is_refused():
    X, y = _data()
    est = PerGDROClassifier(wasserstein_order=True, **FAST)
    with pytest.raises(ValueError, match="wasserstein_order"):
        est.fit(X, y, groups=np.repeat(["a", "b", "c"], 40))
    assert not hasattr(est, "module_")


def test_mixed_int_and_string_labels_are_a_clear_value_error():
    X, _ = _data()
    y = np.array(["yes", 1] * 60, dtype=object)
    with pytest.raises(ValueError, match=r"mixes class labels of different types \(int, str\)"):
        PerGDROClassifier(**FAST).fit(X, y, groups=np.repeat(["a", "b"], 60))
