"""Memberships (overlapping and soft groups) and rows of unknown group."""

import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score

from pergdro_sklearn import (
    EnsembleSelectionClassifier,
    GroupDROClassifier,
    GroupDRORegressor,
    Memberships,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn._train.weighting import GroupDROWeighting, PhiDivergenceWeighting
from pergdro_sklearn.metrics import group_report, group_scores, worst_group_accuracy

NET = dict(hidden_layer_sizes=(6,), max_iter=3, random_state=0)
ESTIMATORS = [PerGDROClassifier, PerGDRORegressor, GroupDROClassifier, GroupDRORegressor]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def toy():
    rng = np.random.RandomState(0)
    X = rng.randn(120, 3)
    y = (X[:, 0] + 0.3 * rng.randn(120) > 0).astype(int)
    g = rng.choice(np.array(["b", "a", "c"]), 120)
    return X, y, g


def _target(cls, X, y):
    return y if "Classifier" in cls.__name__ else X[:, 0] + 0.5 * y


def _overlap(g):
    """0/1 memberships of the labels ``g``, with rows 0-29 also in group "a"."""
    names = np.array(["a", "b", "c"])
    matrix = (g[:, None] == names[None, :]).astype(float)
    matrix[:30, 0] = 1.0
    return matrix, names


def _output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


# ---- one-hot memberships are the labels -------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_one_hot_memberships_give_the_model_of_the_labels(cls, toy):
    X, y, g = toy
    y = _target(cls, X, y)
    names = np.array(["c", "a", "b"])  # any column order: groups_ is sorted either way
    one_hot = Memberships((g[:, None] == names[None, :]).astype(float), names=names)
    a = cls(**NET).fit(X, y, groups=g)
    b = cls(**NET).fit(X, y, groups=one_hot)
    np.testing.assert_array_equal(_output(a, X), _output(b, X))
    np.testing.assert_array_equal(a.groups_, b.groups_)
    np.testing.assert_array_equal(a.group_weights_, b.group_weights_)


def test_one_hot_memberships_give_the_search_of_the_labels(toy):
    X, y, g = toy
    one_hot = Memberships((g[:, None] == np.array(["a", "b", "c"])).astype(float),
                          names=["a", "b", "c"])
    runs = [PerGDROSearchCV(PerGDROClassifier(**NET), n_initial_points=2, n_iter=2,
                            random_state=0).fit(X, y, groups=groups) for groups in (g, one_hot)]
    np.testing.assert_array_equal(runs[0].cv_results_["mean_test_score"],
                                  runs[1].cv_results_["mean_test_score"])
    np.testing.assert_array_equal(runs[0].predict_proba(X), runs[1].predict_proba(X))


# ---- what memberships train -------------------------------------------------------------
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_memberships_train_each_pair_as_a_weighted_row_of_its_group(cls, toy):
    """Memberships == the (row, group) pairs fitted as labels with the memberships as
    sample weights (each group's loss the membership-weighted mean over its rows)."""
    X, y, g = toy
    y = _target(cls, X, y)
    matrix, names = _overlap(g)
    matrix[60:90] *= 0.5  # soft memberships on some rows
    rows, cols = np.nonzero(matrix > 0)
    a = cls(**NET).fit(X, y, groups=Memberships(matrix, names))
    b = cls(**NET).fit(X[rows], y[rows], groups=names[cols], sample_weight=matrix[rows, cols])
    np.testing.assert_array_equal(_output(a, X), _output(b, X))
    np.testing.assert_array_equal(a.group_counts_, (matrix > 0).sum(axis=0))
    np.testing.assert_array_equal(a.group_loss_curve_[-1], b.group_loss_curve_[-1])


def test_group_losses_are_membership_weighted_means(toy):
    X, y, g = toy
    matrix, names = _overlap(g)
    matrix[:, 2] = np.where(matrix[:, 2] > 0, 0.3, 0.0)
    clf = PerGDROClassifier(**NET).fit(X, y, groups=g)
    proba = clf.predict_proba(X)
    row_loss = -np.log(proba[np.arange(y.shape[0]), y])
    clean = clf.group_losses(X, y, Memberships(matrix, names), epsilon=0.0)["clean"]
    expected = row_loss @ matrix / matrix.sum(axis=0)
    np.testing.assert_allclose(clean, expected, rtol=1e-5)


def test_metrics_weight_groups_by_membership(toy):
    X, y, g = toy
    pred = np.where(X[:, 1] > 0, y, 1 - y)
    matrix, names = _overlap(g)
    binary = Memberships(matrix, names)
    scores = group_scores(y, pred, binary)
    for j, name in enumerate(names):
        assert scores[name] == accuracy_score(y[matrix[:, j] > 0], pred[matrix[:, j] > 0])
    assert worst_group_accuracy(y, pred, binary) == min(scores.values())
    soft = Memberships(matrix * 0.5, names)
    for j, name in enumerate(names):
        assert group_scores(y, pred, soft)[name] == pytest.approx(
            np.average(y == pred, weights=matrix[:, j]))
    one_hot = Memberships((g[:, None] == names).astype(float), names)
    assert group_scores(y, pred, one_hot) == group_scores(y, pred, g)
    report = group_report(y, pred, soft, n_bootstrap=10)
    np.testing.assert_allclose(report["mass"], 0.5 * matrix.sum(axis=0))
    np.testing.assert_array_equal(report["size"], (matrix > 0).sum(axis=0))


# ---- validation -----------------------------------------------------------------------
@pytest.mark.parametrize("matrix, names, message", [
    ([1, 0, 1], None, "2-D matrix"),
    ([[1.5, 0], [0, 1]], None, r"in \[0, 1\]"),
    ([[-0.1, 1], [0, 1]], None, r"in \[0, 1\]"),
    ([[np.inf, 0], [0, 1]], None, "infinite"),
    ([[1, 0], [0, 1]], ["a"], "one name per column"),
    ([[1, 0], [0, 1]], ["a", "a"], "distinct"),
    ([[1, 0], [0, 0]], None, "belong to no group"),
    (np.zeros((2, 0)), None, "at least one group"),
])
def test_bad_memberships_are_refused(matrix, names, message):
    with pytest.raises(ValueError, match=message):
        Memberships(matrix, names)


def test_fit_checks_rows_mass_and_unknowns(toy):
    X, y, g = toy
    matrix, names = _overlap(g)
    with pytest.raises(ValueError, match="rows but X has"):
        PerGDROClassifier(**NET).fit(X, y, groups=Memberships(matrix[:-1], names))
    thin = matrix.copy()
    thin[:, 0] = 1  # every row in "a", and one row only in "c"
    thin[:, 2] = 0
    thin[0, 2] = 1
    with pytest.raises(ValueError, match=r"Group\(s\) \['c'\] have positive membership"):
        PerGDROClassifier(**NET).fit(X, y, groups=Memberships(thin, names))
    unknown = matrix.copy()
    unknown[:5] = np.nan
    with pytest.raises(ValueError, match="unknown_groups='nominal' or 'estimate'"):
        PerGDROClassifier(**NET).fit(X, y, groups=Memberships(unknown, names))
    labels = g.astype(object)
    labels[:5] = None
    with pytest.raises(ValueError, match="missing"):
        PerGDROClassifier(**NET).fit(X, y, groups=labels)


def test_a_two_d_array_stays_attribute_columns(toy):
    X, y, g = toy
    matrix, _ = _overlap(g)
    clf = PerGDROClassifier(**NET).fit(X, y, groups=matrix)  # intersections of 3 columns
    assert all("|" in str(label) for label in clf.groups_)


# ---- rows of unknown group -------------------------------------------------------------
@pytest.mark.parametrize("cls", [PerGDROClassifier, GroupDROClassifier])
def test_nominal_unknown_rows_keep_their_nominal_weight(cls, toy):
    X, y, g = toy
    labels = g.astype(object)
    labels[:24] = None
    est = cls(unknown_groups="nominal", early_stopping=True, **NET).fit(X, y, groups=labels)
    np.testing.assert_array_equal(est.groups_, ["a", "b", "c"])
    assert est.n_unknown_groups_ == 24
    # its share of the rows trained on (the holdout holds labelled rows only)
    assert est.unknown_group_weight_ == pytest.approx(24 / (120 - est.n_validation_labelled_),
                                                      rel=1e-6)
    assert est.group_weights_.sum() + est.unknown_group_weight_ == pytest.approx(1.0)
    assert all(w.shape == (3,) for w in est.group_weight_history_)
    assert all(c.shape == (3,) for c in est.validation_group_loss_curve_)
    assert 0 < est.n_validation_labelled_ <= 96


def test_pinned_groups_keep_their_weight():
    phi = PhiDivergenceWeighting(rho=1.0, divergence="kl", step_size=1.0)
    phi.start(np.array([0.4, 0.4, 0.2]), pinned=1)
    phi.after_epoch(np.array([1.0, 3.0, 100.0]))
    assert phi.weights[2] == 0.2 and phi.weights[1] > phi.weights[0]
    assert phi.weights.sum() == pytest.approx(1.0)
    dro = GroupDROWeighting(0.5, 0.0, np.array([4, 4, 2]))
    dro.start(np.array([0.4, 0.4, 0.2]), pinned=1)
    np.testing.assert_allclose(dro.weights, [0.4, 0.4, 0.2])
    import torch

    losses = torch.tensor([1.0, 3.0, 100.0, 5.0])
    dro.batch_objective(losses, torch.tensor([0, 1, 2, 2]))
    dro.after_epoch(None)
    assert dro.weights[2] == pytest.approx(0.2) and dro.weights[1] > dro.weights[0]


class _Constant(ClassifierMixin, BaseEstimator):
    """Predicts fixed probabilities (a membership estimator whose output we know)."""

    def __init__(self, proba=None):
        self.proba = proba

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.tile(self.proba, (X.shape[0], 1))


def test_estimated_memberships_are_the_classifiers_probabilities(toy):
    X, y, g = toy
    labels = g.astype(object)
    labels[:24] = None
    proba = np.array([0.2, 0.5, 0.3])
    est = PerGDROClassifier(unknown_groups="estimate", membership_estimator=_Constant(proba),
                            **NET).fit(X, y, groups=labels)
    matrix = (g[:, None] == np.array(["a", "b", "c"])).astype(float)
    matrix[:24] = proba
    manual = PerGDROClassifier(**NET).fit(X, y, groups=Memberships(matrix, ["a", "b", "c"]))
    np.testing.assert_array_equal(est.predict_proba(X), manual.predict_proba(X))
    assert est.n_unknown_groups_ == 24 and isinstance(est.membership_estimator_, _Constant)
    default = PerGDROClassifier(unknown_groups="estimate", **NET).fit(X, y, groups=labels)
    assert type(default.membership_estimator_).__name__ == "LogisticRegression"


def test_unknown_memberships_are_estimated_per_group(toy):
    X, y, g = toy
    matrix, names = _overlap(g)
    matrix[:20] = np.nan
    est = GroupDROClassifier(unknown_groups="estimate", **NET).fit(
        X, y, groups=Memberships(matrix, names))
    assert len(est.membership_estimator_) == 3 and est.n_unknown_groups_ == 20
    nominal = GroupDROClassifier(unknown_groups="nominal", **NET).fit(
        X, y, groups=Memberships(matrix, names))
    assert nominal.unknown_group_weight_ > 0


# ---- the search and the ensembles ---------------------------------------------------------
def test_search_and_ensemble_take_memberships(toy):
    X, y, g = toy
    matrix, names = _overlap(g)
    groups = Memberships(matrix, names)
    search = PerGDROSearchCV(PerGDROClassifier(**NET), n_initial_points=2, n_iter=2,
                             random_state=0).fit(X, y, groups=groups)
    np.testing.assert_array_equal(search.best_estimator_.groups_, names)
    assert np.isfinite(search.best_score_)
    ensemble = EnsembleSelectionClassifier(
        [("a", PerGDROClassifier(**NET)), ("b", GroupDROClassifier(**NET))],
        random_state=0).fit(X, y, groups=groups)
    np.testing.assert_array_equal(ensemble.groups_, names)
    losses = ensemble.group_losses(X, y, groups)["clean"]
    assert losses.shape == (3,) and np.all(losses > 0)


def test_from_attributes_makes_one_group_per_value():
    import pandas as pd

    frame = pd.DataFrame({"sex": ["F", "M", "M", None], "race": ["x", "y", "x", "y"]})
    m = Memberships.from_attributes(frame)
    assert m.names.tolist() == ["sex=F", "sex=M", "race=x", "race=y"]
    np.testing.assert_array_equal(m.matrix[0], [1, 0, 1, 0])
    assert np.isnan(m.matrix[3, :2]).all() and m.matrix[3, 3] == 1


def test_unknown_labels_in_any_form(toy):
    """NaN among float labels, None in a Series or in one column of 2-D attributes."""
    import pandas as pd

    X, y, g = toy
    numbers = np.searchsorted(["a", "b", "c"], g).astype(float)
    numbers[:10] = np.nan
    series = pd.Series(g, dtype=object)
    series[:10] = None
    frame = pd.DataFrame({"g": g, "h": np.where(X[:, 1] > 0, "p", "q")}, dtype=object)
    frame.iloc[:10, 1] = None
    for groups in (numbers, series, frame):
        est = PerGDROClassifier(unknown_groups="nominal", **NET).fit(X, y, groups=groups)
        assert est.n_unknown_groups_ == 10
    assert len(est.groups_) == 6  # the intersections of the labelled rows
    with pytest.raises(ValueError, match="track_risk_bound"):
        PerGDROClassifier(unknown_groups="nominal", track_risk_bound=True, **NET).fit(
            X, y, groups=numbers)
