"""How PerGDROSearchCV picks: data-scaled bounds, ERM in the design, collapse, rules."""

import pickle
import warnings

import numpy as np
import pytest
from conftest import MECHANICS

from pergdro_sklearn import EnsembleSelectionClassifier, PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn._search.bounds import (
    auto_epsilon_bounds,
    auto_rho_upper,
    class_gap,
    size_factor,
)
from pergdro_sklearn._search.selection import (
    collapsed_prediction,
    pick,
    robustness,
    select_one_se,
    worst_group_standard_error,
)
from pergdro_sklearn.divergences import divergence_value

# the group sizes of conftest.py's dataset fixture (make_shifted_groups, random_state=0)
SHIFTED_N_TRAIN = (60, 50, 24, 24)


def _search(**params):
    estimator = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=4, random_state=0,
                                  wasserstein_order="inf")
    defaults = dict(n_iter=6, n_initial_points=4, random_state=0, **{**MECHANICS, "n_points": 2},
                    selection="one_se", refit_seeds=5)
    return PerGDROSearchCV(estimator, **{**defaults, **params})


# ---- data-scaled bounds ---------------------------------------------------------
def test_auto_epsilon_bounds_scale_with_the_features():
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-1, 0.3, (80, 2)), rng.normal(1, 0.3, (80, 2))]
    y = np.r_[np.zeros(80, int), np.ones(80, int)]
    g = np.tile([0, 0, 0, 1], 40)
    low = auto_epsilon_bounds(X, y, g, 2)
    high = auto_epsilon_bounds(10 * X, y, g, 2)
    np.testing.assert_allclose(high, 10 * low, rtol=1e-10)
    assert np.all(low[:, 0] == 0) and np.all(low[:, 1] > 0)


def test_class_gap_is_capped_by_half_the_distance_between_class_means():
    X = np.array([[0.0], [0.1], [10.0], [10.1]])
    y = np.array([0, 0, 1, 1])
    gap = class_gap(X, y, np.zeros(4, dtype=int), 1)
    assert gap[0] == pytest.approx(5.0)  # nearest other class is 9.9+ away; half of 10


def test_smaller_groups_get_wider_bounds():
    np.testing.assert_allclose(size_factor([400, 100]), [0.5, 1.0])
    X = np.r_[np.linspace(-2, -1, 50), np.linspace(1, 2, 50)][:, None]
    y = np.r_[np.zeros(50, int), np.ones(50, int)]
    g = np.where(np.arange(100) % 5 == 0, 1, 0)  # group 1 is a quarter the size of group 0
    gap = class_gap(X, y, g, 2)
    bounds = auto_epsilon_bounds(X, y, g, 2)
    np.testing.assert_allclose(bounds[:, 1], gap * size_factor(np.bincount(g)))


def test_auto_rho_upper_is_the_divergence_of_a_near_point_mass_on_the_smallest_group():
    counts = np.array([500, 420, 140, 140])
    nominal = counts / counts.sum()
    target = 0.01 * nominal
    target[2] += 0.99
    assert auto_rho_upper(counts) == pytest.approx(divergence_value(target, nominal, "kl"))
    assert auto_rho_upper([10]) == 0.0


def test_search_reports_data_scaled_bounds(dataset):
    search = _search().fit(dataset.X_train, dataset.y_train, groups=dataset.groups_train)
    assert search.rho_bounds_[0] == 0 and search.rho_bounds_[1] > 0
    assert search.epsilon_bounds_.shape == (4, 2)
    assert np.all(search.epsilon_bounds_[:, 1] > 0)
    eps = np.array([p["epsilon"] for p in search.cv_results_["params"]])
    assert np.all(eps <= search.epsilon_bounds_[:, 1] + 1e-12)


# ---- ERM always evaluated ---------------------------------------------------------
@pytest.mark.parametrize("generator", ["grid", "lhs", "random"])
def test_erm_is_always_evaluated(dataset, generator):
    search = _search(initial_point_generator=generator).fit(
        dataset.X_train, dataset.y_train, groups=dataset.groups_train)
    results = search.cv_results_
    assert results["param_rho"][0] == 0.0
    assert np.all(results["params"][0]["epsilon"] == 0.0)


# ---- collapse ---------------------------------------------------------------------
def test_collapsed_prediction():
    assert collapsed_prediction(np.array([1, 1, 1]), True)
    assert not collapsed_prediction(np.array([1, 0, 1]), True)
    assert collapsed_prediction(np.full((5, 1), 2.0), False, np.arange(5.0))
    assert not collapsed_prediction(np.arange(5.0)[:, None], False, np.arange(5.0))


def _one_class_scores_best(estimator, X, y):
    """A scorer under which a candidate that predicts one class for every row wins."""
    return float(np.unique(estimator.predict(X)).size == 1)


@pytest.mark.parametrize("selection", ["best", "one_se", "gp_mean"])
def test_collapsed_candidates_are_marked_and_never_picked(dataset, selection):
    # radii far beyond the classes' distance turn every candidate but ERM constant, and
    # the objective ranks those constant candidates first: every rule has to skip them
    search = _search(epsilon_bounds=(0.0, 60.0), rho_bounds=(0.0, 0.0), n_iter=5,
                     n_initial_points=5, objective=_one_class_scores_best,
                     selection=selection)
    search.fit(dataset.X_train, dataset.y_train, groups=dataset.groups_train)
    results = search.cv_results_
    collapsed, means = results["collapsed"], results["mean_test_objective"]
    # marked: exactly the candidates whose validation predictions are one class
    np.testing.assert_array_equal(collapsed, means == -1.0)
    assert collapsed.any() and (~collapsed).any()
    assert collapsed[np.argmin(means)]  # the lowest objective is a collapsed candidate
    # never picked: the pick is the best candidate that did not collapse
    assert not collapsed[search.best_index_]
    assert search.best_index_ == np.flatnonzero(~collapsed)[np.argmin(means[~collapsed])]


def test_pick_skips_a_collapsed_candidate_with_the_lowest_objective():
    results = {
        "mean_test_objective": np.array([0.5, 0.1, 0.4]),
        "std_error_test_objective": np.array([0.01, 0.01, 0.01]),
        "collapsed": np.array([False, True, False]),
        "failed": np.zeros(3, dtype=bool),
        "gp_mean_test_objective": np.array([0.5, 0.1, 0.4]),
        "param_rho": np.zeros(3),
        "params": np.array([{"rho": 0.0, "epsilon": np.zeros(2)}] * 3, dtype=object),
    }
    for rule in ("best", "one_se", "gp_mean"):
        indices, weights = pick(rule, results, rho_high=1.0, epsilon_high=np.ones(2))
        assert indices.tolist() == [2] and weights.tolist() == [1.0]


# ---- the rules ----------------------------------------------------------------------
def test_one_se_picks_the_most_robust_candidate_within_one_standard_error():
    objective = [1.00, 1.04, 1.20, 1.06]
    std_error = [0.05, 0.05, 0.05, 0.05]
    reach = [0.0, 0.5, 2.0, 0.9]
    # 1.20 is outside 1.00 + 0.05; 1.06 is outside; 1.04 is inside
    assert select_one_se(objective, std_error, reach, [True] * 4) == 1
    # without a standard error the rule is the plain minimum
    assert select_one_se(objective, [np.nan] * 4, reach, [True] * 4) == 0
    # ERM as the reference widens the threshold to its own objective + error
    assert select_one_se(objective, std_error, reach, [True] * 4, reference=3) == 3
    assert select_one_se(objective + [1.19], std_error + [0.02], reach + [0.0],
                         [True] * 5, reference=4) == 2


def test_robustness_scales_each_radius_by_its_bound():
    reach = robustness([0.0, 2.0], [[1.0, 0.0], [2.0, 4.0]], 2.0, [2.0, 4.0])
    np.testing.assert_allclose(reach, [0.25, 2.0])


def test_worst_group_standard_error_uses_the_worst_group_rows():
    losses = np.array([0.1, 0.1, 2.0, 4.0, 0.0])
    groups = np.array([0, 0, 1, 1, 0])
    expected = np.std([2.0, 4.0], ddof=1) / np.sqrt(2)
    assert worst_group_standard_error(losses, groups, 2) == pytest.approx(expected)


def test_pick_candidates_best_is_the_lowest_objective(dataset):
    search = _search(selection="best").fit(dataset.X_train, dataset.y_train,
                                           groups=dataset.groups_train)
    results = search.cv_results_
    usable = np.isfinite(results["mean_test_objective"]) & ~results["collapsed"]
    best = np.flatnonzero(usable)[np.argmin(results["mean_test_objective"][usable])]
    assert search.best_index_ == best
    assert search.pick_candidates("best")[0].tolist() == [best]
    assert "std_error_test_objective" in results and "gp_mean_test_objective" in results


def test_one_se_default_pick_lies_within_one_standard_error_of_the_best_or_erm(dataset):
    search = _search().fit(dataset.X_train, dataset.y_train, groups=dataset.groups_train)
    assert search.selection == "one_se"
    results = search.cv_results_
    means, errors = results["mean_test_objective"], results["std_error_test_objective"]
    best = search.pick_candidates("best")[0][0]
    threshold = max(means[best] + np.nan_to_num(errors[best]),
                    means[0] + np.nan_to_num(errors[0]))  # row 0 is ERM
    assert means[search.best_index_] <= threshold + 1e-12
    # and nothing more robust is within that threshold
    eps = np.array([p["epsilon"] for p in results["params"]])
    reach = robustness(results["param_rho"], eps, search.rho_bounds_[1],
                       search.epsilon_bounds_[:, 1])
    ok = (means <= threshold + 1e-12) & ~results["collapsed"]
    assert reach[search.best_index_] == reach[ok].max()


def test_ensemble_pick_without_predictions_is_an_error(dataset):
    search = _search(selection="best").fit(dataset.X_train, dataset.y_train,
                                           groups=dataset.groups_train)
    with pytest.raises(ValueError, match="validation predictions"):
        search.pick_candidates("ensemble")


def test_ensemble_selection_refits_a_weighted_ensemble_that_pickles(dataset):
    search = _search(selection="ensemble", n_iter=8, n_initial_points=6)
    search.fit(dataset.X_train, dataset.y_train, groups=dataset.groups_train)
    indices, weights = search.selected_indices_, search.selected_weights_
    assert weights.sum() == pytest.approx(1.0)
    assert search.validation_predictions_.shape[0] == len(search.cv_results_["params"])
    model = search.best_estimator_
    # every selected candidate refit refit_seeds times, sharing its selection weight
    assert isinstance(model, EnsembleSelectionClassifier)
    assert len(model.estimators_) == len(indices) * search.refit_seeds
    np.testing.assert_allclose(model.weights_, np.repeat(weights, search.refit_seeds)
                               / search.refit_seeds)
    members = [est.predict_proba(dataset.X_test) for est in model.estimators_]
    expected = np.tensordot(model.weights_, np.array(members), axes=1)
    np.testing.assert_allclose(search.predict_proba(dataset.X_test), expected, atol=1e-12)
    restored = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(restored.predict(dataset.X_test), search.predict(dataset.X_test))


# ---- the warning ---------------------------------------------------------------------
def _fake_search(pick_objective, erm_objective, erm_error):
    search = PerGDROSearchCV(PerGDROClassifier())
    search.cv_results_ = {
        "mean_test_objective": np.array([erm_objective, pick_objective]),
        "std_error_test_objective": np.array([erm_error, 0.01]),
        "param_rho": np.array([0.0, 0.5]),
        "params": np.array([{"rho": 0.0, "epsilon": np.zeros(2)},
                            {"rho": 0.5, "epsilon": np.ones(2)}], dtype=object),
    }
    search.best_index_ = 1
    return search


def test_warns_when_the_pick_is_worse_than_erm_on_validation():
    with pytest.warns(UserWarning, match="worse than ERM"):
        _fake_search(pick_objective=0.9, erm_objective=0.5, erm_error=0.05)\
            ._warn_if_worse_than_erm()


def test_no_warning_when_the_pick_is_within_erm_noise():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _fake_search(pick_objective=0.53, erm_objective=0.5, erm_error=0.05)\
            ._warn_if_worse_than_erm()


# ---- the refit averages networks --------------------------------------------------
def test_refit_averages_refit_seeds_networks_of_the_pick(dataset):
    search = _search(refit_seeds=3).fit(dataset.X_train, dataset.y_train,
                                          groups=dataset.groups_train)
    model = search.best_estimator_
    assert isinstance(model, EnsembleSelectionClassifier)
    assert len(model.estimators_) == 3
    np.testing.assert_allclose(model.weights_, [1 / 3] * 3)
    seeds = [member.random_state for member in model.estimators_]
    assert seeds[0] == 0 and len(set(seeds)) == 3  # the estimator's own seed first
    for member in model.estimators_:
        assert member.rho == search.best_params_["rho"]
        np.testing.assert_array_equal(member.epsilon, search.best_params_["epsilon"])
    expected = np.mean([m.predict_proba(dataset.X_test) for m in model.estimators_], axis=0)
    np.testing.assert_allclose(search.predict_proba(dataset.X_test), expected, atol=1e-12)


def test_refit_seeds_one_refits_the_estimator_itself(dataset):
    search = _search(refit_seeds=1).fit(dataset.X_train, dataset.y_train,
                                          groups=dataset.groups_train)
    assert isinstance(search.best_estimator_, PerGDROClassifier)
    assert search.best_estimator_.random_state == 0
