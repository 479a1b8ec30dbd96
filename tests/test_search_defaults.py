"""The default search: baselines in the pool, the paired pick, halving and the fast network."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import (
    EnsembleSelectionClassifier,
    GroupDROClassifier,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn._constants import EARLY_STOPPING_AUTO_MIN_ROWS
from pergdro_sklearn._search import selection as selection_module
from pergdro_sklearn._search.baselines import group_balanced_weights, resolve_baselines
from pergdro_sklearn._search.pick import _refit_seeds
from pergdro_sklearn._search.selection import (
    error_evidence,
    hedge_with_erm,
    paired_bootstrap,
    select_paired_se,
    validation_row_losses,
)
from pergdro_sklearn._train.loop import default_batch_size

NET = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
SMALL = dict(n_iter=4, n_initial_points=4, random_state=0)


def test_defaults_are_the_fast_search():
    search = PerGDROSearchCV(PerGDROClassifier())
    assert (search.n_iter, search.n_initial_points, search.n_points) == (16, 8, 8)
    assert search.selection == "hedged" and search.refit_seeds == 3
    assert search.baselines == "auto" and search._halving() == 3.0
    assert PerGDROSearchCV(PerGDROClassifier(), batch_candidates=1)._halving() is None
    assert PerGDROClassifier().early_stopping == "auto"


def test_baselines_are_rows_after_the_candidates_and_never_told_to_the_optimiser(data):
    X, y, groups = data
    search = PerGDROSearchCV(PerGDROClassifier(**NET), **SMALL).fit(X, y, groups=groups)
    results = search.cv_results_
    models = results["param_model"].tolist()
    assert models[:4] == ["per_gdro"] * 4
    assert models[4:] == ["group_dro", "hist_gradient_boosting",
                          "hist_gradient_boosting_balanced", "linear"]
    assert np.isnan(results["param_rho"][4:]).all()
    assert np.isfinite(results["mean_test_objective"]).all()
    assert len(search.optimizer_result_.func_vals) == 4  # the candidates only
    assert results["params"][5] == {"model": "hist_gradient_boosting"}


def test_a_clearly_better_baseline_is_picked_and_refit_on_all_rows():
    # A target the network with 3 epochs cannot learn, and trees can: a threshold.
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 2))
    y = (np.abs(X[:, 0]) > 0.5).astype(int)
    groups = np.repeat(["a", "b"], [250, 150])
    search = PerGDROSearchCV(PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=2,
                                               random_state=0),
                             baselines=["hist_gradient_boosting"], **SMALL)
    search.fit(X, y, groups=groups)
    assert search.best_params_ == {"model": "hist_gradient_boosting"}
    assert isinstance(search.best_estimator_, HistGradientBoostingClassifier)
    assert search.best_estimator_.n_features_in_ == 2
    assert search.best_estimator_.predict(X).mean() == pytest.approx(y.mean(), abs=0.05)
    assert search.score(X, y) > 0.9


def test_baselines_none_keeps_only_the_candidates(data):
    X, y, groups = data
    search = PerGDROSearchCV(PerGDROClassifier(**NET), baselines=None, **SMALL)
    search.fit(X, y, groups=groups)
    assert set(search.cv_results_["param_model"]) == {"per_gdro"}


def test_a_user_baseline_pair_is_scored_inside_the_pipeline(data):
    X, y, groups = data
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**NET))
    search = PerGDROSearchCV(pipe, baselines=[("lr", LogisticRegression(C=0.1))], **SMALL)
    search.fit(X, y, groups=groups)
    assert search.cv_results_["param_model"][-1] == "lr"
    if search.best_params_ == {"model": "lr"}:
        assert isinstance(search.best_estimator_[-1], LogisticRegression)


@pytest.mark.parametrize("baselines, match", [
    (["trees"], "Unknown baseline"),
    ([("per_gdro", LogisticRegression())], "is taken"),
    ([("lr", LogisticRegression()), ("lr", LogisticRegression())], "twice"),
    ([42], "baselines must be"),
])
def test_bad_baselines_are_value_errors(baselines, match):
    with pytest.raises(ValueError, match=match):
        resolve_baselines(baselines, PerGDROClassifier())


def test_a_regressor_baseline_for_a_classifier_is_an_error():
    from sklearn.linear_model import Ridge

    with pytest.raises(ValueError, match="is a regressor"):
        resolve_baselines([("ridge", Ridge())], PerGDROClassifier())


def test_robust_objective_and_scorers_take_no_automatic_baselines(data):
    X, y, groups = data
    search = PerGDROSearchCV(PerGDROClassifier(**NET), objective="robust", **SMALL)
    search.fit(X, y, groups=groups)
    assert set(search.cv_results_["param_model"]) == {"per_gdro"}
    with pytest.raises(ValueError, match="baselines cannot be scored"):
        PerGDROSearchCV(PerGDROClassifier(**NET), objective="robust", baselines=["linear"],
                        **SMALL).fit(X, y, groups=groups)


def test_sparse_rows_leave_the_trees_out():
    names = [b.name for b in resolve_baselines("auto", PerGDRORegressor(), sparse=True)]
    assert names == ["group_dro", "linear"]


def test_group_balanced_weights_give_each_group_the_same_total():
    groups = np.array(["a"] * 6 + ["b"] * 2 + ["c"])
    w = group_balanced_weights(groups)
    totals = [w[groups == g].sum() for g in "abc"]
    np.testing.assert_allclose(totals, totals[0])
    assert w.mean() == pytest.approx(1.0)


def test_paired_se_rejects_a_candidate_that_costs_the_average():
    # Candidate 1 is as good on the worst group but worse on average by a margin the
    # paired bootstrap sees; candidate 2 is the same as candidate 0 plus tiny noise.
    rng = np.random.RandomState(0)
    n = 400
    groups = np.repeat([0, 1], [300, 100])
    base = rng.exponential(0.5, size=n)
    losses = np.stack([base, base + np.where(groups == 0, 0.2, 0.0),
                       base + rng.normal(0, 0.01, size=n)])
    worst, average = paired_bootstrap(losses, losses, groups, 2, 200, 0)
    point_worst = [max(losses[c][groups == g].mean() for g in (0, 1)) for c in range(3)]
    point_avg = losses.mean(axis=1)
    reach = [0.0, 2.0, 1.0]
    pick = select_paired_se(point_worst, point_avg, worst, average, reach, [True] * 3)
    assert pick == 2  # the most robust one that costs nothing measurable
    # without candidate 2, the costly robust candidate is still refused
    pick = select_paired_se(point_worst, point_avg, worst, average, reach,
                            [True, True, False])
    assert pick == 0


def test_paired_standard_error_is_smaller_than_the_unpaired_one():
    rng = np.random.RandomState(1)
    groups = np.zeros(500, dtype=int)
    base = rng.exponential(1.0, size=500)
    losses = np.stack([base, base + 0.01])
    worst, _ = paired_bootstrap(losses, losses, groups, 1, 300, 0)
    paired = (worst[:, 1] - worst[:, 0]).std()
    unpaired = np.sqrt(2) * base.std() / np.sqrt(500)
    assert paired < unpaired / 10


def test_validation_row_losses_are_cross_entropy_and_errors():
    proba = np.array([[[0.9, 0.1], [0.2, 0.8]]])
    objective_rows, loss = validation_row_losses(proba, np.array([0, 0]), "classification",
                                                 "worst_group_error")
    np.testing.assert_allclose(loss[0], [-np.log(0.9), -np.log(0.2)])
    np.testing.assert_array_equal(objective_rows[0], [0.0, 1.0])
    values = np.array([[[1.0], [3.0]]])
    rows, _ = validation_row_losses(values, np.array([0.0, 1.0]), "regression")
    np.testing.assert_allclose(rows[0], [1.0, 4.0])


def test_auto_batch_size_grows_with_the_data():
    assert default_batch_size("auto", 50) == 50
    assert default_batch_size("auto", 5000) == 128
    assert default_batch_size("auto", 30000) == 300
    assert default_batch_size("auto", 10**6) == 1024
    assert default_batch_size(64, 10**6) == 64


def test_auto_early_stopping_starts_at_the_documented_size():
    rng = np.random.RandomState(0)
    n = EARLY_STOPPING_AUTO_MIN_ROWS
    X = rng.normal(size=(n, 2))
    y = (X[:, 0] > 0).astype(int)
    groups = rng.randint(0, 2, size=n)
    big = PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    big.fit(X, y, groups=groups)
    small = PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    small.fit(X[: n - 1], y[: n - 1], groups=groups[: n - 1])
    assert len(big.validation_scores_) == 2  # early stopping held rows out
    assert not small.validation_scores_
    assert big.group_counts_.sum() < n and small.group_counts_.sum() == n - 1


def test_generalization_adjustment_keeps_weight_on_the_small_group():
    # The small group is clean and fitted fast; only the adjustment makes the adversary
    # give it weight.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(330, 2))
    y = (X[:, 0] > 0).astype(int)
    groups = np.repeat([0, 1], [300, 30])
    noisy = rng.uniform(size=330) < np.where(groups == 0, 0.3, 0.0)  # the large group is
    y[noisy] = 1 - y[noisy]  # the hard one: without the adjustment the ball avoids group 1
    kw = dict(hidden_layer_sizes=(8,), max_iter=5, rho=1.0, epsilon=0.0, random_state=0)
    plain = PerGDROClassifier(**kw).fit(X, y, groups=groups)
    adjusted = PerGDROClassifier(generalization_adjustment=2.0, **kw).fit(X, y, groups=groups)
    assert adjusted.group_weights_[1] > plain.group_weights_[1] + 0.05
    zero = PerGDROClassifier(generalization_adjustment=0.0, **kw).fit(X, y, groups=groups)
    np.testing.assert_allclose(zero.group_weights_, plain.group_weights_)


def test_group_balanced_weights_of_one_hot_memberships_are_those_of_the_labels():
    from pergdro_sklearn import Memberships

    labels = np.array([0, 0, 0, 1, 2, 2])
    one_hot = Memberships(np.eye(3)[labels])
    np.testing.assert_allclose(group_balanced_weights(one_hot), group_balanced_weights(labels))
    overlapping = Memberships(np.array([[1, 1], [1, 0], [1, 0], [0, 1]], dtype=float))
    # each (row, group) pair weighs n / (G * M_g); a row sums its pairs
    np.testing.assert_allclose(group_balanced_weights(overlapping),
                               [4 / (2 * 3) + 4 / (2 * 2), 4 / 6, 4 / 6, 4 / 4])


def test_a_pipeline_with_sparse_output_leaves_the_trees_out_silently():
    import warnings

    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.RandomState(0)
    X = rng.randint(0, 4, size=(200, 3))
    y = (X[:, 0] > 1).astype(int)
    groups = np.repeat(["a", "b"], [120, 80])
    pipe = make_pipeline(OneHotEncoder(sparse_output=True),
                         PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = PerGDROSearchCV(pipe, **SMALL).fit(X, y, groups=groups)
    assert list(search.cv_results_["param_model"][4:]) == ["group_dro", "linear"]
    assert not [w for w in caught if "baseline" in str(w.message)]


def _hedge_data():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 3)
    groups = rng.randint(0, 3, 400)
    y = (X[:, 0] + 0.5 * groups + rng.randn(400) > 0).astype(int)
    return X, y, groups


HEDGE_NET = dict(hidden_layer_sizes=(8,), max_iter=40, random_state=0)
HEDGE_SEARCH = dict(n_iter=4, n_initial_points=2, n_points=2, random_state=0)


def test_hedged_averages_the_pick_with_erm_at_equal_weights(monkeypatch):
    monkeypatch.setattr(selection_module, "HEDGE_MARGIN", None)  # always average
    # paired_se's pick is made a robust candidate (row 1) whatever these data say
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 1)
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=None, refit_seeds=1,
                             **HEDGE_SEARCH)
    search.fit(X, y, groups=groups)
    pick = int(search.pick_candidates("paired_se")[0][0])
    assert pick == 1 and search.cv_results_["param_rho"][1] > 0
    assert search.selected_indices_.tolist() == [pick, 0]
    assert search.selected_weights_.tolist() == [0.5, 0.5]
    assert search.best_index_ == pick
    params = search.cv_results_["params"]
    assert search.best_params_["rho"] == params[pick]["rho"]
    final = search.best_estimator_
    assert isinstance(final, EnsembleSelectionClassifier)
    # the members are the pick and ERM refit on all rows, averaged half and half
    expected = np.mean([PerGDROClassifier(**HEDGE_NET).set_params(**params[row]).fit(
        X, y, groups=groups).predict_proba(X) for row in (pick, 0)], axis=0)
    np.testing.assert_allclose(search.predict_proba(X), expected, atol=1e-6)


def test_hedged_returns_the_pick_alone_when_it_clearly_beats_erm(monkeypatch):
    monkeypatch.setattr(selection_module, "HEDGE_MARGIN", -np.inf)  # any pick is clear
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 1)
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=None, refit_seeds=1,
                             **HEDGE_SEARCH)
    search.fit(X, y, groups=groups)
    assert search.selected_indices_.tolist() == [1]
    assert isinstance(search.best_estimator_, PerGDROClassifier)


def test_the_default_refit_averages_three_seeds_of_each_hedged_network(monkeypatch):
    monkeypatch.setattr(selection_module, "HEDGE_MARGIN", None)  # always average
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 1)
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=None, **HEDGE_SEARCH)
    search.fit(X, y, groups=groups)
    assert search.selected_indices_.tolist() == [1, 0]  # the pick and ERM
    final = search.best_estimator_
    assert isinstance(final, EnsembleSelectionClassifier)
    np.testing.assert_allclose(final.weights_, np.full(6, 1 / 6))
    # each row refit with the estimator's seed and two seeds derived from it
    seeds = [0] + _refit_seeds(0, 3)[1:]
    assert len(set(seeds)) == 3
    params = search.cv_results_["params"]
    expected = np.mean([PerGDROClassifier(**HEDGE_NET).set_params(
        **params[row], random_state=seed).fit(X, y, groups=groups).predict_proba(X)
        for row in (1, 0) for seed in seeds], axis=0)
    np.testing.assert_allclose(search.predict_proba(X), expected, atol=1e-6)


def test_hedged_keeps_a_pick_alone_that_is_clearly_more_accurate_than_erm():
    # worst-group objectives: ERM (row 0) 1.0; the SE of a difference to ERM is 0.1
    boot = np.array([[1.0, 1.0], [1.1, 1.0], [0.9, 1.0]])
    errors = np.array([[0.20, 0.15], [0.21, 0.15], [0.19, 0.15]])  # SE 0.01
    # objective level, error 5 points lower (5 SE): the pick alone
    assert hedge_with_erm(1, 0, [1.0, 1.0], boot, 2.0, [0.20, 0.15], errors)[0].tolist() == [1]
    # the same error gain with an objective two SE above ERM's: averaged
    assert hedge_with_erm(1, 0, [1.0, 1.2], boot, 2.0, [0.20, 0.15],
                          errors)[0].tolist() == [1, 0]
    # an error gain within two SE: averaged
    assert hedge_with_erm(1, 0, [1.0, 1.0], boot, 2.0, [0.20, 0.19],
                          errors + [0.0, 0.04])[0].tolist() == [1, 0]
    # without the error evidence only the objective decides
    assert hedge_with_erm(1, 0, [1.0, 1.0], boot, 2.0)[0].tolist() == [1, 0]


def test_error_evidence_is_the_share_of_misclassified_validation_rows():
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=["linear"],
                             **HEDGE_SEARCH).fit(X, y, groups=groups)
    predictions = search.validation_predictions_
    target, group_index = search._validation_target, search._validation_groups
    validation = (predictions, target, group_index, 3, "classification")
    error, resampled = error_evidence(validation, None, None)
    expected = (predictions.argmax(axis=2) != target[None]).mean(axis=1)
    np.testing.assert_allclose(error, expected)
    assert resampled.shape[1] == predictions.shape[0]
    assert np.ptp(resampled[:, 0]) > 0  # bootstrap draws, not copies
    # regressors: the average loss and its draws pass through
    average, draws = np.array([0.3, 0.2]), np.ones((5, 2))
    out = error_evidence((None, None, None, 2, "regression"), average, draws)
    assert out[0] is average and out[1] is draws


def test_the_hedged_pick_reads_the_error_evidence(monkeypatch):
    seen = {}

    def spy(index, erm, worst, resampled_worst, margin, error=None, resampled_error=None):
        seen.update(error=error, margin=margin)
        return np.array([int(index)]), np.array([1.0])

    monkeypatch.setattr(selection_module, "hedge_with_erm", spy)
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=None,
                             **HEDGE_SEARCH).fit(X, y, groups=groups)
    validation = (search.validation_predictions_, search._validation_target,
                  search._validation_groups, 3, "classification")
    np.testing.assert_allclose(seen["error"], error_evidence(validation, None, None)[0])
    assert seen["margin"] == 2.0


def test_a_hedged_baseline_and_erm_share_one_pipeline_prefix(monkeypatch):
    monkeypatch.setattr(selection_module, "HEDGE_MARGIN", None)
    rng = np.random.RandomState(0)
    X = rng.randn(600, 2)
    groups = rng.randint(0, 2, 600)
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)  # trees learn it, the small net not
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(
        hidden_layer_sizes=(8,), max_iter=15, random_state=0))
    search = PerGDROSearchCV(pipe, baselines=["hist_gradient_boosting"], **HEDGE_SEARCH)
    search.fit(X, y, groups=groups)
    assert search.best_params_ == {"model": "hist_gradient_boosting"}
    final = search.best_estimator_[-1]
    assert isinstance(final, EnsembleSelectionClassifier)
    members = [type(m[1] if isinstance(m, tuple) else m) for m in final.estimators_]
    # the tree refit once, ERM with the default three seeds, half the weight each
    assert members == [HistGradientBoostingClassifier] + [PerGDROClassifier] * 3
    np.testing.assert_allclose(final.weights_, [0.5, 1 / 6, 1 / 6, 1 / 6])
    Xt = search.best_estimator_[:-1].transform(X)
    expected = np.tensordot(final.weights_, [m.predict_proba(Xt) for m in final.estimators_],
                            axes=1)
    np.testing.assert_allclose(search.predict_proba(X), expected, atol=1e-6)


def _group_dro_seeds(X, y, groups, seeds):
    """GroupDRO as the search's baseline builds it, fitted once per seed."""
    template = resolve_baselines(["group_dro"], PerGDROClassifier(**HEDGE_NET))[0].estimator
    return [clone(template).set_params(random_state=seed).fit(X, y, groups=groups)
            for seed in seeds]


def test_a_picked_group_dro_alone_is_refit_with_three_seeds(monkeypatch, capsys):
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 4)
    monkeypatch.setattr(selection_module, "hedge_with_erm",  # the pick stands alone
                        lambda index, *args: (np.array([index]), np.array([1.0])))
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=["group_dro"],
                             verbose=1, **HEDGE_SEARCH).fit(X, y, groups=groups)
    assert ("Refitting the baseline 'group_dro' on all 400 rows (3 networks, "
            "refit_seeds=3)." in capsys.readouterr().out)
    assert search.cv_results_["param_model"][4] == "group_dro"
    assert search.best_params_ == {"model": "group_dro"}
    final = search.best_estimator_
    assert isinstance(final, EnsembleSelectionClassifier)
    assert [type(m) for m in final.estimators_] == [GroupDROClassifier] * 3
    np.testing.assert_allclose(final.weights_, np.full(3, 1 / 3))
    # GroupDRO's own seed, then the two the searched networks are refit with
    seeds = [0] + _refit_seeds(0, 3)[1:]
    assert [m.random_state for m in final.estimators_] == seeds
    expected = np.mean([m.predict_proba(X) for m in _group_dro_seeds(X, y, groups, seeds)],
                       axis=0)
    np.testing.assert_allclose(search.predict_proba(X), expected, atol=1e-6)


def test_group_dro_hedged_with_erm_averages_three_seeds_of_each(monkeypatch):
    monkeypatch.setattr(selection_module, "HEDGE_MARGIN", None)  # always average
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 4)
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=["group_dro"],
                             **HEDGE_SEARCH).fit(X, y, groups=groups)
    assert search.selected_indices_.tolist() == [4, 0]  # GroupDRO and ERM
    final = search.best_estimator_
    assert ([type(m) for m in final.estimators_]
            == [GroupDROClassifier] * 3 + [PerGDROClassifier] * 3)
    np.testing.assert_allclose(final.weights_, np.full(6, 1 / 6))
    seeds = [0] + _refit_seeds(0, 3)[1:]
    erm = [PerGDROClassifier(**HEDGE_NET).set_params(
        **search.cv_results_["params"][0], random_state=seed).fit(X, y, groups=groups)
        for seed in seeds]
    expected = np.mean([m.predict_proba(X) for m in _group_dro_seeds(X, y, groups, seeds)
                        + erm], axis=0)
    np.testing.assert_allclose(search.predict_proba(X), expected, atol=1e-6)


def test_refit_seeds_one_refits_a_picked_group_dro_as_one_network(monkeypatch):
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 4)
    monkeypatch.setattr(selection_module, "hedge_with_erm",
                        lambda index, *args: (np.array([index]), np.array([1.0])))
    X, y, groups = _hedge_data()
    search = PerGDROSearchCV(PerGDROClassifier(**HEDGE_NET), baselines=["group_dro"],
                             refit_seeds=1, **HEDGE_SEARCH).fit(X, y, groups=groups)
    assert isinstance(search.best_estimator_, GroupDROClassifier)
    expected = _group_dro_seeds(X, y, groups, [0])[0].predict_proba(X)
    np.testing.assert_allclose(search.predict_proba(X), expected, atol=1e-6)
