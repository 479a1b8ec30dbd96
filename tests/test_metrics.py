import numpy as np
import pytest
import sklearn
from sklearn.model_selection import KFold, cross_validate

from pergdro_sklearn import PerGDROClassifier
from pergdro_sklearn.metrics import (
    get_scorer,
    group_scores,
    worst_group_accuracy,
    worst_group_error,
    worst_group_log_loss,
    worst_group_mse,
)


def test_group_metrics_by_hand():
    y = np.array([0, 1, 1, 0, 1, 1])
    pred = np.array([0, 1, 0, 0, 0, 0])
    g = np.array(["a", "a", "b", "b", "c", "c"])
    assert group_scores(y, pred, g) == {"a": 1.0, "b": 0.5, "c": 0.0}
    assert worst_group_accuracy(y, pred, groups=g) == 0.0
    assert worst_group_error(y, pred, groups=g) == 1.0
    assert worst_group_mse([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 6.0], groups=[0, 0, 1, 1]) == 2.0
    proba = np.array([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8], [0.6, 0.4]])
    expected = max(-np.log(0.9), np.mean([-np.log(0.5), -np.log(0.8)]), -np.log(0.6))
    assert worst_group_log_loss([0, 0, 1, 0], proba, groups=[0, 1, 1, 2]) == pytest.approx(
        expected)


def test_metrics_need_groups():
    with pytest.raises(ValueError, match="groups is required"):
        worst_group_accuracy([0, 1], [0, 1], groups=None)
    with pytest.raises(ValueError, match="entries"):
        worst_group_accuracy([0, 1], [0, 1], groups=[0])
    with pytest.raises(ValueError, match="Unknown scorer"):
        get_scorer("best_group")


def test_scorer_receives_groups_through_routing(small_classification):
    X, y, groups = small_classification
    with sklearn.config_context(enable_metadata_routing=True):
        est = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
        est.set_fit_request(groups=True)
        scoring = {name: get_scorer(name) for name in ("worst_group_accuracy",
                                                        "worst_group_log_loss")}
        result = cross_validate(est, X, y, cv=KFold(3, shuffle=True, random_state=0),
                                scoring=scoring, params={"groups": groups},
                                return_estimator=True, return_indices=True)
    # Each fold's score is the metric on that fold's test rows with their own groups.
    for k, (model, test) in enumerate(zip(result["estimator"], result["indices"]["test"])):
        assert len(np.unique(groups[test])) > 1
        expected_accuracy = worst_group_accuracy(y[test], model.predict(X[test]),
                                                 groups=groups[test])
        expected_log_loss = worst_group_log_loss(y[test], model.predict_proba(X[test]),
                                                 groups=groups[test])
        assert result["test_worst_group_accuracy"][k] == expected_accuracy
        assert result["test_worst_group_log_loss"][k] == pytest.approx(-expected_log_loss)
        # not the score on all rows or with one group
        one_group = worst_group_accuracy(y[test], model.predict(X[test]),
                                         groups=np.zeros(len(test)))
        assert expected_accuracy <= one_group
