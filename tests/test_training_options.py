"""Training options that users of MLPClassifier, skorch and GroupDRO expect."""

import logging
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
)

FAST = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
ALL = [PerGDROClassifier, PerGDRORegressor, GroupDROClassifier, GroupDRORegressor]


# ---------------------------------------------------------------------------
# hidden_layer_sizes, blow-up, warm_start, logging (issue 12)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("sizes", [(0,), (8.7,), (-1,), (8, 0), ("8",), (True,)])
def test_bad_hidden_layer_sizes_are_value_errors(cls, sizes, small_classification):
    X, y, groups = small_classification
    est = cls(**{**FAST, "hidden_layer_sizes": sizes})
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        est.fit(X, y, groups=groups)
    with pytest.raises(NotFittedError):
        est.predict(X)


def test_loss_blow_up_warns(small_classification):
    X, y, groups = small_classification
    with pytest.warns(ConvergenceWarning, match="blew up from 0.7"):
        est = PerGDROClassifier(learning_rate_init=1e6, max_iter=5, random_state=0).fit(
            X, y, groups=groups)
    assert est.loss_curve_[-1] > 1e6  # finite, but blown up


def test_normal_fit_does_not_report_blow_up(small_classification):
    X, y, groups = small_classification
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PerGDROClassifier(**FAST).fit(X, y, groups=groups)
    assert not any("blew up" in str(w.message) for w in caught)


@pytest.mark.parametrize("change", [dict(hidden_layer_sizes=(4,)), dict(activation="tanh"),
                                    dict(module=lambda d, k: torch.nn.Linear(d, k))])
def test_warm_start_with_changed_architecture_raises(change, small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(warm_start=True, **FAST).fit(X, y, groups=groups)
    before = est.predict_proba(X)
    est.set_params(**change)
    with pytest.raises(ValueError, match=f"{next(iter(change))} changed"):
        est.fit(X, y, groups=groups)
    np.testing.assert_array_equal(est.predict_proba(X), before)
    assert est.n_iter_ == 3


def test_warm_start_with_other_feature_count_raises(small_classification):
    X, y, groups = small_classification
    est = GroupDROClassifier(warm_start=True, **FAST).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="4 features"):
        est.fit(np.hstack([X, X[:, :1]]), y, groups=groups)


def test_no_logging_handlers_and_no_level_change(small_classification, capsys):
    X, y, groups = small_classification
    logger = logging.getLogger("pergdro_sklearn")
    handlers, level = list(logger.handlers), logger.level
    PerGDROClassifier(verbose=1, **FAST).fit(X, y, groups=groups)
    assert logger.handlers == handlers and logger.level == level
    assert all(isinstance(h, logging.NullHandler) for h in logger.handlers)
    assert "Iteration 3, loss = " in capsys.readouterr().out
    PerGDROClassifier(verbose=0, **FAST).fit(X, y, groups=groups)
    assert capsys.readouterr().out == ""


def test_max_iter_before_settling_warns(small_classification):
    X, y, groups = small_classification
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        PerGDROClassifier(**FAST).fit(X, y, groups=groups)
    # a loss that has settled (tol larger than any change) does not warn
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        PerGDROClassifier(**{**FAST, "max_iter": 6}, tol=10.0, n_iter_no_change=2).fit(
            X, y, groups=groups)
