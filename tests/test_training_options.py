"""Training options that users of MLPClassifier, skorch and GroupDRO expect."""

import logging
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
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


# ---------------------------------------------------------------------------
# Early stopping (issue 11)
# ---------------------------------------------------------------------------
ES = dict(hidden_layer_sizes=(16,), max_iter=200, learning_rate_init=0.05, random_state=0,
          early_stopping=True, n_iter_no_change=3, validation_fraction=0.25)


@pytest.mark.parametrize("cls", ALL)
def test_early_stopping_stops_and_keeps_best_epoch(cls, shifted):
    y = shifted.y_train if cls._is_classifier_flag else shifted.y_train.astype(float)
    fit = (shifted.X_train, y)
    est = cls(**ES).fit(*fit, groups=shifted.groups_train)
    assert est.n_iter_ < 200
    assert len(est.validation_scores_) == est.n_iter_ == len(est.loss_curve_)
    assert np.asarray(est.validation_group_loss_curve_).shape == (est.n_iter_, 4)
    np.testing.assert_allclose(est.validation_scores_,
                               np.max(est.validation_group_loss_curve_, axis=1))
    assert est.best_loss_ == min(est.validation_scores_)
    assert est.validation_scores_[est.best_epoch_ - 1] == est.best_loss_
    assert est.best_epoch_ < est.n_iter_
    # the model kept is the best epoch's: a run that ends at that epoch gives it
    short = cls(**{**ES, "max_iter": est.best_epoch_}).fit(*fit, groups=shifted.groups_train)
    np.testing.assert_allclose(est.predict(shifted.X_test), short.predict(shifted.X_test),
                               atol=1e-6)
    np.testing.assert_allclose(est.group_weights_, est.group_weight_history_[
        est.best_epoch_ - 1])


def test_early_stopping_warns_when_max_iter_ends_first(shifted):
    with pytest.warns(ConvergenceWarning, match="validation loss has not settled"):
        est = PerGDROClassifier(**{**ES, "max_iter": 3}).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert est.n_iter_ == 3


def test_holdout_is_stratified_by_group_and_class():
    from pergdro_sklearn._splits import stratified_holdout

    rng = np.random.default_rng(0)
    group_index = np.repeat([0, 1, 2], [2, 50, 300])
    y = rng.integers(0, 2, size=group_index.shape[0])
    y[group_index == 2] = (np.arange(300) < 60).astype(int)  # 20% class 1
    mask = stratified_holdout(group_index, y, 0.1, np.random.RandomState(0))
    for g in range(3):
        rows = group_index == g
        assert 1 <= mask[rows].sum() < rows.sum()  # every group on both sides
    assert mask[group_index == 1].sum() == 5 and mask[group_index == 2].sum() == 30
    assert y[mask & (group_index == 2)].sum() == 6  # the class share is kept


def test_batched_early_stopping_equals_sequential(shifted):
    from pergdro_sklearn._estimators.batched import fit_candidates

    params = [dict(rho=0.0, epsilon=0.0), dict(rho=1.0, epsilon=0.5)]
    common = {**ES, "max_iter": 60}
    batched = fit_candidates(PerGDROClassifier(**common), params, shifted.X_train,
                             shifted.y_train, shifted.groups_train)
    for p, est in zip(params, batched):
        seq = PerGDROClassifier(**common, **p).fit(shifted.X_train, shifted.y_train,
                                                  groups=shifted.groups_train)
        assert (est.n_iter_, est.best_epoch_) == (seq.n_iter_, seq.best_epoch_)
        np.testing.assert_allclose(est.validation_scores_, seq.validation_scores_, rtol=1e-4)
        np.testing.assert_allclose(est.predict_proba(shifted.X_test),
                                   seq.predict_proba(shifted.X_test), atol=1e-4)


# ---------------------------------------------------------------------------
# sample_weight
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_unit_weights_equal_no_weights(cls, small_classification):
    X, y, groups = small_classification
    a = cls(**FAST).fit(X, y, groups=groups)
    b = cls(**FAST).fit(X, y, groups=groups, sample_weight=np.full(120, 3.0))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)


@pytest.mark.parametrize("cls", ALL)
def test_zero_weight_rows_are_dropped(cls, small_classification):
    X, y, groups = small_classification
    rng = np.random.default_rng(1)
    extra = rng.normal(size=(30, 3))
    X2 = np.vstack([X, extra])
    y2 = np.concatenate([y, rng.integers(0, 2, size=30)])
    g2 = np.concatenate([groups, np.repeat(["a", "b", "c"], 10)])
    w = np.r_[np.ones(120), np.zeros(30)]
    a = cls(**FAST).fit(X, y, groups=groups)
    b = cls(**FAST).fit(X2, y2, groups=g2, sample_weight=w)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_group_nominal_mass_is_its_weight_total(small_classification):
    X, y, groups = small_classification
    w = np.where(groups == "a", 3.0, 1.0)
    est = PerGDROClassifier(rho=0.0, epsilon=0.0, **FAST).fit(X, y, groups=groups,
                                                             sample_weight=w)
    np.testing.assert_allclose(est.group_weights_, [0.6, 0.2, 0.2])


def test_integer_weights_match_repeated_rows_in_full_batch(small_classification):
    """Within a group, weights act as repetitions (full batch: same objective)."""
    X, y, groups = small_classification
    w = np.random.default_rng(0).integers(1, 4, size=120)
    common = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0, rho=0.5,
                  epsilon=0.0, batch_size=1000)
    weighted = PerGDROClassifier(**common).fit(X, y, groups=groups, sample_weight=w)
    repeated = PerGDROClassifier(**common).fit(np.repeat(X, w, axis=0), np.repeat(y, w),
                                               groups=np.repeat(groups, w))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X),
                               atol=1e-5)
    np.testing.assert_allclose(weighted.group_weights_, repeated.group_weights_, atol=1e-6)


def test_sample_weight_errors(small_classification):
    X, y, groups = small_classification
    est = PerGDROClassifier(**FAST)
    with pytest.raises(ValueError, match="(?i)negative"):
        est.fit(X, y, groups=groups, sample_weight=-np.ones(120))
    with pytest.raises(ValueError, match="group"):
        est.fit(X, y, groups=groups, sample_weight=np.where(groups == "b", 0.0, 1.0))


def test_sample_weight_is_routed(small_classification):
    import sklearn
    from sklearn.model_selection import KFold, cross_validate

    X, y, groups = small_classification
    w = np.where(groups == "a", 5.0, 1.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = PerGDROClassifier(rho=0.0, epsilon=0.0, **FAST).set_fit_request(
            groups=True, sample_weight=True).set_score_request(sample_weight=False)
        result = cross_validate(est, X, y, cv=KFold(2, shuffle=True, random_state=0),
                                params={"groups": groups, "sample_weight": w},
                                return_estimator=True, return_indices=True)
    for fitted, train in zip(result["estimator"], result["indices"]["train"]):
        direct = PerGDROClassifier(rho=0.0, epsilon=0.0, **FAST).fit(
            X[train], y[train], groups=groups[train], sample_weight=w[train])
        np.testing.assert_array_equal(fitted.group_weights_, direct.group_weights_)
        assert fitted.groups_[0] == "a" and fitted.group_weights_[0] > 0.6  # about 5 / 7


# ---------------------------------------------------------------------------
# Group-balanced minibatches
# ---------------------------------------------------------------------------
def test_balanced_batches_draw_groups_equally():
    from pergdro_sklearn._train.loop import Trainer
    from pergdro_sklearn._train.weighting import GroupWeighting

    group_index = torch.as_tensor(np.repeat([0, 1, 2], [2700, 270, 30]))
    trainer = Trainer(None, None, GroupWeighting(), None, 100, 3, balanced=True,
                      shuffle_generator=torch.Generator().manual_seed(0))
    drawn = torch.cat(trainer.batches(3000, group_index))
    shares = np.bincount(group_index[drawn].numpy(), minlength=3) / 3000
    np.testing.assert_allclose(shares, 1 / 3, atol=0.03)


def test_balanced_batch_objective_is_unchanged():
    """With groups drawn equally, the importance weights restore the nominal objective."""
    from pergdro_sklearn._train.weighting import GroupWeighting, PhiDivergenceWeighting

    nominal = np.array([0.9, 0.09, 0.01])
    group_index = torch.as_tensor([0, 0, 1, 1, 2, 2])  # a balanced batch
    losses = torch.as_tensor([1.0, 2.0, 3.0, 5.0, 7.0, 11.0])
    means = np.array([1.5, 4.0, 9.0])
    erm = GroupWeighting()
    erm.start(nominal, sampling=np.full(3, 1 / 3))
    np.testing.assert_allclose(float(erm.batch_objective(losses, group_index)), nominal @ means,
                               rtol=1e-6)
    phi = PhiDivergenceWeighting(0.5, "kl", 0.5)
    phi.start(nominal, sampling=np.full(3, 1 / 3))
    phi.set_weights(np.array([0.2, 0.3, 0.5]))
    np.testing.assert_allclose(float(phi.batch_objective(losses, group_index)),
                               np.array([0.2, 0.3, 0.5]) @ means, rtol=1e-6)


@pytest.mark.parametrize("cls", [PerGDROClassifier, GroupDROClassifier])
def test_balanced_batches_fit(cls, shifted):
    a = cls(balanced_batches=True, **FAST).fit(shifted.X_train, shifted.y_train,
                                                groups=shifted.groups_train)
    b = cls(**FAST).fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert a.n_iter_ == 3
    assert not np.allclose(a.predict_proba(shifted.X_test), b.predict_proba(shifted.X_test))


# ---------------------------------------------------------------------------
# Bring your own module
# ---------------------------------------------------------------------------
def two_layer(n_features, n_outputs):
    return torch.nn.Sequential(torch.nn.Linear(n_features, 12), torch.nn.Tanh(),
                               torch.nn.Linear(12, n_outputs))


class ScaledByMax(torch.nn.Module):
    """Reads a value out of the batch (``float``), which vmap cannot batch."""

    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)

    def forward(self, x):
        return self.linear(x) / max(1.0, float(x.abs().max()))


@pytest.mark.parametrize("cls", ALL)
def test_module_factory(cls, small_classification):
    X, y, groups = small_classification
    y = y if cls._is_classifier_flag else y.astype(float)
    a = cls(module=two_layer, **FAST).fit(X, y, groups=groups)
    assert isinstance(a.module_, torch.nn.Sequential) and a.module_[0].out_features == 12
    b = cls(module=two_layer, **FAST).fit(X, y, groups=groups)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))  # seeded by random_state
    c = cls(module=two_layer, **{**FAST, "random_state": 1}).fit(X, y, groups=groups)
    assert not np.allclose(a.module_[0].weight.detach(), c.module_[0].weight.detach())


def test_module_factory_errors(small_classification):
    X, y, groups = small_classification
    with pytest.raises(ValueError, match="expected \\(2, 2\\)"):
        PerGDROClassifier(module=lambda d, k: torch.nn.Linear(d, 5), **FAST).fit(
            X, y, groups=groups)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        PerGDROClassifier(module=lambda d, k: "net", **FAST).fit(X, y, groups=groups)
    est = PerGDROClassifier(module=two_layer, **FAST).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="default MLP"):
        est.risk_bound(X, y, groups)


def test_batched_custom_module_equals_sequential(shifted):
    from pergdro_sklearn._estimators.batched import fit_candidates

    params = [dict(rho=0.0, epsilon=0.0), dict(rho=1.0, epsilon=np.array([0, 0, 0.5, 1.0]))]
    common = dict(module=two_layer, max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*cannot be batched")  # no fallback
        batched = fit_candidates(PerGDROClassifier(**common), params, shifted.X_train,
                                 shifted.y_train, shifted.groups_train)
    for p, est in zip(params, batched):
        seq = PerGDROClassifier(**common, **p).fit(shifted.X_train, shifted.y_train,
                                                  groups=shifted.groups_train)
        np.testing.assert_allclose(est.predict_proba(shifted.X_test),
                                   seq.predict_proba(shifted.X_test), atol=1e-4)


def test_unbatchable_module_falls_back_to_sequential_and_says_so(shifted):
    from pergdro_sklearn._estimators.batched import fit_candidates

    params = [dict(rho=0.0, epsilon=0.0), dict(rho=1.0, epsilon=0.5)]
    common = dict(module=ScaledByMax, max_iter=2, random_state=0)
    with pytest.warns(UserWarning, match="one after another"):
        fitted = fit_candidates(PerGDROClassifier(**common), params, shifted.X_train,
                                shifted.y_train, shifted.groups_train)
    seq = PerGDROClassifier(**common, **params[1]).fit(shifted.X_train, shifted.y_train,
                                                      groups=shifted.groups_train)
    np.testing.assert_array_equal(fitted[1].predict_proba(shifted.X_test),
                                  seq.predict_proba(shifted.X_test))


# ---------------------------------------------------------------------------
# Sparse X
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ALL)
def test_sparse_X_trains_as_dense(cls, small_classification):
    import scipy.sparse as sp

    X, y, groups = small_classification
    y = y if cls._is_classifier_flag else y.astype(float)
    X = np.where(np.abs(X) < 0.7, 0.0, X)
    dense = cls(**FAST).fit(X, y, groups=groups)
    sparse = cls(**FAST).fit(sp.csr_matrix(X), y, groups=groups)
    np.testing.assert_allclose(sparse.predict(sp.csr_matrix(X)), dense.predict(X), atol=1e-6)
    assert isinstance(sparse.predict(sp.csc_matrix(X)), np.ndarray)


def test_sparse_X_stays_sparse_in_training_data(small_classification):
    import scipy.sparse as sp

    X, y, groups = small_classification
    est = PerGDROClassifier(**FAST)
    data = est._prepare_data(sp.csr_matrix(X), y, groups, None, warm=False)
    assert sp.issparse(data.X) and data.X.dtype == np.float32


# ---------------------------------------------------------------------------
# alpha as in MLPClassifier
# ---------------------------------------------------------------------------
def test_alpha_matches_mlpclassifier():
    """Logistic regression (no hidden layer, full batch): both reach the same optimum
    of ``mean loss + alpha / 2 * ||W||^2 / n``; a weight decay of alpha would not."""
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = np.argmax(X @ rng.normal(size=(3, 3)) * 3 + rng.normal(size=(150, 3)), axis=1)
    sk = MLPClassifier((), alpha=5.0, solver="lbfgs", max_iter=5000, tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = PerGDROClassifier((), rho=0.0, epsilon=0.0, alpha=5.0, batch_size=150,
                                 max_iter=400, learning_rate_init=0.1, random_state=0).fit(X, y)
    W = ours.module_.layers[0].weight.detach().numpy().T
    free = MLPClassifier((), alpha=0.0, solver="lbfgs", max_iter=5000).fit(X, y)
    assert np.linalg.norm(sk.coefs_[0]) < 0.5 * np.linalg.norm(free.coefs_[0])  # it bites
    # Adam in float32 stops within a few 1e-4 of lbfgs' optimum (1.5e-4 seen under load);
    # (a weight decay of alpha would penalise n = 150 times harder: a different optimum)
    np.testing.assert_allclose(W, sk.coefs_[0], atol=1e-3)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-3)


# ---------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------
def test_verbose_2_shows_a_tqdm_bar(small_classification, capsys):
    pytest.importorskip("tqdm")
    X, y, groups = small_classification
    PerGDROClassifier(verbose=2, **FAST).fit(X, y, groups=groups)
    captured = capsys.readouterr()
    assert "Iteration" not in captured.out
    assert "3/3" in captured.err and "epoch" in captured.err


def test_verbose_2_without_tqdm_prints_lines(small_classification, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, y, groups = small_classification
    with pytest.warns(UserWarning, match="tqdm"):
        PerGDROClassifier(verbose=2, **FAST).fit(X, y, groups=groups)
    assert "Iteration 3, loss = " in capsys.readouterr().out


@pytest.mark.parametrize("cls", ALL)
def test_early_stopping_loss_average_follows_the_row_weighted_mean(cls, shifted):
    """``early_stopping_loss="average"`` monitors the holdout's mean loss (each group
    weighted by its holdout rows), not the worst group's, and keeps its best epoch."""
    y = shifted.y_train if cls._is_classifier_flag else shifted.y_train.astype(float)
    fit = (shifted.X_train, y)
    est = cls(**ES, early_stopping_loss="average").fit(*fit, groups=shifted.groups_train)
    worst = cls(**ES, early_stopping_loss="worst_group").fit(*fit, groups=shifted.groups_train)
    curve = np.asarray(est.validation_group_loss_curve_)
    # the holdout's rows per group, from the same split the estimator made
    from sklearn.utils import check_random_state

    from pergdro_sklearn._constants import SEED_MAX
    from pergdro_sklearn._splits import stratified_holdout
    labels, group_index = np.unique(shifted.groups_train, return_inverse=True)
    strata = y if cls._is_classifier_flag else np.zeros(y.shape[0])
    seed = check_random_state(ES["random_state"]).randint(SEED_MAX, size=4)[3]
    holdout = stratified_holdout(group_index, strata, ES["validation_fraction"],
                                 np.random.RandomState(seed))
    share = np.bincount(group_index[holdout], minlength=labels.size) / holdout.sum()
    np.testing.assert_allclose(est.validation_scores_, curve @ share, rtol=1e-6)
    assert not np.allclose(est.validation_scores_, curve.max(axis=1))
    assert est.best_loss_ == min(est.validation_scores_)
    assert est.validation_scores_[est.best_epoch_ - 1] == est.best_loss_
    # a different quantity followed: a different epoch kept on this data
    assert (est.best_epoch_, est.n_iter_) != (worst.best_epoch_, worst.n_iter_)


def test_early_stopping_loss_rejects_unknown_names(shifted):
    with pytest.raises(ValueError, match="early_stopping_loss"):
        PerGDROClassifier(**ES, early_stopping_loss="median").fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)


@pytest.mark.parametrize("cls", ALL)
def test_early_stopping_loss_auto_follows_the_aggregate_each_network_trains(cls, shifted):
    """``"auto"``: the average for ERM, the worst group's for a network with an
    adversary (``rho > 0``, a positive epsilon, GroupDRO); the fit is then the same
    as with that choice made explicitly."""
    y = shifted.y_train if cls._is_classifier_flag else shifted.y_train.astype(float)
    fit = (shifted.X_train, y)
    if "rho" in cls().get_params():  # ERM, within-group radius only, both adversaries
        settings = [({"rho": 0.0, "epsilon": 0.0}, False), ({"rho": 0.0, "epsilon": 0.2}, True),
                    ({}, True)]
    else:  # GroupDRO
        settings = [({}, True)]
    for extra, adversarial in settings:
        auto = cls(**ES, **extra, early_stopping_loss="auto").fit(
            *fit, groups=shifted.groups_train)
        same = cls(**ES, **extra, early_stopping_loss=(
            "worst_group" if adversarial else "average")).fit(*fit, groups=shifted.groups_train)
        np.testing.assert_allclose(auto.validation_scores_, same.validation_scores_)
        assert auto.best_epoch_ == same.best_epoch_
        np.testing.assert_allclose(auto.predict(shifted.X_test), same.predict(shifted.X_test))


@pytest.mark.parametrize("cls", [PerGDROClassifier, PerGDRORegressor])
def test_early_stopping_loss_default_stops_erm_on_the_average(cls, shifted):
    """By default ERM follows the holdout's average loss, not its worst group's."""
    y = shifted.y_train if cls._is_classifier_flag else shifted.y_train.astype(float)
    fit = (shifted.X_train, y)
    erm = dict(ES, rho=0.0, epsilon=0.0)
    default = cls(**erm).fit(*fit, groups=shifted.groups_train)
    average = cls(**erm, early_stopping_loss="average").fit(*fit, groups=shifted.groups_train)
    worst = cls(**erm, early_stopping_loss="worst_group").fit(*fit, groups=shifted.groups_train)
    np.testing.assert_allclose(default.validation_scores_, average.validation_scores_)
    assert not np.allclose(default.validation_scores_[:len(worst.validation_scores_)],
                           worst.validation_scores_[:len(default.validation_scores_)])


def test_early_stopping_loss_auto_per_candidate_in_a_batch(shifted):
    """Batched candidates with and without the adversary each follow their own
    aggregate, as when fitted one by one."""
    params = [{"rho": 0.0, "epsilon": 0.0}, {"rho": 1.0, "epsilon": 0.0}]
    lead = PerGDROClassifier(**ES, early_stopping_loss="auto")
    batched = lead._fit_batched(params, shifted.X_train, shifted.y_train,
                                groups=shifted.groups_train)
    for est, p in zip(batched, params):
        alone = clone(lead).set_params(**p).fit(shifted.X_train, shifted.y_train,
                                                groups=shifted.groups_train)
        assert est.best_epoch_ == alone.best_epoch_
        np.testing.assert_allclose(est.validation_scores_, alone.validation_scores_,
                                   rtol=1e-4)
