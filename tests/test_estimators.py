"""Behaviour of the four estimators: radii, special cases, reproducibility, errors."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
)
from pergdro_sklearn._groups import encode_groups
from pergdro_sklearn._train.loop import Trainer, make_optimizer
from pergdro_sklearn._train.network import MLP
from pergdro_sklearn._train.weighting import GroupWeighting
from pergdro_sklearn.divergences import CressieRead, divergence_value, worst_case_weights

FAST = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
ALL = [PerGDROClassifier, PerGDRORegressor, GroupDROClassifier, GroupDRORegressor]


def _fit(est, data):
    X, y, groups = data
    return est.fit(X, y, groups=groups)


@pytest.mark.parametrize("cls", ALL)
def test_fitted_attributes(cls, small_classification):
    est = _fit(cls(**FAST), small_classification)
    assert est.groups_.tolist() == ["a", "b", "c"]
    assert est.group_counts_.tolist() == [40, 40, 40]
    assert est.n_iter_ == 5 and len(est.loss_curve_) == 5
    assert np.asarray(est.group_loss_curve_).shape == (5, 3)
    assert np.asarray(est.group_weight_history_).shape == (5, 3)
    assert est.group_weights_.shape == (3,)
    np.testing.assert_allclose(est.group_weights_.sum(), 1.0)
    assert est.n_features_in_ == 3


@pytest.mark.parametrize("epsilon, expected", [
    (0.3, [0.3, 0.3, 0.3]),
    ([0.0, 0.1, 0.2], [0.0, 0.1, 0.2]),
    ({"c": 0.5}, [0.0, 0.0, 0.5]),
])
def test_epsilon_forms(epsilon, expected, small_classification):
    est = _fit(PerGDROClassifier(epsilon=epsilon, **FAST), small_classification)
    np.testing.assert_allclose(est.epsilons_, expected)


def test_groups_none_is_one_group(small_classification):
    X, y, _ = small_classification
    est = PerGDROClassifier(**FAST).fit(X, y)
    assert est.groups_.tolist() == [0]
    np.testing.assert_allclose(est.group_weights_, [1.0])


def test_zero_radii_equals_erm(small_classification):
    """rho = 0 and epsilon = 0 is ERM: the same predictions as the plain loop."""
    X, y, groups = small_classification
    est = PerGDROClassifier(rho=0.0, epsilon=0.0, **FAST).fit(X, y, groups=groups)

    # ERM with the same seeds, run directly on the shared loop
    from pergdro_sklearn._estimators.base import make_generators
    from pergdro_sklearn._train.losses import cross_entropy

    init, shuffle, attack = make_generators(0, torch.device("cpu"))
    module = MLP(3, 2, (16,), "relu", generator=init)
    weighting = GroupWeighting()
    weighting.start(np.full(3, 1 / 3))
    trainer = Trainer(module, cross_entropy, weighting,
                      make_optimizer("adam", module.parameters(), 1e-3, 0.0), 120, 3,
                      shuffle_generator=shuffle, attack_generator=attack, alpha=1e-4,
                      penalized=module.penalized_parameters())
    Xt = torch.as_tensor(X, dtype=torch.float32)
    trainer.fit(Xt, torch.as_tensor(y), torch.as_tensor(encode_groups(groups, 120)[1]), 5)
    with torch.no_grad():
        erm = module(Xt).numpy()
    np.testing.assert_allclose(est.decision_function(X), erm[:, 1] - erm[:, 0], rtol=1e-5,
                               atol=1e-6)


def test_large_rho_weights_worst_group(small_classification):
    """epsilon = 0 with a large rho puts all weight on the worst group (GroupDRO)."""
    est = _fit(PerGDROClassifier(rho=50.0, epsilon=0.0, group_step_size=1.0, **FAST),
               small_classification)
    worst = np.argmax(est.group_loss_curve_[-1])
    expected = np.eye(3)[worst]
    np.testing.assert_allclose(est.group_weights_, expected, atol=1e-6)


@pytest.mark.parametrize("cls", ALL)
def test_reproducible_and_pickle(cls, small_classification):
    X = small_classification[0]
    a = _fit(cls(**FAST), small_classification)
    b = _fit(cls(**FAST), small_classification)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict(X), a.predict(X))
    c = _fit(clone(a), small_classification)
    np.testing.assert_array_equal(c.predict(X), a.predict(X))


def test_different_seeds_differ(small_classification):
    X = small_classification[0]
    a = _fit(PerGDRORegressor(**{**FAST, "random_state": 0}), small_classification)
    b = _fit(PerGDRORegressor(**{**FAST, "random_state": 1}), small_classification)
    assert not np.allclose(a.predict(X), b.predict(X))


@pytest.mark.parametrize("cls", [PerGDROClassifier, GroupDROClassifier])
def test_warm_start_continues(cls, small_classification):
    X, y, groups = small_classification
    est = cls(warm_start=True, **FAST).fit(X, y, groups=groups)
    first = est.predict_proba(X)
    est.fit(X, y, groups=groups)
    assert est.n_iter_ == 10 and len(est.loss_curve_) == 10
    assert not np.allclose(first, est.predict_proba(X))
    # ten epochs in one go from the same seed give the same network
    once = cls(**{**FAST, "max_iter": 10}).fit(X, y, groups=groups)
    np.testing.assert_allclose(once.predict_proba(X), est.predict_proba(X), atol=1e-5)


def test_classifier_outputs(small_classification):
    X = small_classification[0]
    est = _fit(PerGDROClassifier(**FAST), small_classification)
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), est.predict_log_proba(X), atol=1e-10)
    assert est.decision_function(X).shape == (120,)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])


def test_multiclass_string_labels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 2))
    y = np.array(["x", "y", "z"])[np.argmax(X @ rng.normal(size=(2, 3)), axis=1)]
    est = PerGDROClassifier(**FAST).fit(X, y, groups=np.arange(90) % 2)
    assert est.decision_function(X).shape == (90, 3)
    assert set(est.predict(X)) <= {"x", "y", "z"}


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber"])
def test_regressor_losses_and_multioutput(loss):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2]])
    est = PerGDRORegressor(loss=loss, **{**FAST, "max_iter": 60, "learning_rate_init": 0.01})
    est.fit(X, Y, groups=X[:, 0] > 0)
    assert est.predict(X).shape == (100, 2)
    assert est.score(X, Y) > 0.3


def test_dataframe_feature_names(small_classification):
    pd = pytest.importorskip("pandas")
    X, y, groups = small_classification
    frame = pd.DataFrame(X, columns=["f0", "f1", "f2"])
    est = PerGDROClassifier(**FAST).fit(frame, y, groups=groups)
    assert est.feature_names_in_.tolist() == ["f0", "f1", "f2"]


def test_cressie_read_object(small_classification):
    # With group_step_size=1 the group weights after each epoch are the exact best
    # response in the CressieRead(0.5) ball to that epoch's group losses (not KL's).
    divergence = CressieRead(power=0.5)
    est = _fit(PerGDROClassifier(divergence=divergence, rho=0.3, group_step_size=1.0, **FAST),
               small_classification)
    nominal = est.group_counts_ / est.group_counts_.sum()
    for losses, weights in zip(est.group_loss_curve_, est.group_weight_history_):
        expected = worst_case_weights(losses, nominal, 0.3, divergence)
        np.testing.assert_allclose(weights, expected, rtol=1e-12, atol=0)
        assert divergence_value(weights, nominal, divergence) <= 0.3 + 1e-9
    kl = worst_case_weights(est.group_loss_curve_[-1], nominal, 0.3, "kl")
    assert not np.allclose(est.group_weights_, kl)


def _budget_excess(delta, group_index, radii, order):
    """How far each group's displacement exceeds its budget (0 when inside)."""
    norms = delta.norm(dim=-1)
    excess = 0.0
    for g in range(radii.shape[-1]):
        rows = norms[group_index == g]
        if rows.numel() == 0:
            continue
        size = {"inf": rows.max(), 2: rows.pow(2).mean().sqrt(), 1: rows.mean()}[order]
        excess = max(excess, float(size - radii[g]))
    return excess


@pytest.mark.parametrize("order", [1, 2, "inf"])
@pytest.mark.parametrize("attack", ["pgd", "fgsm"])
def test_orders_and_attacks(order, attack, small_classification, monkeypatch):
    # Training attacks every batch with the chosen method, moves the rows, and keeps
    # each group's displacement within its budget of the chosen order.
    import pergdro_sklearn._train.loop as training

    real, seen = training.wasserstein_attack, []

    def checked(forward, loss, X, y, group_index, radii, **kwargs):
        X_adv = real(forward, loss, X, y, group_index, radii, **kwargs)
        delta = X_adv - X
        seen.append((kwargs["order"], kwargs["method"], float(delta.abs().max())))
        assert _budget_excess(delta, group_index, radii, kwargs["order"]) <= 1e-5
        return X_adv

    monkeypatch.setattr(training, "wasserstein_attack", checked)
    est = _fit(PerGDROClassifier(wasserstein_order=order, attack=attack, epsilon=0.3, **FAST),
               small_classification)
    assert len(seen) == est.n_iter_  # one batch per epoch at this size
    assert {(o, m) for o, m, _ in seen} == {(order, attack)}
    assert all(moved > 0 for _, _, moved in seen)
    clean = _fit(PerGDROClassifier(epsilon=0.0, **FAST), small_classification)
    assert est.loss_curve_ != clean.loss_curve_


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(rho=-1.0), "rho"),
    (dict(rho=float("inf")), "rho"),
    (dict(epsilon=-0.1), "epsilon"),
    (dict(epsilon=float("nan")), "epsilon"),
    (dict(epsilon=[0.1, 0.2]), "3 groups"),
    (dict(epsilon={"zz": 1.0}), "unknown groups"),
    (dict(epsilon=[0.1, float("inf"), 0.0]), "finite"),
    (dict(divergence="renyi"), "divergence"),
    (dict(wasserstein_order=3), "wasserstein_order"),
])
def test_bad_parameters(kwargs, match, small_classification):
    with pytest.raises(ValueError, match=match):
        _fit(PerGDROClassifier(**{**FAST, **kwargs}), small_classification)


def test_bad_inputs(small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(**FAST)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(X_nan, y, groups=groups)
    X_inf = X.copy()
    X_inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.fit(X_inf, y, groups=groups)
    with pytest.raises(ValueError, match="120 rows"):
        est.fit(X, y, groups=groups[:-1])
    small = groups.copy()
    small[0] = "lonely"
    with pytest.raises(ValueError, match="fewer than 2 rows"):
        est.fit(X, y, groups=small)
    with pytest.raises(ValueError, match="one class"):
        est.fit(X, np.zeros(120), groups=groups)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X[:-1], y, groups=groups[:-1][:119])
    y_nan = y.astype(float)
    y_nan[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PerGDRORegressor(**FAST).fit(X, y_nan, groups=groups)


def test_training_divergence_names_epoch(small_classification):
    X, y, groups = small_classification
    est = PerGDRORegressor(learning_rate_init=1e6, solver="sgd", **FAST)
    with pytest.raises(ValueError, match=r"non-finite in epoch \d+"):
        est.fit(X * 1e3, y * 1e6, groups=groups)


def test_predict_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PerGDROClassifier().predict(np.zeros((2, 2)))


# ---------------------------------------------------------------------------
# Robust risk and Proposition 1
# ---------------------------------------------------------------------------
def test_robust_risk_monotone_in_radii(shifted):
    est = PerGDROClassifier(rho=0.5, epsilon=0.5, **FAST).fit(
        shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    args = (shifted.X_val, shifted.y_val, shifted.groups_val)
    base = est.robust_risk(*args, rho=0.0, epsilon=0.0)
    more_rho = est.robust_risk(*args, rho=1.0, epsilon=0.0)
    more_eps = est.robust_risk(*args, rho=0.0, epsilon=1.0)
    assert more_rho > base and more_eps > base
    losses = est.group_losses(*args)
    assert np.all(losses["robust"] >= losses["clean"] - 1e-6)
    # rho = 0, epsilon = 0: the nominal validation loss
    nominal = np.bincount(shifted.groups_val) / len(shifted.groups_val)
    clean = est.group_losses(*args, epsilon=0.0)["clean"]
    np.testing.assert_allclose(base, nominal @ clean, rtol=1e-5)


def test_robust_risk_rejects_unknown_groups(shifted):
    est = PerGDROClassifier(**FAST).fit(shifted.X_train, shifted.y_train,
                                        groups=shifted.groups_train)
    with pytest.raises(ValueError, match="not seen in fit"):
        est.robust_risk(shifted.X_val, shifted.y_val, shifted.groups_val + 10)


@pytest.mark.parametrize("cls", [PerGDROClassifier, PerGDRORegressor])
def test_certified_bound_holds_every_epoch(cls, shifted):
    y = shifted.y_train if cls is PerGDROClassifier else shifted.y_train.astype(float)
    est = cls(rho=1.0, epsilon={3: 1.0, 2: 0.3}, track_risk_bound=True,
              **{**FAST, "max_iter": 6})
    est.fit(shifted.X_train, y, groups=shifted.groups_train)
    history = est.risk_bound_history_
    assert history["epoch"] == list(range(1, 7))
    robust = np.array(history["robust_risk"])
    assert np.all(robust <= np.array(history["bound_certified"]) + 1e-6)
    assert np.all(np.array(history["lipschitz_empirical"])
                  <= np.array(history["lipschitz_certified"]) + 1e-6)
    terms = est.risk_bound(shifted.X_val, shifted.y_val, shifted.groups_val)
    assert terms["robust_risk"] <= terms["bound_certified"] + 1e-6
    np.testing.assert_allclose(
        terms["bound_certified"],
        terms["nominal_risk"] + terms["dispersion"] + terms["within_group_certified"])


def test_verbose_prints_one_line_per_epoch(small_classification, capsys):
    _fit(PerGDROClassifier(verbose=1, **FAST), small_classification)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"Iteration {i}" for i in range(1, 6)]
    assert all(", loss = " in line for line in lines)


# ---------------------------------------------------------------------------
# The method works: a radius on the shifted group beats ERM on its worst group
# ---------------------------------------------------------------------------
@pytest.mark.slow
def test_radius_on_shifted_group_beats_erm():
    from pergdro_sklearn.datasets import make_shifted_groups
    from pergdro_sklearn.metrics import worst_group_accuracy

    common = dict(hidden_layer_sizes=(32, 32), max_iter=30, batch_size=128)
    erm_scores, robust_scores = [], []
    for seed in range(5):
        d = make_shifted_groups(random_state=seed)
        fit_args = (d.X_train, d.y_train)
        erm = PerGDROClassifier(rho=0.0, epsilon=0.0, random_state=seed, **common)
        robust = PerGDROClassifier(rho=0.0, epsilon={3: 1.0}, wasserstein_order="inf",
                                   random_state=seed, **common)
        for est, scores in ((erm, erm_scores), (robust, robust_scores)):
            est.fit(*fit_args, groups=d.groups_train)
            scores.append(worst_group_accuracy(d.y_test, est.predict(d.X_test),
                                               groups=d.groups_test))
    assert np.mean(robust_scores) > np.mean(erm_scores), (erm_scores, robust_scores)


def test_robust_evaluation_rejects_unknown_targets(shifted):
    clf = PerGDROClassifier(**FAST).fit(shifted.X_train, shifted.y_train,
                                        groups=shifted.groups_train)
    with pytest.raises(ValueError, match="y contains labels not seen in fit"):
        clf.robust_risk(shifted.X_val, shifted.y_val + 5, shifted.groups_val)
    reg = PerGDRORegressor(**FAST).fit(shifted.X_train, shifted.y_train.astype(float),
                                       groups=shifted.groups_train)
    two_outputs = np.column_stack([shifted.y_val, shifted.y_val]).astype(float)
    with pytest.raises(ValueError, match="2 outputs; the model has 1"):
        reg.group_losses(shifted.X_val, two_outputs, shifted.groups_val)
