"""A failed fit leaves the estimator as it was; one data set-up serves a whole round."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
)
from pergdro_sklearn._estimators.base import BaseGroupRobustMLP
from pergdro_sklearn._estimators.batched import fit_candidates

FAST = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
ALL = [PerGDROClassifier, PerGDRORegressor, GroupDROClassifier, GroupDRORegressor]


def _diverging(est, data):
    """Data and settings on which training becomes non-finite."""
    X, y, groups = data
    est.set_params(learning_rate_init=1e6, solver="sgd")
    return X * 1e3, (y * 1e6).astype(float), groups


@pytest.mark.parametrize("kwargs", [dict(epsilon=[0.1, 0.2]), dict(epsilon={"zz": 1.0})])
def test_failed_first_fit_leaves_estimator_unfitted(kwargs, small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(**FAST, **kwargs)
    with pytest.raises(ValueError):
        est.fit(X, y, groups=groups)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    assert not hasattr(est, "classes_") and not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("cls", [PerGDRORegressor, GroupDRORegressor])
def test_diverged_first_fit_leaves_estimator_unfitted(cls, small_classification):
    est = cls(**FAST)
    with pytest.raises(ValueError, match="non-finite"):
        est.fit(*_diverging(est, small_classification)[:2],
                groups=small_classification[2])
    with pytest.raises(NotFittedError):
        est.predict(small_classification[0])


@pytest.mark.parametrize("warm_start", [False, True])
def test_failed_refit_keeps_previous_model(warm_start, small_classification):
    X, y, groups = small_classification
    est = PerGDRORegressor(warm_start=warm_start, **FAST).fit(X, y.astype(float), groups=groups)
    before = est.predict(X)
    state = {k: v for k, v in vars(est).items() if k.endswith("_")}
    params = [p.detach().clone() for p in est.module_.parameters()]
    with pytest.raises(ValueError, match="non-finite"):
        est.fit(*_diverging(est, small_classification)[:2], groups=groups)
    np.testing.assert_array_equal(est.predict(X), before)
    for p, q in zip(est.module_.parameters(), params):
        assert torch_equal(p, q)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert est.module_ is state["module_"]
    # a bad parameter on refit: same
    est.set_params(learning_rate_init=1e-3, solver="adam", epsilon=[1.0, 2.0])
    with pytest.raises(ValueError, match="3 groups"):
        est.fit(X, y.astype(float), groups=groups)
    np.testing.assert_array_equal(est.predict(X), before)


def torch_equal(a, b):
    return bool((a.detach() == b.detach()).all())


def test_refit_with_other_features_fails_cleanly(small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(warm_start=True, **FAST).fit(X, y, groups=groups)
    before = est.predict_proba(X)
    with pytest.raises(ValueError, match="features"):
        est.fit(np.hstack([X, X]), y, groups=groups)
    assert est.n_features_in_ == 3
    np.testing.assert_array_equal(est.predict_proba(X), before)


def test_batched_round_validates_data_once(small_classification, monkeypatch):
    X, y, groups = small_classification
    calls = []
    original = BaseGroupRobustMLP._prepare_data

    def counting(self, *args, **kwargs):
        data = original(self, *args, **kwargs)
        calls.append(data)
        return data

    monkeypatch.setattr(BaseGroupRobustMLP, "_prepare_data", counting)
    template = PerGDROClassifier(**FAST)
    params = [dict(rho=r, epsilon=e) for r, e in [(0.0, 0.0), (0.5, 0.1), (1.0, 0.3)]]
    fitted = fit_candidates(template, params, X, y, groups)
    assert len(calls) == 1  # one validation and one float32 copy of X for all three
    assert not hasattr(template, "module_")  # the template is never fitted
    for est, p in zip(fitted, params):
        check_is_fitted(est)
        assert est.rho == p["rho"] and est.n_features_in_ == 3
        assert est.classes_.tolist() == [0, 1]
    assert len({id(est.module_) for est in fitted}) == 3


def test_batched_round_with_bad_candidate_fails_before_training(small_classification):
    X, y, groups = small_classification
    template = PerGDROClassifier(**FAST)
    with pytest.raises(ValueError, match="3 groups"):
        fit_candidates(template, [dict(rho=0.1), dict(epsilon=[0.1, 0.2])], X, y, groups)
    assert not hasattr(template, "module_")
