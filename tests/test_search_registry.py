"""One registry of names for the search's objective and the metrics' scorers;
an error score never wins the search's pick."""

import numpy as np
import pytest
import sklearn
from conftest import LEGACY, MECHANICS  # noqa: F401
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import accuracy_score

from pergdro_sklearn import PerGDROClassifier, PerGDRORegressor, PerGDROSearchCV
from pergdro_sklearn._constants import NONFINITE_SCORE_PENALTY
from pergdro_sklearn._splits import make_group_folds
from pergdro_sklearn.metrics import get_scorer, group_scores, score_group_metric

NET = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
BUDGET = dict(n_iter=2, n_initial_points=2, acq_optimizer="sampling", random_state=0,
              refit=False, **{**LEGACY, "refit_seeds": 1})


# data (conftest.py): X, y, groups of make_shifted_groups(n_train=(60, 50, 20, 20))
@pytest.fixture(scope="module")
def holdout(data):
    _, y, groups = data
    return make_group_folds(0.25, groups, np.arange(4), classes_index=y, random_state=0)


def _rebuilt(estimator, search, row, X, y, groups, train):
    params = search.cv_results_["params"][row]
    return estimator.set_params(rho=params["rho"], epsilon=params["epsilon"]).fit(
        X[train], y[train], groups=groups[train])


@pytest.mark.parametrize("name", ["worst_group_accuracy", "worst_group_error",
                                  "worst_group_log_loss", "worst_group_loss", "robust"])
def test_a_name_means_the_same_in_the_search_and_in_the_scorers(name, data, holdout):
    X, y, groups = data
    (train, val), = holdout
    search = PerGDROSearchCV(PerGDROClassifier(**NET), objective=name, cv=holdout,
                             **BUDGET).fit(X, y, groups=groups)
    for row in range(2):
        candidate = _rebuilt(PerGDROClassifier(**NET), search, row, X, y, groups, train)
        with sklearn.config_context(enable_metadata_routing=True):
            score = get_scorer(name)(candidate, X[val], y[val], groups=groups[val])
        # the search minimises the negated scorer
        assert search.cv_results_["mean_test_objective"][row] == pytest.approx(-score,
                                                                             rel=1e-5)
        # the per-group numbers of cv_results_ are the metrics' per-group numbers
        accuracy = group_scores(y[val], candidate.predict(X[val]), groups[val],
                                accuracy_score)
        for label, value in accuracy.items():
            assert search.cv_results_[f"mean_val_accuracy_{label}"][row] == pytest.approx(
                value)


def test_worst_group_error_of_a_regressor_is_the_worst_mse_in_both_places(holdout):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 2))
    groups = np.repeat([0, 1, 2, 3], [60, 50, 20, 20])
    y = X[:, 0] + 0.3 * groups + 0.1 * rng.normal(size=150)
    (train, val), = holdout
    search = PerGDROSearchCV(PerGDRORegressor(**NET), objective="worst_group_error",
                             cv=holdout, **BUDGET).fit(X, y, groups=groups)
    candidate = _rebuilt(PerGDRORegressor(**NET), search, 0, X, y, groups, train)
    with sklearn.config_context(enable_metadata_routing=True):
        error = get_scorer("worst_group_error")(candidate, X[val], y[val], groups=groups[val])
        mse = get_scorer("worst_group_mse")(candidate, X[val], y[val], groups=groups[val])
    assert error == mse
    assert search.cv_results_["mean_test_objective"][0] == pytest.approx(-error, rel=1e-5)


def test_a_metric_refuses_the_wrong_kind_of_estimator(data):
    X, y, groups = data
    regressor = PerGDRORegressor(**NET).fit(X, y.astype(float), groups=groups)
    with pytest.raises(ValueError, match="not defined for regressors"):
        score_group_metric("worst_group_accuracy", regressor, X, y, groups=groups)
    # the squared error of class labels means nothing (and fails on string labels)
    classifier = PerGDROClassifier(**NET).fit(X, np.array(["a", "b"])[y], groups=groups)
    with pytest.raises(ValueError, match="not defined for classifiers"):
        score_group_metric("worst_group_mse", classifier, X, np.array(["a", "b"])[y],
                           groups=groups)
    with pytest.raises(ValueError, match="Unknown objective.*worst_group_loss"):
        PerGDROSearchCV(PerGDROClassifier(**NET), objective="best_group").fit(
            X, y, groups=groups)


@pytest.mark.parametrize("error_score", [0.0, -1e9])
def test_an_error_score_never_wins(error_score, data, holdout, fails_above_rho):
    X, y, groups = data
    search = PerGDROSearchCV(fails_above_rho(**NET), cv=holdout, error_score=error_score,
                             **{**BUDGET, "n_iter": 4, "n_initial_points": 4, "refit": True})
    with pytest.warns(FitFailedWarning):
        search.fit(X, y, groups=groups)
    res = search.cv_results_
    failed = res["param_rho"] > 1.0
    assert failed.any() and (~failed).any()
    # the error score is what cv_results_ records, and it beats every real objective ...
    np.testing.assert_array_equal(res["mean_test_objective"][failed], error_score)
    assert res["mean_test_objective"][failed].max() < res["mean_test_objective"][~failed].min()
    # ... yet a failed candidate is never the best, ranks last, and the optimiser is
    # told the penalty
    assert not failed[search.best_index_]
    assert search.best_params_["rho"] <= 1.0
    assert search.best_estimator_.rho <= 1.0
    assert res["rank_test_objective"][failed].min() > res["rank_test_objective"][~failed].max()
    np.testing.assert_array_equal(search.optimizer_result_.func_vals[failed],
                                  NONFINITE_SCORE_PENALTY)

    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match="failed"):
        PerGDROSearchCV(fails_above_rho(**NET), rho_bounds=(2, 3), cv=holdout,
                        error_score=error_score, **BUDGET).fit(X, y, groups=groups)
