"""``sensitive_features`` (fairlearn's name) as an alias of ``groups``; routing knows ``groups``."""

import numpy as np
import pytest
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import (
    EnsembleSelectionClassifier,
    GroupDROClassifier,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn.metrics import (
    get_scorer,
    group_loss_scores,
    group_scores,
    score_group_metric,
    worst_group_accuracy,
    worst_group_error,
    worst_group_log_loss,
    worst_group_mse,
)

NET = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
BOTH = "groups or sensitive_features, not both"


@pytest.mark.parametrize("cls", [PerGDROClassifier, GroupDROClassifier])
def test_estimator_fit_takes_the_alias(cls, small_classification):
    X, y, groups = small_classification
    params = dict(NET, rho=1.0) if cls is PerGDROClassifier else NET
    by_name = cls(**params).fit(X, y, groups=groups)
    by_alias = cls(**params).fit(X, y, sensitive_features=groups)
    assert by_alias.groups_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(by_alias.predict_proba(X), by_name.predict_proba(X))
    with pytest.raises(ValueError, match=BOTH):
        cls(**params).fit(X, y, groups=groups, sensitive_features=groups)
    assert not hasattr(cls(**params), "groups_")


def test_fitted_estimator_methods_take_the_alias(small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(**NET, rho=0.5, epsilon=0.1).fit(X, y, groups=groups)
    assert est.robust_risk(X, y, sensitive_features=groups) == pytest.approx(
        est.robust_risk(X, y, groups))
    np.testing.assert_allclose(est.group_losses(X, y, sensitive_features=groups)["clean"],
                               est.group_losses(X, y, groups)["clean"])
    assert est.risk_bound(X, y, sensitive_features=groups)["robust_risk"] == pytest.approx(
        est.risk_bound(X, y, groups)["robust_risk"])
    with pytest.raises(ValueError, match=BOTH):
        est.robust_risk(X, y, groups, sensitive_features=groups)


def test_metrics_take_the_alias(small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(**NET).fit(X, y, groups=groups)
    pred, proba = est.predict(X), est.predict_proba(X)
    assert group_scores(y, pred, sensitive_features=groups) == group_scores(y, pred, groups)
    for metric, response in ((worst_group_accuracy, pred), (worst_group_error, pred),
                             (worst_group_mse, pred), (worst_group_log_loss, proba)):
        assert metric(y, response, sensitive_features=groups) == metric(y, response,
                                                                         groups=groups)
        with pytest.raises(ValueError, match=BOTH):
            metric(y, response, groups=groups, sensitive_features=groups)
    assert group_loss_scores(est, X, y, sensitive_features=groups) == group_loss_scores(
        est, X, y, groups=groups)
    assert score_group_metric("robust", est, X, y, sensitive_features=groups) == (
        score_group_metric("robust", est, X, y, groups=groups))
    with sklearn.config_context(enable_metadata_routing=True):  # scorers take keywords then
        scorer = get_scorer("worst_group_accuracy")
        assert scorer(est, X, y, sensitive_features=groups) == scorer(est, X, y,
                                                                      groups=groups)
    with pytest.raises(ValueError, match="sensitive_features"):
        worst_group_accuracy(y, pred)


def test_search_and_ensembles_take_the_alias(small_classification):
    X, y, groups = small_classification
    budget = dict(n_iter=2, n_initial_points=2, acq_optimizer="sampling", refit_seeds=1,
                  random_state=0)
    search = PerGDROSearchCV(PerGDROClassifier(**NET), **budget)
    search.fit(X, y, sensitive_features=groups)
    named = PerGDROSearchCV(PerGDROClassifier(**NET), **budget).fit(X, y, groups=groups)
    assert search.groups_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(search.epsilon_bounds_, named.epsilon_bounds_)
    with pytest.raises(ValueError, match=BOTH):
        PerGDROSearchCV(PerGDROClassifier(**NET), **budget).fit(
            X, y, groups=groups, sensitive_features=groups)

    members = [("lr", LogisticRegression()), ("net", PerGDROClassifier(**NET))]
    ensemble = EnsembleSelectionClassifier(members, random_state=0)
    ensemble.fit(X, y, sensitive_features=groups)
    assert ensemble.groups_.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(ensemble.group_losses(X, y, sensitive_features=groups)["clean"],
                               ensemble.group_losses(X, y, groups)["clean"])
    with pytest.raises(ValueError, match=BOTH):
        EnsembleSelectionClassifier(members).fit(X, y, groups=groups,
                                                 sensitive_features=groups)
    fitted = [PerGDROClassifier(**NET).fit(X, y, groups=groups)]
    prefit = EnsembleSelectionClassifier.from_fitted(fitted, sensitive_features=groups)
    assert prefit.groups_.tolist() == ["a", "b", "c"]


def test_routing_knows_the_name_groups_only(small_classification):
    X, y, groups = small_classification
    for est in (PerGDROClassifier(), PerGDRORegressor(), GroupDROClassifier(),
                PerGDROSearchCV(PerGDROClassifier()),
                EnsembleSelectionClassifier([("lr", LogisticRegression())])):
        with sklearn.config_context(enable_metadata_routing=True):
            # the error lists the accepted names, groups among them
            with pytest.raises(TypeError, match="sensitive_features.*groups"):
                est.set_fit_request(sensitive_features=True)
            assert "sensitive_features" not in est.get_metadata_routing().fit.requests
    with sklearn.config_context(enable_metadata_routing=True):
        net = PerGDROClassifier(**NET).set_fit_request(groups=True)
        result = cross_validate(net, X, y, cv=3, params={"groups": groups},
                                return_estimator=True, return_indices=True)
    for fitted, train in zip(result["estimator"], result["indices"]["train"]):
        assert fitted.groups_.tolist() == np.unique(groups[train]).tolist()
    # routing off, a Pipeline passes the alias to its step as any fit parameter
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**NET))
    pipe.fit(X, y, pergdroclassifier__sensitive_features=groups)
    assert pipe[-1].groups_.tolist() == ["a", "b", "c"]


def test_routing_alias_routes_a_parameter_named_sensitive_features(small_classification):
    X, y, groups = small_classification
    with sklearn.config_context(enable_metadata_routing=True):
        net = PerGDROClassifier(**NET).set_fit_request(groups="sensitive_features")
        scorer = get_scorer("worst_group_accuracy").set_score_request(
            groups="sensitive_features")
        result = cross_validate(net, X, y, cv=3, params={"sensitive_features": groups},
                                scoring=scorer, return_estimator=True, return_indices=True)
    for k, fitted in enumerate(result["estimator"]):
        train, test = result["indices"]["train"][k], result["indices"]["test"][k]
        assert fitted.groups_.tolist() == np.unique(groups[train]).tolist()
        assert result["test_score"][k] == pytest.approx(worst_group_accuracy(
            y[test], fitted.predict(X[test]), groups=groups[test]))


def test_other_fit_keywords_are_refused_and_subclasses_keep_routing(small_classification):
    X, y, groups = small_classification
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['group'\]"):
        PerGDROClassifier(**NET).fit(X, y, group=groups)
    with pytest.raises(TypeError, match="unexpected keyword"):
        PerGDROSearchCV(PerGDROClassifier(**NET)).fit(X, y, sensitive_feature=groups)

    class Narrow(PerGDROClassifier):  # a subclass whose fit names groups only
        def fit(self, X, y, groups=None):
            return super().fit(X, y, groups=groups)

    with sklearn.config_context(enable_metadata_routing=True):
        narrow = Narrow(**NET).set_fit_request(groups=True)
        assert narrow.get_metadata_routing().fit.requests == {"groups": True}
        make_pipeline(StandardScaler(), narrow).fit(X, y, groups=groups)
    assert narrow.groups_.tolist() == ["a", "b", "c"]
