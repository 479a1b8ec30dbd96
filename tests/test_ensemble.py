"""Greedy ensemble selection and the ensemble estimators."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from pergdro_sklearn import (
    EnsembleSelectionClassifier,
    EnsembleSelectionRegressor,
    PerGDROClassifier,
    PerGDRORegressor,
)
from pergdro_sklearn._ensemble.members import stack_predictions
from pergdro_sklearn._ensemble.selection import (
    candidate_group_losses,
    candidate_objectives,
    ensemble_objective,
    greedy_ensemble_selection,
)
from pergdro_sklearn.metrics import (
    get_scorer,
    worst_group_error,
    worst_group_log_loss,
    worst_group_mse,
)

TINY = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
FAST = dict(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01, random_state=0)


def _binary_candidates(p_true_per_group, rows_per_group=4):
    """Probabilities whose true-class probability is constant within each group.

    ``p_true_per_group``: (n_candidates, n_groups). Labels alternate 0, 1 in each group.
    """
    p_true = np.asarray(p_true_per_group, dtype=float)
    n_candidates, n_groups = p_true.shape
    group_index = np.repeat(np.arange(n_groups), rows_per_group)
    y = np.tile([0, 1], n_groups * rows_per_group // 2)
    p = p_true[:, group_index]  # (C, n)
    proba = np.empty((n_candidates, y.shape[0], 2))
    proba[:, :, 1] = np.where(y == 1, p, 1 - p)
    proba[:, :, 0] = 1 - proba[:, :, 1]
    return proba, y, group_index


# --------------------------------------------------------------------------
# The selection
# --------------------------------------------------------------------------
def test_greedy_beats_blind_top_k_and_skips_a_dominated_candidate():
    # A: good on group 0; B: a slightly worse copy of A (second best alone);
    # C: good on group 1 only, the worst alone but complementary to A.
    proba, y, group_index = _binary_candidates([[0.9, 0.55], [0.88, 0.54], [0.4, 0.9]])
    single = candidate_objectives(proba, y, group_index, 2)
    assert np.argsort(single).tolist() == [0, 1, 2]
    top2 = ensemble_objective(proba, y, group_index, 2, [1, 1, 0])
    counts = greedy_ensemble_selection(proba, y, group_index, 2)
    greedy = ensemble_objective(proba, y, group_index, 2, counts)
    assert counts[0] >= 1 and counts[2] >= 1
    assert counts[1] == 0  # A is better than B on every row, so B never joins
    assert greedy < top2 - 0.1


def test_every_addition_strictly_improves_and_the_stop_is_a_local_minimum():
    rng = np.random.default_rng(3)
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=(12, 60))
    y = rng.integers(0, 3, size=60)
    group_index = rng.integers(0, 3, size=60)
    final = greedy_ensemble_selection(proba, y, group_index, 3, max_members=50)
    size = int(final.sum())
    assert 1 < size < 50
    # a shorter budget stops on the same path: its objectives fall strictly
    path = [ensemble_objective(proba, y, group_index, 3,
                               greedy_ensemble_selection(proba, y, group_index, 3,
                                                         max_members=m))
            for m in range(1, size + 1)]
    assert np.all(np.diff(path) < 0)
    # no candidate, added once more, lowers the objective of the final ensemble
    for c in range(proba.shape[0]):
        bigger = final.copy()
        bigger[c] += 1
        assert ensemble_objective(proba, y, group_index, 3, bigger) >= path[-1]


def test_selection_with_replacement_picks_a_candidate_twice():
    # y = 0; A predicts 1 and B predicts -2: A, B, A averages to exactly 0
    n = 5
    predictions = np.stack([np.ones((n, 1)), -2 * np.ones((n, 1))])
    counts = greedy_ensemble_selection(predictions, np.zeros(n), np.zeros(n, dtype=int), 1)
    assert counts.tolist() == [2, 1]


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_failed_candidates_are_never_selected(bad):
    proba, y, group_index = _binary_candidates([[0.7, 0.7], [0.99, 0.99], [0.6, 0.8]])
    proba[1, 0] = bad  # the otherwise best candidate failed on one row
    all_nan = np.full_like(proba[:1], np.nan)
    proba = np.concatenate([proba, all_nan])
    counts = greedy_ensemble_selection(proba, y, group_index, 2, max_members=10)
    assert counts[1] == 0 and counts[3] == 0
    assert counts.sum() >= 1
    assert np.isinf(candidate_objectives(proba, y, group_index, 2)[[1, 3]]).all()


def test_all_failed_candidates_raise():
    proba = np.full((2, 4, 2), np.nan)
    with pytest.raises(ValueError, match="No candidate has finite predictions"):
        greedy_ensemble_selection(proba, [0, 1, 0, 1], [0, 0, 1, 1], 2)


@pytest.mark.parametrize("objective", ["worst_group_loss", "worst_group_error", "loss"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ensemble_is_no_worse_than_the_best_single_candidate(objective, seed):
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet([0.5, 0.5], size=(8, 40))
    y = rng.integers(0, 2, size=40)
    group_index = rng.integers(0, 4, size=40)
    counts = greedy_ensemble_selection(proba, y, group_index, 4, objective=objective,
                                       max_members=7)
    assert 1 <= counts.sum() <= 7
    single = candidate_objectives(proba, y, group_index, 4, objective=objective)
    chosen = ensemble_objective(proba, y, group_index, 4, counts, objective=objective)
    assert chosen <= single.min()
    # the first member is the best single candidate (lowest index on ties)
    first = greedy_ensemble_selection(proba, y, group_index, 4, objective=objective,
                                      max_members=1)
    assert first.tolist() == np.eye(8, dtype=int)[np.argmin(single)].tolist()


def test_regression_ensemble_is_no_worse_than_the_best_single_candidate():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 2))
    predictions = y[None] + rng.normal(size=(6, 50, 2))
    group_index = np.repeat([0, 1], 25)
    counts = greedy_ensemble_selection(predictions, y, group_index, 2)
    single = candidate_objectives(predictions, y, group_index, 2)
    assert ensemble_objective(predictions, y, group_index, 2, counts) < single.min()
    assert counts.sum() > 1  # independent noise: averaging helps


def test_ties_go_to_the_lowest_index():
    proba, y, group_index = _binary_candidates([[0.6, 0.6], [0.8, 0.8], [0.8, 0.8]])
    counts = greedy_ensemble_selection(proba, y, group_index, 2, max_members=1)
    assert counts.tolist() == [0, 1, 0]


def test_tol_and_init_size():
    proba, y, group_index = _binary_candidates([[0.9, 0.55], [0.88, 0.54], [0.4, 0.9]])
    # a tolerance larger than any gain keeps the best single candidate alone
    assert greedy_ensemble_selection(proba, y, group_index, 2, tol=10.0).tolist() == [1, 0, 0]
    # init_size=2 starts from the two best single candidates, B included
    counts = greedy_ensemble_selection(proba, y, group_index, 2, init_size=2)
    assert counts[0] >= 1 and counts[1] >= 1


def test_group_losses_match_the_metrics_module():
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=(3, 30))
    y = rng.integers(0, 3, size=30)
    group_index = rng.integers(0, 3, size=30)
    losses = candidate_group_losses(proba, y, group_index, 3)
    errors = candidate_group_losses(proba, y, group_index, 3, kind="error")
    for c in range(3):
        assert losses[c].max() == pytest.approx(
            worst_group_log_loss(y, proba[c], groups=group_index, labels=[0, 1, 2]))
        assert errors[c].max() == pytest.approx(
            worst_group_error(y, proba[c].argmax(axis=1), groups=group_index))
    targets = rng.normal(size=30)
    predictions = targets[None, :, None] + rng.normal(size=(2, 30, 1))
    mse = candidate_group_losses(predictions, targets, group_index, 3)
    for c in range(2):
        assert mse[c].max() == pytest.approx(
            worst_group_mse(targets, predictions[c, :, 0], groups=group_index))


def test_group_without_rows_is_nan_and_ignored():
    proba, y, group_index = _binary_candidates([[0.9, 0.6]])
    losses = candidate_group_losses(proba, y, group_index, 3)
    assert np.isnan(losses[0, 2]) and np.all(np.isfinite(losses[0, :2]))
    assert candidate_objectives(proba, y, group_index, 3)[0] == pytest.approx(-np.log(0.6))


@pytest.mark.parametrize("kwargs, match", [
    (dict(max_members=0), "max_members"),
    (dict(init_size=3, max_members=2), "exceeds"),
    (dict(objective="accuracy"), "objective"),
    (dict(tol=-1.0), "tol"),
])
def test_selection_rejects_bad_arguments(kwargs, match):
    proba, y, group_index = _binary_candidates([[0.9, 0.6]])
    with pytest.raises(ValueError, match=match):
        greedy_ensemble_selection(proba, y, group_index, 2, **kwargs)


def test_selection_rejects_bad_labels_and_groups():
    proba, y, group_index = _binary_candidates([[0.9, 0.6]])
    with pytest.raises(ValueError, match="class indices"):
        greedy_ensemble_selection(proba, y + 5, group_index, 2)
    with pytest.raises(ValueError, match="group_index"):
        greedy_ensemble_selection(proba, y, group_index + 1, 2)


# --------------------------------------------------------------------------
# The estimators
# --------------------------------------------------------------------------
class NaNClassifier(ClassifierMixin, BaseEstimator):
    """A failed candidate: its probabilities are NaN."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict_proba(self, X):
        return np.full((np.shape(X)[0], self.classes_.shape[0]), np.nan)


def _classifier(**kwargs):
    return EnsembleSelectionClassifier(
        [("logistic", LogisticRegression()),
         ("tree", DecisionTreeClassifier(max_depth=4, random_state=0)),
         ("mlp", PerGDROClassifier(**TINY))], random_state=0, **kwargs)


def test_predict_proba_is_the_weighted_average_of_the_members(shifted):
    ensemble = _classifier().fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert len(ensemble.estimators_) == np.count_nonzero(ensemble.selection_counts_)
    assert ensemble.weights_.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(
        ensemble.weights_ * ensemble.selection_counts_.sum(),
        ensemble.selection_counts_[ensemble.selection_counts_ > 0])
    X = shifted.X_test
    expected = sum(w * est.predict_proba(X)
                   for w, est in zip(ensemble.weights_, ensemble.estimators_))
    np.testing.assert_allclose(ensemble.predict_proba(X), expected)
    np.testing.assert_allclose(ensemble.predict_log_proba(X), np.log(expected))
    np.testing.assert_array_equal(ensemble.predict(X),
                                  ensemble.classes_[expected.argmax(axis=1)])
    assert ensemble.validation_objective_ <= ensemble.candidate_objectives_.min()


def test_members_are_refitted_on_all_rows_and_receive_the_groups(small_classification,
                                                                 recording):
    X, y, groups = small_classification
    ensemble = EnsembleSelectionClassifier(
        [("rec", recording(**FAST)), ("prior", DummyClassifier())],
        validation_fraction=0.25, random_state=0).fit(X, y, groups=groups)
    assert ensemble.selection_counts_.tolist() == [1, 0]
    # the selection fit on the training part (75% of every group), then the refit on all
    assert [rows.shape[0] for rows in recording.rows] == [90, 120]
    assert np.unique(recording.received[0], return_counts=True)[1].tolist() == [30, 30, 30]
    np.testing.assert_array_equal(recording.received[1], groups)


def test_groups_are_routed_through_a_pipeline(small_classification, recording):
    X, y, groups = small_classification
    with sklearn.config_context(enable_metadata_routing=True):
        # the ensemble requests groups like the package's estimators, and a member that
        # is a Pipeline gets them when its step requested them
        member = make_pipeline(StandardScaler(),
                               recording(**TINY).set_fit_request(groups=True))
        ensemble = EnsembleSelectionClassifier(
            [("pipe", member), ("logistic", LogisticRegression())],
            random_state=0).set_fit_request(groups=True)
        make_pipeline(StandardScaler(), ensemble).fit(X, y, groups=groups)
    assert recording.received
    assert all(g is not None for g in recording.received)
    assert set(np.unique(recording.received[0])) == {"a", "b", "c"}


def test_failed_member_is_never_selected(small_classification):
    X, y, groups = small_classification
    ensemble = EnsembleSelectionClassifier(
        [("nan", NaNClassifier()), ("logistic", LogisticRegression())],
        random_state=0).fit(X, y, groups=groups)
    assert ensemble.selection_counts_[0] == 0
    assert np.isinf(ensemble.candidate_objectives_[0])
    assert list(ensemble.named_estimators_) == ["logistic"]
    assert np.all(np.isfinite(ensemble.predict_proba(X)))


@pytest.mark.parametrize("make", ["classifier", "regressor"])
def test_pickle_round_trip_gives_identical_predictions(make, small_classification):
    X, y, groups = small_classification
    if make == "classifier":
        ensemble = _classifier().fit(X, y, groups=groups)
        method = "predict_proba"
    else:
        ensemble = EnsembleSelectionRegressor(
            [("ridge", Ridge()), ("mlp", PerGDRORegressor(**TINY))],
            random_state=0).fit(X, X[:, 0] + X[:, 2], groups=groups)
        method = "predict"
    restored = pickle.loads(pickle.dumps(ensemble))
    np.testing.assert_array_equal(getattr(restored, method)(X), getattr(ensemble, method)(X))
    np.testing.assert_array_equal(restored.selection_counts_, ensemble.selection_counts_)


def test_from_fitted_predicts_without_refitting(small_classification):
    X, y, groups = small_classification
    first = PerGDROClassifier(**TINY).fit(X, y, groups=groups)
    second = LogisticRegression().fit(X, y)
    unused = LogisticRegression(C=0.01).fit(X, y)
    ensemble = EnsembleSelectionClassifier.from_fitted(
        [("mlp", first), ("logistic", second), ("unused", unused)], [3, 1, 0])
    assert ensemble.estimators_[0] is first and ensemble.estimators_[1] is second
    assert list(ensemble.named_estimators_) == ["mlp", "logistic"]
    np.testing.assert_allclose(ensemble.weights_, [0.75, 0.25])
    np.testing.assert_allclose(ensemble.predict_proba(X),
                               0.75 * first.predict_proba(X) + 0.25 * second.predict_proba(X))
    np.testing.assert_array_equal(ensemble.groups_, ["a", "b", "c"])  # from the first member
    assert ensemble.selection_counts_ is None and ensemble.validation_objective_ is None
    assert ensemble.n_features_in_ == 3
    # fitting it again refits clones; the pre-fitted members are untouched
    coef = second.coef_.copy()
    refitted = clone(ensemble).fit(X, y, groups=groups)
    assert all(est is not second for est in refitted.estimators_)
    np.testing.assert_array_equal(second.coef_, coef)


def test_from_fitted_aligns_members_that_saw_fewer_classes():
    X = np.arange(12, dtype=float).reshape(-1, 1)
    y = np.repeat([0, 1, 2], 4)
    two = LogisticRegression().fit(X[4:], y[4:])  # classes 1, 2
    three = LogisticRegression().fit(X, y)
    ensemble = EnsembleSelectionClassifier.from_fitted([two, three], [1, 1])
    np.testing.assert_array_equal(ensemble.classes_, [0, 1, 2])
    proba = ensemble.predict_proba(X)
    expected = 0.5 * three.predict_proba(X)
    expected[:, 1:] += 0.5 * two.predict_proba(X)
    np.testing.assert_allclose(proba, expected)


def test_from_fitted_regressor_and_its_errors():
    X, y = np.zeros((4, 1)), np.array([0.0, 1.0, 2.0, 3.0])
    low = DummyRegressor(strategy="constant", constant=0.0).fit(X, y)
    high = DummyRegressor(strategy="constant", constant=4.0).fit(X, y)
    ensemble = EnsembleSelectionRegressor.from_fitted([low, high], [1, 1], groups=[0, 0, 1, 1])
    np.testing.assert_allclose(ensemble.predict(X), 2.0)
    np.testing.assert_array_equal(ensemble.groups_, [0, 1])
    np.testing.assert_allclose(ensemble.group_losses(X, y, [0, 0, 1, 1])["clean"],
                               [(4 + 1) / 2, (0 + 1) / 2])
    with pytest.raises(NotFittedError):
        EnsembleSelectionRegressor.from_fitted([LinearRegression()])
    with pytest.raises(ValueError, match="weights"):
        EnsembleSelectionRegressor.from_fitted([low, high], [1, -1])
    with pytest.raises(ValueError, match="weights"):
        EnsembleSelectionRegressor.from_fitted([low, high], [0, 0])
    with pytest.raises(ValueError, match="not a mix"):
        EnsembleSelectionRegressor.from_fitted([("low", low), high])


def test_group_losses_and_worst_group_scorers(shifted):
    ensemble = _classifier().fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    X, y, g = shifted.X_test, shifted.y_test, shifted.groups_test
    losses = ensemble.group_losses(X, y, g)
    assert set(losses) == {"clean"} and losses["clean"].shape == (4,)
    assert losses["clean"].max() == pytest.approx(
        worst_group_log_loss(y, ensemble.predict_proba(X), groups=g))
    # groups absent from the data get 0
    only_first = g == ensemble.groups_[0]
    partial = ensemble.group_losses(X[only_first], y[only_first], g[only_first])["clean"]
    assert partial[0] == pytest.approx(losses["clean"][0]) and np.all(partial[1:] == 0)
    with pytest.raises(ValueError, match="not seen in fit"):
        ensemble.group_losses(X, y, np.full(y.shape, 99))
    with sklearn.config_context(enable_metadata_routing=True):
        score = get_scorer("worst_group_accuracy")(ensemble, X, y, groups=g)
    assert 0.5 < score <= 1.0


def test_regressor_multi_output_and_selection(small_classification):
    X, _, groups = small_classification
    Y = np.column_stack([X[:, 0] - X[:, 1], 2 * X[:, 2]])
    ensemble = EnsembleSelectionRegressor(
        [("constant", DummyRegressor()), ("linear", LinearRegression())],
        random_state=0).fit(X, Y, groups=groups)
    assert ensemble.selection_counts_.tolist() == [0, 1]  # the mean never helps
    assert ensemble.predict(X).shape == (120, 2)
    np.testing.assert_allclose(ensemble.predict(X), ensemble.estimators_[0].predict(X))


@pytest.mark.parametrize("estimators, match", [
    ([], "non-empty list"),
    ([LogisticRegression()], r"\(name, estimator\)"),
    ([("a", LogisticRegression()), ("a", LogisticRegression())], "not unique"),
    ([("svc", SVC())], "predict_proba"),
])
def test_bad_estimators_are_rejected(estimators, match, small_classification):
    X, y, groups = small_classification
    with pytest.raises(ValueError, match=match):
        EnsembleSelectionClassifier(estimators).fit(X, y, groups=groups)


def test_nested_parameters_reach_the_members():
    ensemble = _classifier()
    ensemble.set_params(logistic__C=0.5, tree=DecisionTreeClassifier(max_depth=1))
    params = ensemble.get_params()
    assert params["logistic__C"] == 0.5 and params["tree__max_depth"] == 1


def test_stack_predictions_rejects_a_member_with_unknown_classes():
    member = DummyClassifier().fit(np.zeros((2, 1)), ["b", "z"])
    with pytest.raises(ValueError, match="outside"):
        stack_predictions([member], np.zeros((1, 1)), classes=["a", "b"])
