"""device="cuda": every estimator and the search run on a GPU (skipped without one)."""

import numpy as np
import pytest
import torch

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn._batched import fit_candidates

pytestmark = pytest.mark.gpu
FAST = dict(hidden_layer_sizes=(16,), max_iter=3, random_state=0)


@pytest.mark.parametrize("cls", [PerGDROClassifier, PerGDRORegressor, GroupDROClassifier,
                                 GroupDRORegressor])
def test_estimators_fit_on_cuda(cls, shifted):
    y = shifted.y_train if "Classifier" in cls.__name__ else shifted.y_train.astype(float)
    est = cls(device="cuda", **FAST).fit(shifted.X_train, y, groups=shifted.groups_train)
    assert next(est.module_.parameters()).is_cuda
    cpu = cls(device="cpu", **FAST).fit(shifted.X_train, y, groups=shifted.groups_train)
    assert est.predict(shifted.X_test).shape == cpu.predict(shifted.X_test).shape


def test_auto_picks_cuda_and_pickles_to_cpu(shifted):
    import pickle

    est = PerGDROClassifier(device="auto", track_risk_bound=True, epsilon={3: 1.0}, **FAST)
    est.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert next(est.module_.parameters()).is_cuda
    assert est.robust_risk(shifted.X_val, shifted.y_val, shifted.groups_val) > 0
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(clone.predict_proba(shifted.X_test),
                               est.predict_proba(shifted.X_test), atol=1e-6)


def test_batched_and_search_on_cuda(shifted):
    template = PerGDROClassifier(device="cuda", **FAST)
    fits = fit_candidates(template, [dict(rho=0.0, epsilon=0.0), dict(rho=1.0, epsilon=0.5)],
                          shifted.X_train, shifted.y_train, shifted.groups_train)
    assert all(next(f.module_.parameters()).is_cuda for f in fits)
    search = PerGDROSearchCV(template, n_iter=4, n_initial_points=2, random_state=0)
    search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert search.predict(shifted.X_test).shape == shifted.y_test.shape


def test_cuda_is_really_available():
    assert torch.cuda.is_available()
