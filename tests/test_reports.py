"""Scorers with routing switched on before or after they are made, the metrics'
public surface, group_report against an independent bootstrap, and the training
accuracy per group and epoch."""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pergdro_sklearn.metrics as metrics
from pergdro_sklearn import PerGDROClassifier, PerGDRORegressor
from pergdro_sklearn._estimators.batched import fit_candidates
from pergdro_sklearn.metrics import get_scorer, group_report, worst_group_accuracy


# ---- scorers and routing ---------------------------------------------------------------
def _cross_validate(scorer, X, y, groups):
    with sklearn.config_context(enable_metadata_routing=True):
        return cross_validate(LogisticRegression(), X, y,
                              cv=StratifiedKFold(4, shuffle=True, random_state=0),
                              scoring={"wga": scorer}, params={"groups": groups},
                              return_estimator=True, return_indices=True)


@pytest.mark.parametrize("name", ["worst_group_accuracy", "worst_group_log_loss"])
def test_scorer_made_before_or_after_routing_gives_the_same_numbers(small_classification,
                                                                   name):
    X, y, groups = small_classification
    before = get_scorer(name)  # routing is off here
    assert not sklearn.get_config()["enable_metadata_routing"]
    with sklearn.config_context(enable_metadata_routing=True):
        after = get_scorer(name)
    result_before = _cross_validate(before, X, y, groups)
    result_after = _cross_validate(after, X, y, groups)
    np.testing.assert_array_equal(result_before["test_wga"], result_after["test_wga"])
    # and they are the worst group of each fold's own test rows
    if name == "worst_group_accuracy":
        for k, (model, test) in enumerate(zip(result_before["estimator"],
                                              result_before["indices"]["test"])):
            expected = worst_group_accuracy(y[test], model.predict(X[test]), groups[test])
            assert result_before["test_wga"][k] == expected
        assert np.unique(result_before["test_wga"]).shape[0] > 1


def test_scorer_takes_groups_directly_with_routing_off(small_classification):
    X, y, groups = small_classification
    model = LogisticRegression().fit(X, y)
    scorer = get_scorer("worst_group_accuracy")
    expected = worst_group_accuracy(y, model.predict(X), groups)
    assert scorer(model, X, y, groups=groups) == expected
    with sklearn.config_context(enable_metadata_routing=True):
        assert scorer(model, X, y, groups=groups) == expected
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        scorer(model, X, y)


def test_sklearn_refuses_the_name_and_takes_the_scorer(small_classification):
    X, y, groups = small_classification
    with pytest.raises(ValueError):
        cross_validate(LogisticRegression(), X, y, scoring="worst_group_accuracy")


def test_metrics_take_groups_positionally():
    y, pred, g = [0, 1, 1, 0], [0, 1, 0, 0], ["a", "a", "b", "b"]
    assert metrics.worst_group_accuracy(y, pred, g) == 0.5
    assert metrics.worst_group_error(y, pred, g) == 0.5
    assert metrics.worst_group_mse([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0], g) == 2.0
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5], [0.5, 0.5]])
    assert metrics.worst_group_log_loss(y, proba, g) == pytest.approx(np.log(2))


def test_metrics_module_shows_only_its_own_names():
    public = {name for name in dir(metrics) if not name.startswith("_")}
    assert public == set(metrics.__all__)
    for foreign in ("np", "Pipeline", "accuracy_score", "dataclass", "functools"):
        assert not hasattr(metrics, foreign)
    for name in metrics.__all__:
        if name != "GROUP_METRICS":
            assert getattr(metrics, name).__module__.startswith("pergdro_sklearn")


# ---- group_report ------------------------------------------------------------------------
def _reference_interval(y_true, y_pred, metric, n_bootstrap, confidence, rng):
    """A percentile bootstrap written out: indices drawn one resample at a time."""
    values = []
    n = len(y_true)
    for _ in range(n_bootstrap):
        rows = rng.randint(0, n, n)
        values.append(metric(y_true[rows], y_pred[rows]))
    values = np.sort(values)
    alpha = (1 - confidence) / 2
    return np.quantile(values, alpha), np.quantile(values, 1 - alpha)


def _report_data():
    rng = np.random.default_rng(3)
    groups = np.repeat(["big group", "small", "mid"], [200, 30, 70])
    y = rng.integers(0, 2, groups.shape[0])
    flip = rng.random(groups.shape[0]) < np.where(groups == "small", 0.4, 0.15)
    return y, np.where(flip, 1 - y, y), groups


def test_group_report_rows_sizes_metrics_and_summary():
    y, pred, groups = _report_data()
    report = group_report(y, pred, groups, {"accuracy": accuracy_score, "f1": f1_score,
                                            "error": lambda a, b: np.mean(a != b)},
                          lower_is_better="error", n_bootstrap=50)
    assert report.index.tolist() == ["big group", "mid", "small"]
    assert report.index.name == "group"
    assert report["size"].tolist() == [200, 70, 30]
    for label in report.index:
        mask = groups == label
        assert report.loc[label, "accuracy"] == accuracy_score(y[mask], pred[mask])
        assert report.loc[label, "f1"] == f1_score(y[mask], pred[mask])
    assert list(report.columns) == ["size", "accuracy", "accuracy_low", "accuracy_high", "f1",
                                    "f1_low", "f1_high", "error", "error_low", "error_high"]
    assert report.attrs["worst"]["accuracy"] == "small"
    assert report.attrs["worst"]["error"] == "small"  # the highest error
    assert report.attrs["worst_value"]["accuracy"] == report["accuracy"].min()
    assert report.attrs["gap"]["accuracy"] == pytest.approx(
        report["accuracy"].max() - report["accuracy"].min())


def test_group_report_intervals_match_an_independent_bootstrap():
    y, pred, groups = _report_data()
    report = group_report(y, pred, groups, [accuracy_score, f1_score], n_bootstrap=300,
                          confidence=0.9, random_state=7)
    # the report resamples the groups in sorted order, metric by metric, from one
    # RandomState(7); accuracy is vectorised, f1 goes through the metric itself
    rng = np.random.RandomState(7)
    for label in sorted(set(groups)):
        mask = groups == label
        for name, metric in (("accuracy", accuracy_score), ("f1", f1_score)):
            low, high = _reference_interval(y[mask], pred[mask], metric, 300, 0.9, rng)
            assert report.loc[label, f"{name}_low"] == pytest.approx(low)
            assert report.loc[label, f"{name}_high"] == pytest.approx(high)
            assert low <= report.loc[label, name] <= high
    # the smallest group has the widest interval
    width = report["accuracy_high"] - report["accuracy_low"]
    assert width.idxmax() == "small"
    # seeded: the same seed gives the same intervals, another seed others
    again = group_report(y, pred, groups, [accuracy_score, f1_score], n_bootstrap=300,
                         confidence=0.9, random_state=7)
    assert again.equals(report)
    other = group_report(y, pred, groups, [accuracy_score], n_bootstrap=300,
                         confidence=0.9, random_state=8)
    assert not other.equals(report)


def test_group_report_validates():
    y, pred, groups = _report_data()
    with pytest.raises(ValueError, match="n_bootstrap"):
        group_report(y, pred, groups, n_bootstrap=-1)
    with pytest.raises(ValueError, match="confidence"):
        group_report(y, pred, groups, confidence=1.5)
    with pytest.raises(ValueError, match="not metrics of the report"):
        group_report(y, pred, groups, lower_is_better="loss")
    with pytest.raises(ValueError, match="groups is required"):
        group_report(y, pred, None)
    with pytest.raises(ValueError, match="taken"):
        group_report(y, pred, groups, {"size": accuracy_score})
    nan = group_report(y, pred, groups, n_bootstrap=0)
    assert nan["accuracy_low"].isna().all()


def test_group_report_on_compas():
    from pergdro_sklearn.datasets import fetch_compas

    try:
        data = fetch_compas(download_if_missing=False)
    except (OSError, ValueError) as exc:
        pytest.skip(f"COMPAS not available: {exc}")
    X_train, X, y_train, y, g_train, groups = train_test_split(
        data.data, data.target, data.groups, test_size=0.3, stratify=data.groups,
        random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_train, y_train)
    report = group_report(y, model.predict(X), groups, [accuracy_score], n_bootstrap=200)
    labels, counts = np.unique(groups, return_counts=True)
    assert report["size"].tolist() == counts.tolist()
    assert report.index.tolist() == labels.tolist()
    assert (report["accuracy_low"] <= report["accuracy"]).all()
    assert (report["accuracy"] <= report["accuracy_high"]).all()
    # the intervals are the bootstrap written out above, group by group in sorted
    # order from RandomState(0) (the default seed)
    pred, rng = model.predict(X), np.random.RandomState(0)
    for label in labels:
        mask = groups == label
        assert report.loc[label, "accuracy"] == accuracy_score(y[mask], pred[mask])
        low, high = _reference_interval(y[mask], pred[mask], accuracy_score, 200, 0.95, rng)
        assert report.loc[label, "accuracy_low"] == pytest.approx(low)
        assert report.loc[label, "accuracy_high"] == pytest.approx(high)
    # the small groups are the uncertain ones
    width = report["accuracy_high"] - report["accuracy_low"]
    assert width[report["size"].idxmin()] > width[report["size"].idxmax()]


# ---- per-group training accuracy per epoch ------------------------------------------------
def _full_batch(max_iter=4):
    return PerGDROClassifier(hidden_layer_sizes=(8,), rho=0.0, epsilon=0.0, max_iter=max_iter,
                             batch_size=10_000, learning_rate_init=0.05, random_state=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_group_accuracy_curve_is_the_epochs_training_accuracy(small_classification):
    X, y, groups = small_classification
    est = _full_batch().fit(X, y, groups=groups)
    curve = np.array(est.group_accuracy_curve_)
    assert curve.shape == (4, 3)
    # full batch, clean rows: epoch k measured the model after k - 1 updates
    for k in range(1, 4):
        earlier = _full_batch(max_iter=k).fit(X, y, groups=groups)
        pred = earlier.predict(X)
        expected = [accuracy_score(y[groups == g], pred[groups == g]) for g in est.groups_]
        np.testing.assert_allclose(curve[k], expected)
    assert not np.allclose(curve[0], curve[3])  # it moved: not a constant


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_group_accuracy_curve_with_attack_minibatches_and_warm_start(small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(hidden_layer_sizes=(8,), epsilon=0.5, max_iter=3, batch_size=16,
                            random_state=0).fit(X, y, groups=groups)
    curve = np.array(est.group_accuracy_curve_)
    assert curve.shape == (3, 3) and np.all((curve >= 0) & (curve <= 1))
    # each value is a share of the group's 40 rows
    np.testing.assert_allclose(curve * 40, np.round(curve * 40), atol=1e-6)
    est.set_params(warm_start=True, max_iter=2).fit(X, y, groups=groups)
    assert len(est.group_accuracy_curve_) == 5
    np.testing.assert_array_equal(np.array(est.group_accuracy_curve_[:3]), curve)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_group_accuracy_curve_in_batched_fits(small_classification):
    X, y, groups = small_classification
    template = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    params = [{"rho": 0.0, "epsilon": 0.0}, {"rho": 0.5, "epsilon": 0.3}]
    batched = fit_candidates(template, params, X, y, groups=groups)
    for p, member in zip(params, batched):
        alone = sklearn.clone(template).set_params(**p).fit(X, y, groups=groups)
        np.testing.assert_allclose(np.array(member.group_accuracy_curve_),
                                   np.array(alone.group_accuracy_curve_), atol=0.03)
        assert len(member.group_accuracy_curve_) == 3


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_regressors_have_no_accuracy_curve():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    est = PerGDRORegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
        X, X[:, 0], groups=np.repeat([0, 1], 30))
    assert est.group_accuracy_curve_ is None
