"""Successive halving: the rungs, a batched run that drops candidates, and the search."""

import json
import re

import numpy as np
import pytest
import torch
from sklearn.model_selection import PredefinedSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import PerGDROClassifier, PerGDRORegressor, PerGDROSearchCV
from pergdro_sklearn._search.halving import (
    is_reference,
    n_survivors,
    reach_ranks,
    rung_epochs,
    rung_threshold,
    survivors,
)
from pergdro_sklearn._search.records import EvaluationRecord, check_record

PARAMS = [
    dict(rho=0.0, epsilon=0.0),
    dict(rho=0.5, epsilon=np.array([0.1, 0.1, 0.1, 0.4])),
    dict(rho=1.0, epsilon=np.array([0.3, 0.3, 0.3, 1.0])),
    dict(rho=0.2, epsilon=np.array([0.5, 0.0, 0.2, 0.8])),
    dict(rho=2.0, epsilon=0.0),
]


# --------------------------------------------------------------------------
# The rungs
# --------------------------------------------------------------------------
def test_rung_epochs_end_at_max_iter_and_increase():
    for max_iter in (1, 2, 5, 30, 100, 101):
        for factor in (1.5, 2, 3, 4.5):
            for n_rungs in (2, 3, 5):
                epochs = rung_epochs(max_iter, factor, n_rungs)
                assert epochs[-1] == max_iter
                assert all(a < b for a, b in zip(epochs, epochs[1:]))
                assert 1 <= len(epochs) <= n_rungs
    assert rung_epochs(100, 3, 3) == [12, 34, 100]
    assert rung_epochs(100, 2, 2) == [50, 100]


def test_survivors_keep_the_best_fraction_and_the_protected():
    objectives = [0.9, 0.1, np.nan, 0.4, 0.3, 0.2, 0.8]
    kept = survivors(objectives, 3)
    assert kept.tolist() == [1, 4, 5]  # ceil(7 / 3) = 3 lowest, in their original order
    # NaN (a failed score) ranks last, even with a factor that keeps all but one
    assert 2 not in survivors(objectives, 7 / 6).tolist()
    # protected candidates continue on top of the best ones, whatever their objective
    protected = np.zeros(7, dtype=bool)
    protected[0] = True
    assert survivors(objectives, 3, protected).tolist() == [0, 1, 4, 5]
    assert survivors([5.0], 3).tolist() == [0]  # never empty
    # candidates at or under the threshold continue too; a NaN threshold is ignored
    assert survivors(objectives, 3, threshold=0.4).tolist() == [1, 3, 4, 5]
    assert survivors(objectives, 3, threshold=np.nan).tolist() == [1, 4, 5]


def test_survivors_by_reach_keep_the_best_of_each_stratum():
    objectives = [0.1, 0.2, 0.3, 0.9, 0.8, 0.7]
    reach = [1, 2, 3, 4, 5, 6]
    # two strata (ceil(6 / 3) = 2), reach 1-3 and 4-6: the best of each continues
    assert survivors(objectives, 3, reach=reach).tolist() == [0, 5]
    # without reach: the two best overall, both of small reach
    assert survivors(objectives, 3).tolist() == [0, 1]
    # the protected candidate is outside the strata
    assert survivors(objectives, 3, protected=[1, 0, 0, 0, 0, 0],
                     reach=reach).tolist() == [0, 1, 5]


def test_reach_ranks_count_both_radii():
    params = [dict(rho=0.0, epsilon=np.zeros(2)), dict(rho=2.0, epsilon=np.zeros(2)),
              dict(rho=0.0, epsilon=np.ones(2)), dict(rho=2.0, epsilon=np.ones(2))]
    ranks = reach_ranks(params)
    assert ranks[0] < ranks[1] == ranks[2] < ranks[3]


def test_rung_threshold_is_the_one_se_band():
    objectives = [0.5, 0.2, np.nan, 0.3]
    errors = [0.05, 0.04, 0.1, 0.2]
    assert rung_threshold(objectives, errors, [False] * 4) == pytest.approx(0.24)
    # with ERM in the batch: the larger of the two bands
    assert rung_threshold(objectives, errors, [True, False, False, False]) == pytest.approx(0.55)
    assert rung_threshold([np.nan, np.nan], [0.1, 0.1], [False, False]) is None
    assert n_survivors(1, 3) == 1 and n_survivors(16, 3) == 6


def test_is_reference_is_erm_only():
    assert is_reference(dict(rho=0.0, epsilon=0.0))
    assert is_reference(dict(rho=0.0, epsilon=np.zeros(3)))
    assert not is_reference(dict(rho=0.0, epsilon=np.array([0.0, 0.1])))
    assert not is_reference(dict(rho=0.1, epsilon=0.0))


# --------------------------------------------------------------------------
# A batched run that drops candidates
# --------------------------------------------------------------------------
def _outputs(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("options", [
    dict(),
    dict(solver="sgd", learning_rate_init=0.05),
    dict(early_stopping=True, n_iter_no_change=2),
    dict(module="factory"),
], ids=["adam", "sgd", "early_stopping", "module"])
def test_dropping_candidates_leaves_the_kept_ones_as_if_trained_alone(shifted, options):
    options = dict(options)
    if options.get("module") == "factory":
        options["module"] = _small_module
    est = PerGDROClassifier(hidden_layer_sizes=(16,), max_iter=10, random_state=0,
                            attack="pgd", **options)
    data = (shifted.X_train, shifted.y_train, shifted.groups_train)
    run = est._start_batched(PARAMS, *data)
    run.train_to(4)
    assert run.epochs == 4 and run.active.tolist() == [0, 1, 2, 3, 4]
    run.keep([1, 3])
    assert run.active.tolist() == [1, 3]
    run.train_to(10)
    kept = run.estimators(final=True)
    alone = est._fit_batched([PARAMS[1], PARAMS[3]], *data)
    for a, b in zip(kept, alone):
        np.testing.assert_allclose(_outputs(a, shifted.X_test), _outputs(b, shifted.X_test),
                                   atol=1e-6)
        np.testing.assert_allclose(a.group_weights_, b.group_weights_, atol=1e-6)
        np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-5)
        assert a.n_iter_ == b.n_iter_
        assert a.get_params()["rho"] == b.get_params()["rho"]


def _small_module(n_features, n_outputs):
    return torch.nn.Sequential(torch.nn.Linear(n_features, 8), torch.nn.Tanh(),
                               torch.nn.Linear(8, n_outputs))


def test_estimators_mid_run_are_new_fitted_copies(shifted):
    est = PerGDRORegressor(hidden_layer_sizes=(8,), max_iter=6, random_state=0)
    y = shifted.y_train.astype(float)
    run = est._start_batched(PARAMS[:3], shifted.X_train, y, shifted.groups_train)
    run.train_to(2)
    early = run.estimators()
    assert [e.n_iter_ for e in early] == [2, 2, 2]
    before = early[1].predict(shifted.X_test)
    run.train_to(6)
    late = run.estimators(final=True)
    assert [e.n_iter_ for e in late] == [6, 6, 6]
    # the early copies did not move with the run
    np.testing.assert_array_equal(early[1].predict(shifted.X_test), before)
    assert not np.allclose(late[1].predict(shifted.X_test), before)
    assert run.finished
    run.train_to(50)  # past max_iter: nothing more
    assert run.epochs == 6


def test_a_run_cannot_drop_every_candidate(shifted):
    est = PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    run = est._start_batched(PARAMS[:2], shifted.X_train, shifted.y_train,
                             shifted.groups_train)
    with pytest.raises(ValueError, match="at least one"):
        run.keep([])


# --------------------------------------------------------------------------
# The search with halving
# --------------------------------------------------------------------------
NET = dict(hidden_layer_sizes=(16,), max_iter=9, random_state=0)


def _holdout(shifted):
    X = np.vstack([shifted.X_train, shifted.X_val])
    y = np.concatenate([shifted.y_train, shifted.y_val])
    groups = np.concatenate([shifted.groups_train, shifted.groups_val])
    cv = PredefinedSplit(np.r_[np.full(len(shifted.y_train), -1),
                               np.zeros(len(shifted.y_val))])
    return X, y, groups, cv


def _search(estimator, cv, **kwargs):
    options = dict(n_iter=12, n_initial_points=12, batch_candidates=12, n_jobs=1,
                   random_state=0, refit=False, halving_factor=3, baselines=None,
                   selection="one_se")
    options.update(kwargs)
    return PerGDROSearchCV(estimator, cv=cv, **options)


def test_search_records_dropped_candidates_and_never_picks_them(shifted):
    X, y, groups, cv = _holdout(shifted)
    search = _search(PerGDROClassifier(**NET), cv).fit(X, y, groups=groups)
    res = search.cv_results_
    dropped, n_epochs = res["dropped"], res["n_epochs"]
    assert rung_epochs(9, 3, 3) == [1, 3, 9]
    assert set(n_epochs.tolist()) <= {1, 3, 9}
    assert dropped.any()
    # ERM (the first candidate) is never dropped
    assert not dropped[0] and n_epochs[0] == 9
    np.testing.assert_array_equal(dropped, n_epochs < 9)
    assert not dropped[search.best_index_]
    # the GP learned from what every candidate reached, dropped ones included
    np.testing.assert_allclose(search.optimizer_result_.func_vals, res["mean_test_objective"])
    assert np.all(np.isfinite(res["mean_test_objective"]))
    assert np.all(res["mean_fit_time"] > 0)


def test_halving_drops_only_what_validation_tells_apart(shifted):
    X, y, groups, cv = _holdout(shifted)
    net = dict(NET, max_iter=27)  # rungs at 3, 9 and 27 epochs
    wide = dict(epsilon_bounds=(0.0, 4.0))  # some radii clearly too large
    assert rung_epochs(27, 3, 3) == [3, 9, 27]
    full = _search(PerGDROClassifier(**net), cv, halving_factor=None, **wide).fit(
        X, y, groups=groups)
    halved = _search(PerGDROClassifier(**net), cv, **wide).fit(X, y, groups=groups)
    # same candidates; the survivors of the last rung are trained exactly as without halving
    np.testing.assert_allclose(full.cv_results_["param_rho"], halved.cv_results_["param_rho"])
    kept = ~halved.cv_results_["dropped"]
    np.testing.assert_allclose(full.cv_results_["mean_test_objective"][kept],
                               halved.cv_results_["mean_test_objective"][kept], rtol=1e-4)
    assert not full.cv_results_["dropped"].any()
    assert np.all(full.cv_results_["n_epochs"] == 27)
    # the candidates dropped at the first rung (epoch 3) are exactly those that are not
    # the best of their stratum of reach, not within one standard error of the best (or
    # of ERM) and not ERM, as scored at epoch 3; and their records hold that score
    one_epoch = _search(PerGDROClassifier(**dict(net, max_iter=3)), cv,
                        halving_factor=None, **wide).fit(X, y, groups=groups)
    at_first = one_epoch.cv_results_["mean_test_objective"]
    errors = one_epoch.cv_results_["std_error_test_objective"]
    erm = np.arange(12) == 0
    expected = np.ones(12, dtype=bool)
    reach = reach_ranks(list(one_epoch.cv_results_["params"]))
    expected[survivors(at_first, 3, protected=erm, threshold=rung_threshold(at_first, errors, erm),
                       reach=reach)] = False
    first = halved.cv_results_["n_epochs"] == 3
    assert first.any()
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_allclose(halved.cv_results_["mean_test_objective"][first],
                               at_first[first], rtol=1e-5)
    # nothing within one standard error of the best was dropped at that rung
    band = rung_threshold(at_first, errors, erm)
    assert np.all(at_first[first] > band)


def test_halving_with_a_pipeline_and_a_resumed_checkpoint(shifted, tmp_path):
    X, y, groups, cv = _holdout(shifted)
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**NET))
    path = tmp_path / "search.json"
    first = _search(pipe, cv, n_iter=12, checkpoint=path).fit(X, y, groups=groups)
    saved = json.loads(path.read_text())
    epochs = [r.get("epochs") for r in saved["evaluations"]]
    assert sum(e is not None for e in epochs) == int(first.cv_results_["dropped"].sum())
    resumed = _search(pipe, cv, n_iter=12, checkpoint=path).fit(X, y, groups=groups)
    np.testing.assert_array_equal(resumed.cv_results_["dropped"], first.cv_results_["dropped"])
    np.testing.assert_allclose(resumed.optimizer_result_.func_vals,
                               first.optimizer_result_.func_vals)
    np.testing.assert_array_equal(resumed.cv_results_["n_epochs"],
                                  first.cv_results_["n_epochs"])
    # a checkpoint written without halving does not match a search with it
    with pytest.raises(ValueError, match="different search"):
        _search(pipe, cv, n_iter=12, checkpoint=path, halving_factor=None).fit(
            X, y, groups=groups)


def test_halving_needs_batches(shifted):
    X, y, groups, cv = _holdout(shifted)
    with pytest.raises(ValueError, match="batch_candidates"):
        _search(PerGDROClassifier(**NET), cv, batch_candidates=1).fit(X, y, groups=groups)


def test_a_batch_that_diverges_mid_halving_is_finished_without_it(shifted, monkeypatch):
    from pergdro_sklearn._estimators.batched import BatchedRun
    from pergdro_sklearn._train.loop import TrainingDivergedError

    X, y, groups, cv = _holdout(shifted)
    reference = _search(PerGDROClassifier(**NET), cv).fit(X, y, groups=groups)
    train_to = BatchedRun.train_to

    def diverges_after_the_first_rung(run, epoch):
        if run.epochs >= 1:
            raise TrainingDivergedError("simulated")
        return train_to(run, epoch)

    monkeypatch.setattr(BatchedRun, "train_to", diverges_after_the_first_rung)
    search = _search(PerGDROClassifier(**NET), cv).fit(X, y, groups=groups)
    res, ref = search.cv_results_, reference.cv_results_
    # the 7 dropped at the first rung keep that record; the rest were trained in full,
    # without halving (the retry), so none of them is dropped
    first = ref["n_epochs"] == 1
    np.testing.assert_array_equal(res["dropped"], first)
    np.testing.assert_allclose(res["mean_test_objective"][first],
                               ref["mean_test_objective"][first], rtol=1e-5)
    assert np.all(res["n_epochs"][~first] == 9)
    assert np.all(np.isfinite(res["mean_test_objective"]))


def test_record_epochs_are_validated():
    record = EvaluationRecord(rho=0.1, epsilon=[0.0], test_objective=[0.5], fit_time=[1.0],
                              score_time=[0.1], val_loss=[[0.5]], val_metric=[[0.8]],
                              x=[0.1], epochs=[3])
    check_record(record, "record 0", [(0.0, 1.0)], 1, 1)
    assert record.dropped
    for bad in ([0], [True], [3, 3], "3", [2.5]):
        record.epochs = bad
        with pytest.raises(ValueError, match="epochs"):
            check_record(record, "record 0", [(0.0, 1.0)], 1, 1)
    record.epochs = [None]
    check_record(record, "record 0", [(0.0, 1.0)], 1, 1)
    assert not record.dropped


def test_verbose_search_says_which_candidates_were_dropped(shifted, capsys):
    X, y, groups, cv = _holdout(shifted)
    net = dict(NET, max_iter=27)
    search = _search(PerGDROClassifier(**net), cv, epsilon_bounds=(0.0, 4.0), verbose=1)
    search.fit(X, y, groups=groups)
    lines = [line for line in capsys.readouterr().out.splitlines()
             if re.match(r"\[PerGDROSearchCV\] +\d+/12 row \d+:", line)]
    assert len(lines) == 12
    marked = ["dropped by halving after" in line for line in lines]
    np.testing.assert_array_equal(marked, search.cv_results_["dropped"])
