"""The search's scikit-learn vocabulary: ``scoring=`` names and scorers, the
``*_test_score`` keys of ``cv_results_`` and group labels made safe for keys."""

import numpy as np
import pytest
from scipy.stats import rankdata

from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn._search.evaluate import safe_key_names
from pergdro_sklearn.metrics import get_scorer

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::UserWarning")

LABELS = {0: "Native American", 1: "Native-American", 2: "b|c", 3: "d"}


@pytest.fixture(scope="module")
def data():
    from pergdro_sklearn.datasets import make_shifted_groups

    d = make_shifted_groups(n_train=(60, 40, 40, 40), random_state=0)
    groups = np.array([LABELS[g] for g in d.groups_train])
    return d.X_train, d.y_train, groups


def _search(**params):
    est = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    return PerGDROSearchCV(est, n_iter=4, n_initial_points=3, cv=2, random_state=0,
                           refit=False, **params)


def test_safe_key_names():
    assert safe_key_names(["Native American", "a|b", "x", "", "é"]) == [
        "Native_American", "a_b", "x", "_", "__2"]
    # collisions get a suffix in label order; a suffix never takes an existing name
    assert safe_key_names(["a b", "a-b", "a_b_2", "a_b"]) == ["a_b", "a_b_3", "a_b_2", "a_b_4"]
    assert safe_key_names([1, 2]) == ["1", "2"]


@pytest.fixture(scope="module")
def fitted(data):
    X, y, groups = data
    return _search(scoring="worst_group_accuracy").fit(X, y, groups=groups)


def test_cv_results_keys_are_safe_and_unique(fitted):
    res = fitted.cv_results_
    names = fitted.group_key_names_
    assert names == {"Native American": "Native_American",
                     "Native-American": "Native_American_2", "b|c": "b_c", "d": "d"}
    for name in names.values():
        for prefix in ("param_epsilon_", "mean_val_loss_", "mean_val_accuracy_"):
            assert prefix + name in res
    assert not [key for key in res if " " in key or "|" in key or "-" in key]


def test_test_score_keys_in_scikit_learns_meaning(fitted):
    res = fitted.cv_results_
    for k in range(2):
        np.testing.assert_array_equal(res[f"split{k}_test_score"],
                                      -res[f"split{k}_test_objective"])
    scores = np.column_stack([res["split0_test_score"], res["split1_test_score"]])
    np.testing.assert_allclose(res["mean_test_score"], scores.mean(axis=1))
    np.testing.assert_allclose(res["std_test_score"], scores.std(axis=1))
    # rank 1 is the highest score (ties share the lowest rank, as in scikit-learn)
    np.testing.assert_array_equal(res["rank_test_score"],
                                  rankdata(-res["mean_test_score"], method="min"))
    # with scoring="worst_group_accuracy" the score is the worst group's accuracy
    accuracy = np.column_stack([res[f"mean_val_accuracy_{n}"]
                                for n in fitted.group_key_names_.values()])
    # the mean over splits of each split's worst group is at most the worst mean
    assert np.all(res["mean_test_score"] <= accuracy.min(axis=1) + 1e-12)
    assert np.all((res["mean_test_score"] >= 0) & (res["mean_test_score"] <= 1))


def test_scoring_names_and_scorers_search_like_the_objective(data, fitted):
    X, y, groups = data
    by_objective = _search(objective="worst_group_accuracy").fit(X, y, groups=groups)
    by_scorer = _search(scoring=get_scorer("worst_group_accuracy")).fit(X, y, groups=groups)
    for other in (by_objective, by_scorer):
        np.testing.assert_array_equal(other.cv_results_["mean_test_score"],
                                      fitted.cv_results_["mean_test_score"])
        np.testing.assert_array_equal(other.cv_results_["std_error_test_objective"],
                                      fitted.cv_results_["std_error_test_objective"])
    assert fitted.best_score_ == by_objective.best_score_


def test_scoring_and_objective_together_are_refused(data):
    X, y, groups = data
    with pytest.raises(ValueError, match="give one"):
        _search(scoring="worst_group_accuracy", objective="robust").fit(X, y, groups=groups)
