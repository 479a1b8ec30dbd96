"""group_shift_report: each group's metric under the within-group attack."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import (
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn._shift import _gradient_attack, _Model, _network
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.metrics import group_shift_report

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
RADII = [0.0, 0.1, 0.3, 1.0]


@pytest.fixture(scope="module")
def data():
    return make_shifted_groups(n_train=(120, 100, 40, 40), n_test=(80, 60, 30, 30),
                               random_state=0)


@pytest.fixture(scope="module")
def net(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PerGDROClassifier(hidden_layer_sizes=(16,), rho=0.0, epsilon=0.0,
                                 max_iter=40, random_state=0).fit(
            data.X_train, data.y_train, groups=data.groups_train)


@pytest.fixture(scope="module")
def hgb(data):
    return HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(
        data.X_train, data.y_train)


def _report(model, data, **kwargs):
    kwargs.setdefault("radii", RADII)
    kwargs.setdefault("n_bootstrap", 50)
    kwargs.setdefault("n_queries", 20)
    return group_shift_report(model, data.X_test, data.y_test, data.groups_test, **kwargs)


def _metric_curve(report):
    return report[[f"metric_at_{r:g}" for r in report.attrs["radii"]]].to_numpy()


def test_columns_and_attrs(net, data):
    report = _report(net, data, points=[2, 10])
    names = ["0", "0.1", "0.3", "1"]
    assert report.index.name == "group" and report.index.tolist() == [0, 1, 2, 3]
    assert report.columns.tolist() == (
        ["n", "metric", "metric_low", "metric_high"] + [f"metric_at_{n}" for n in names]
        + ["loss"] + [f"loss_at_{n}" for n in names]
        + [f"certified_bound_at_{n}" for n in names]
        + ["radius_to_lose_2pt", "radius_to_lose_10pt"])
    assert report["n"].tolist() == [80, 60, 30, 30]
    assert report.attrs["metric"] == "accuracy" and report.attrs["attack"] == "gradient"
    assert report.attrs["radii"] == (0.0, 0.1, 0.3, 1.0) and report.attrs["order"] == "inf"
    assert report.attrs["attack_steps"] == 10 and report.attrs["points"] == (2.0, 10.0)
    assert np.all(report["metric_low"] <= report["metric"])
    assert np.all(report["metric"] <= report["metric_high"])


@pytest.mark.parametrize("model", ["net", "hgb", "pipeline"])
def test_radius_zero_is_the_clean_metric_exactly(model, net, hgb, data, request):
    if model == "pipeline":
        estimator = make_pipeline(StandardScaler(), LogisticRegression()).fit(
            data.X_train, data.y_train)
    else:
        estimator = {"net": net, "hgb": hgb}[model]
    report = _report(estimator, data)
    pred = estimator.predict(data.X_test)
    for label in report.index:
        rows = data.groups_test == label
        assert report.loc[label, "metric"] == np.mean(pred[rows] == data.y_test[rows])
    assert report["metric_at_0"].tolist() == report["metric"].tolist()
    assert report["loss_at_0"].tolist() == report["loss"].tolist()


@pytest.mark.parametrize("order", ["inf", 2, 1])
def test_gradient_attack_hurts_and_never_helps(net, data, order):
    report = _report(net, data, order=order)
    curve = _metric_curve(report)
    assert np.all(np.diff(curve, axis=1) <= 0), "accuracy rose with the radius"
    losses = report[[f"loss_at_{r:g}" for r in RADII]].to_numpy()
    # the attack is real: every group's loss grows at every positive radius
    assert np.all(np.diff(losses, axis=1) > 0)
    assert np.all(curve[:, -1] < curve[:, 0]) and np.mean(curve[:, 0] - curve[:, -1]) > 0.1


def test_certified_bound_holds_for_both_attacks(net, data):
    for attack in ("gradient", "random"):
        report = _report(net, data, attack=attack)
        for r in RADII:
            bound, loss = report[f"certified_bound_at_{r:g}"], report[f"loss_at_{r:g}"]
            assert np.all(bound >= loss - 1e-12), (attack, r)
        assert report["certified_bound_at_0"].tolist() == report["loss"].tolist()
        assert np.all(report["certified_bound_at_1"] > report["certified_bound_at_0.1"])


def test_regressor_mse_never_falls_and_its_bound_holds():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=160)
    groups = np.repeat(["a", "b"], [100, 60])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = PerGDRORegressor(hidden_layer_sizes=(16,), rho=0.0, epsilon=0.0, max_iter=30,
                               random_state=0).fit(X, y, groups=groups)
    report = group_shift_report(net, X, y, groups, radii=RADII, n_bootstrap=0)
    assert report.attrs["metric"] == "mse" and report.attrs["lower_is_better"]
    curve = _metric_curve(report)
    assert np.all(np.diff(curve, axis=1) >= 0) and np.all(curve[:, -1] > curve[:, 0])
    assert report["metric_at_0"].tolist() == report["metric"].tolist()
    assert report["metric_low"].isna().all()
    for r in RADII:
        assert np.all(report[f"certified_bound_at_{r:g}"] >= report[f"loss_at_{r:g}"] - 1e-9)
    ridge = group_shift_report(Ridge().fit(X, y), X, y, groups, radii=RADII, n_queries=10,
                               n_bootstrap=0)
    assert ridge.attrs["attack"] == "random"
    assert np.all(np.diff(_metric_curve(ridge), axis=1) >= 0)
    assert ridge["loss"].tolist() == ridge["metric"].tolist()  # its loss is the MSE
    assert ridge["certified_bound_at_1"].isna().all()


@pytest.mark.parametrize("order", ["inf", 2, 1])
def test_the_gradient_attack_stays_in_its_budget(net, data, order):
    rows = data.groups_test == 3
    X, y = data.X_test[rows], data.y_test[rows]
    model = _Model(net, X, _network(net))
    for radius, X_adv in zip(RADII, _gradient_attack(model, X, y, RADII, order, 10)):
        norms = np.linalg.norm(X_adv - X, axis=1)
        if order == "inf":
            assert norms.max() <= radius + 1e-9
        elif order == 2:
            assert np.sqrt(np.mean(norms ** 2)) <= radius + 1e-9
        else:
            assert norms.mean() <= radius + 1e-9


def test_gradient_free_attack_on_trees(hgb, data):
    report = _report(hgb, data)
    assert report.attrs["attack"] == "random" and report.attrs["n_queries"] == 20
    curve = _metric_curve(report)
    assert np.all(np.diff(curve, axis=1) <= 0)
    assert np.all(curve[:, -1] < curve[:, 0])  # the search finds something
    assert report["certified_bound_at_0.1"].isna().all()
    assert np.all(report["loss_at_1"] >= report["loss"])
    again = _report(hgb, data)
    pd.testing.assert_frame_equal(report, again)  # seeded


def test_radius_to_lose_reads_the_curve(net, data):
    report = _report(net, data, radii=[0.3, 0, 1, 0.1], points=[1, 5, 99])
    assert report.attrs["radii"] == (0.0, 0.1, 0.3, 1.0)  # sorted
    for _, row in report.iterrows():
        for k in (1, 5):
            lost = [r for r in RADII if row["metric"] - row[f"metric_at_{r:g}"] >= k / 100 - 1e-9]
            expected = lost[0] if lost else np.nan
            np.testing.assert_equal(row[f"radius_to_lose_{k}pt"], expected)
    assert report["radius_to_lose_99pt"].isna().all()


def test_a_search_is_attacked_through_its_refit_network(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = PerGDROSearchCV(
            PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
            n_iter=2, n_initial_points=2, refit_seeds=2, baselines=None,
            random_state=0).fit(
            data.X_train, data.y_train, groups=data.groups_train)
    assert len(search.best_estimator_.estimators_) == 2  # two seeds averaged
    report = _report(search, data, radii=[0, 0.5])
    assert report.attrs["attack"] == "gradient"
    assert report["certified_bound_at_0.5"].notna().all()
    assert np.all(report["metric_at_0.5"] <= report["metric"])


def test_a_pipeline_and_a_frame_are_attacked_in_the_input_space(data, net):
    X = pd.DataFrame(data.X_test, columns=["u", "v"])
    train = pd.DataFrame(data.X_train, columns=["u", "v"])
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(train, data.y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature-name warning: the frame goes back a frame
        report = group_shift_report(pipe, X, data.y_test, data.groups_test, radii=[0, 1],
                                    n_queries=10, n_bootstrap=10)
    assert report.attrs["attack"] == "random"
    assert np.all(report["metric_at_1"] <= report["metric"])
    net_pipe = make_pipeline(StandardScaler(), net)
    net_pipe.steps[0] = ("standardscaler", StandardScaler().fit(data.X_train))
    assert _network(net_pipe) is None  # a Pipeline: no gradient through its steps
    with pytest.raises(ValueError, match="attack='gradient' needs"):
        group_shift_report(net_pipe, data.X_test, data.y_test, data.groups_test,
                           attack="gradient")


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(radii=[0, -0.1]), "finite float >= 0"),
    (dict(radii=[0, np.nan]), "finite float >= 0"),
    (dict(radii=[]), "radii is empty"),
    (dict(radii=0.5), "sequence of non-negative floats"),
    (dict(radii="0.5"), "sequence of non-negative floats"),
    (dict(radii=[0.1, 0.1]), "same radius twice"),
    (dict(radii=[True]), "finite float >= 0"),
    (dict(order=3), "order must be one of"),
    (dict(points=0), "points must be a positive"),
    (dict(points=[]), "points is empty"),
    (dict(attack="fgsm"), "attack must be one of"),
    (dict(n_queries=0), "n_queries must be an int >= 1"),
    (dict(attack_steps=1.5), "attack_steps must be an int >= 1"),
    (dict(n_bootstrap=-1), "n_bootstrap"),
])
def test_invalid_arguments_are_refused(hgb, data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        group_shift_report(hgb, data.X_test, data.y_test, data.groups_test, **kwargs)


def test_invalid_data_is_refused(hgb, data):
    X, y, g = data.X_test, data.y_test, data.groups_test
    with pytest.raises(ValueError, match="attack='gradient' needs"):
        group_shift_report(hgb, X, y, g, attack="gradient")
    with pytest.raises(ValueError, match="dense"):
        group_shift_report(hgb, sp.csr_matrix(X), y, g)
    with pytest.raises(ValueError, match="X must be numeric"):
        group_shift_report(hgb, np.array([["a", "b"]] * len(y)), y, g)
    with pytest.raises(ValueError, match="NaN or infinite"):
        group_shift_report(hgb, np.where(X > 1, np.nan, X), y, g)
    with pytest.raises(ValueError, match="rows but y has"):
        group_shift_report(hgb, X[:-1], y, g)
    with pytest.raises(ValueError, match="groups has"):
        group_shift_report(hgb, X, y, g[:-1])
    with pytest.raises(ValueError, match="has no predict"):
        group_shift_report(StandardScaler().fit(X), X, y, g)


class _FlakyAttack(ClassifierMixin, BaseEstimator):
    """A model with the network protocol whose attack harms below radius 0.2 and helps
    above it: the report must keep what harmed and never report a gain."""

    _is_classifier_flag = True

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def _shift_losses(self, X, y):
        return -np.log(self.model_.predict_proba(X)[np.arange(len(y)), y])

    def _shift_attack(self, X, y, radius, order, steps):
        p = self.model_.predict_proba(X)[:, 1]
        grad = (p - y)[:, None] * self.model_.coef_  # of the log loss in x
        step = radius * grad / np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-12)
        return X + step if radius < 0.2 else X - step

    def _shift_lipschitz(self, X, y, radius, order):
        return None


@pytest.mark.parametrize("order", ["inf", 2])
def test_an_attack_that_helps_is_never_reported(data, order):
    model = _FlakyAttack().fit(data.X_train, data.y_train)
    report = _report(model, data, order=order)
    assert report.attrs["attack"] == "gradient"
    curve = _metric_curve(report)
    assert np.all(np.diff(curve, axis=1) <= 0)
    losses = report[[f"loss_at_{r:g}" for r in RADII]].to_numpy()
    assert np.all(losses[:, 2:] >= losses[:, [1]] - 1e-12)  # what 0.1 found is kept
    assert np.all(losses[:, 1] > losses[:, 0])
    assert report["certified_bound_at_1"].isna().all()


def test_an_ensemble_of_networks_is_attacked_through_its_average(data, net):
    from pergdro_sklearn import EnsembleSelectionClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = PerGDROClassifier(hidden_layer_sizes=(16,), rho=0.0, epsilon=0.0,
                                  max_iter=40, random_state=1).fit(
            data.X_train, data.y_train, groups=data.groups_train)
    ensemble = EnsembleSelectionClassifier.from_fitted([net, other], [0.5, 0.5],
                                                       groups=data.groups_train)
    assert _network(ensemble) is not None
    report = _report(ensemble, data)
    assert report.attrs["attack"] == "gradient"
    assert report["metric_at_0"].tolist() == report["metric"].tolist()
    curve = _metric_curve(report)
    assert np.all(np.diff(curve, axis=1) <= 0) and np.all(curve[:, -1] < curve[:, 0])
    for r in RADII:
        assert np.all(report[f"certified_bound_at_{r:g}"] >= report[f"loss_at_{r:g}"] - 1e-12)
    # its loss is the log loss of the averaged probabilities
    proba = ensemble.predict_proba(data.X_test)
    rows = data.groups_test == 0
    expected = -np.mean(np.log(proba[rows][np.arange(rows.sum()), data.y_test[rows]]))
    np.testing.assert_allclose(report.loc[0, "loss"], expected, rtol=1e-9)
    mixed = EnsembleSelectionClassifier.from_fitted(
        [net, LogisticRegression().fit(data.X_train, data.y_train)], [0.5, 0.5])
    assert _network(mixed) is None  # not all networks: the random search
