"""Training many candidates as one batched network gives the sequential results."""

import numpy as np
import pytest

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier, PerGDRORegressor
from pergdro_sklearn._estimators.batched import can_batch, fit_candidates

PARAMS = [
    dict(rho=0.0, epsilon=0.0),
    dict(rho=0.5, epsilon=0.0),
    dict(rho=0.0, epsilon=np.array([0.0, 0.0, 0.0, 1.0])),
    dict(rho=1.0, epsilon=np.array([0.3, 0.3, 0.3, 1.5])),
]


@pytest.mark.parametrize("cls, order", [(PerGDROClassifier, 2), (PerGDROClassifier, "inf"),
                                        (PerGDROClassifier, 1), (PerGDRORegressor, 2)])
def test_batched_equals_sequential(cls, order, shifted):
    common = dict(hidden_layer_sizes=(16, 16), max_iter=8, random_state=0,
                  wasserstein_order=order)
    y = shifted.y_train if cls is PerGDROClassifier else shifted.y_train.astype(float)
    fit = (shifted.X_train, y)
    batched = fit_candidates(cls(**common), PARAMS, *fit, shifted.groups_train)
    for params, est in zip(PARAMS, batched):
        seq = cls(**common, **params).fit(*fit, groups=shifted.groups_train)
        X = shifted.X_test
        out_seq = seq.predict_proba(X) if cls is PerGDROClassifier else seq.predict(X)
        out_bat = est.predict_proba(X) if cls is PerGDROClassifier else est.predict(X)
        np.testing.assert_allclose(out_bat, out_seq, atol=1e-4)
        np.testing.assert_allclose(est.group_weights_, seq.group_weights_, atol=1e-5)
        np.testing.assert_allclose(est.loss_curve_, seq.loss_curve_, rtol=1e-4)
        np.testing.assert_allclose(est.epsilons_, seq.epsilons_)
        assert est.get_params()["rho"] == params["rho"]
        assert est.n_iter_ == 8


def test_can_batch_rules():
    est = PerGDROClassifier()
    assert can_batch(est, PARAMS)
    assert not can_batch(est, PARAMS[:1])
    assert not can_batch(est, [dict(rho=0.1, max_iter=3), dict(rho=0.2)])
    assert not can_batch(GroupDROClassifier(), [dict(step_size=0.1), dict(step_size=0.2)])
    assert not can_batch(PerGDROClassifier(track_risk_bound=True), PARAMS)


def test_subclass_with_own_fit_is_not_batched():
    class Custom(PerGDROClassifier):
        def fit(self, X, y, groups=None):
            return super().fit(X, y, groups=groups)

    assert not can_batch(Custom(), PARAMS)
