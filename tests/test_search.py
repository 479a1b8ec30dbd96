"""PerGDROSearchCV: search space, objectives, splits, checkpoints, routing, Dask, errors."""

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import pytest
import sklearn
from conftest import MECHANICS
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pergdro_sklearn
from pergdro_sklearn import (
    GroupDROClassifier,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
)
from pergdro_sklearn._constants import NONFINITE_SCORE_PENALTY
from pergdro_sklearn._search.space import factorial_grid
from pergdro_sklearn._splits import make_group_folds

# Tiny networks, few epochs, few candidates; "sampling" keeps the GP's acquisition cheap.
NET = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
BUDGET = dict(n_iter=5, n_initial_points=3, acq_optimizer="sampling", random_state=0,
              **MECHANICS)
# These tests exercise the search's machinery on a fixed space: the earlier defaults
# (bounds 0-3, one dimension per group, the lowest objective). The defaults
# themselves (data-scaled bounds, a shared scale, the one-SE pick) are tested in
# test_selection.py.
BUDGET.update(rho_bounds=(0.0, 3.0), epsilon_bounds=(0.0, 3.0), shared_epsilon=False,
              selection="best", refit_seeds=1)
LABELS = [0, 1, 2, 3]


# data (conftest.py): X, y, groups of make_shifted_groups(n_train=(60, 50, 20, 20))
@pytest.fixture(scope="module")
def holdout(data):
    """One explicit train/validation split, so tests can rebuild a candidate."""
    _, y, groups = data
    return make_group_folds(0.25, groups, np.arange(4), classes_index=y, random_state=0)


@pytest.fixture(scope="module")
def fitted(data, holdout):
    X, y, groups = data
    search = PerGDROSearchCV(PerGDROClassifier(**NET), cv=holdout, objective="robust",
                             **BUDGET)
    return search.fit(X, y, groups=groups)


def _search(estimator=None, **kwargs):
    params = {**BUDGET, **kwargs}
    return PerGDROSearchCV(estimator if estimator is not None else PerGDROClassifier(**NET),
                           **params)


class CountingSearch(PerGDROSearchCV):
    """Counts the candidates it trains (through the overridable _evaluate_candidates)."""

    trained = []

    def _evaluate_candidates(self, params_list, run, on_record=None):
        CountingSearch.trained.extend(params_list)
        return super()._evaluate_candidates(params_list, run, on_record)


class ThreadRecording(PerGDROClassifier):
    """Remembers the name of the thread each fit ran in."""

    threads = []

    def fit(self, X, y, groups=None):
        ThreadRecording.threads.append(threading.current_thread().name)
        return super().fit(X, y, groups=groups)


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------
def test_best_params_minimise_recorded_objective(fitted):
    res = fitted.cv_results_
    means = res["mean_test_objective"]
    assert len(means) == BUDGET["n_iter"]
    assert np.all(np.isfinite(means))
    best = fitted.best_index_
    assert best == int(np.argmin(means))
    assert res["rank_test_objective"][best] == 1
    assert fitted.best_objective_ == means.min()
    assert fitted.best_score_ == -means.min() == res["mean_test_score"][best]
    assert fitted.best_params_["rho"] == res["param_rho"][best]
    np.testing.assert_array_equal(
        fitted.best_params_["epsilon"], [res[f"param_epsilon_{g}"][best] for g in LABELS])
    # the optimiser saw the same values
    opt = fitted.optimizer_result_
    assert len(opt.x_iters) == BUDGET["n_iter"]
    np.testing.assert_allclose(opt.func_vals, means)
    assert opt.fun == means.min()
    # the refit carries the best radii
    assert fitted.best_estimator_.rho == fitted.best_params_["rho"]
    np.testing.assert_array_equal(fitted.best_estimator_.epsilons_,
                                  fitted.best_params_["epsilon"])
    assert fitted.groups_.tolist() == LABELS
    assert fitted.n_features_in_ == 2 and fitted.n_splits_ == 1
    assert fitted.dimension_names_ == ["rho"] + [f"epsilon_{g}" for g in LABELS]
    assert res["is_initial_point"].tolist() == [True] * 3 + [False] * 2


def test_robust_objective_equals_robust_risk_on_validation(data, holdout, fitted):
    X, y, groups = data
    train, val = holdout[0]
    best = fitted.best_params_
    est = clone(fitted.estimator).set_params(**best).fit(X[train], y[train],
                                                         groups=groups[train])
    risk = est.robust_risk(X[val], y[val], groups[val], rho=best["rho"],
                           epsilon=best["epsilon"])
    assert risk == pytest.approx(fitted.cv_results_["split0_test_objective"][fitted.best_index_],
                                 rel=1e-12)
    # and the per-group clean losses and accuracies are the validation ones
    clean = est.group_losses(X[val], y[val], groups[val], epsilon=0.0)["clean"]
    for g in LABELS:
        rows = groups[val] == g
        row = fitted.best_index_
        assert fitted.cv_results_[f"mean_val_loss_{g}"][row] == pytest.approx(clean[g])
        accuracy = np.mean(est.predict(X[val][rows]) == y[val][rows])
        assert fitted.cv_results_[f"mean_val_accuracy_{g}"][row] == pytest.approx(accuracy)


def test_cv_results_load_into_pandas(fitted):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(fitted.cv_results_)
    assert frame.shape[0] == BUDGET["n_iter"]
    expected = {"params", "param_rho", "mean_test_objective", "split0_test_objective",
                "rank_test_objective", "mean_fit_time", "mean_score_time"}
    expected |= {f"param_epsilon_{g}" for g in LABELS}
    expected |= {f"mean_val_loss_{g}" for g in LABELS}
    expected |= {f"mean_val_accuracy_{g}" for g in LABELS}
    assert expected <= set(frame.columns)
    assert frame["mean_test_objective"].dtype == np.float64
    assert frame.sort_values("rank_test_objective").index[0] == fitted.best_index_


def test_refit_delegation(data, fitted):
    X, y, _ = data
    best = fitted.best_estimator_
    np.testing.assert_array_equal(fitted.predict(X), best.predict(X))
    np.testing.assert_allclose(fitted.predict_proba(X), best.predict_proba(X))
    np.testing.assert_allclose(fitted.predict_log_proba(X), best.predict_log_proba(X))
    np.testing.assert_allclose(fitted.decision_function(X), best.decision_function(X))
    assert fitted.score(X, y) == best.score(X, y)
    np.testing.assert_array_equal(fitted.classes_, [0, 1])


def test_refit_false_has_no_prediction(data):
    X, y, groups = data
    search = _search(refit=False, n_iter=3).fit(X, y, groups=groups)
    assert not hasattr(search, "best_estimator_")
    assert not hasattr(search, "predict")
    assert set(search.best_params_) == {"rho", "epsilon"}


def test_skopt_plots_read_the_result(fitted):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skopt.plots import plot_convergence

    ax = plot_convergence(fitted.optimizer_result_)
    assert len(ax.lines) >= 1


# --------------------------------------------------------------------------
# Search space
# --------------------------------------------------------------------------
def test_grid_initial_points_with_per_group_bound_dict(data):
    X, y, groups = data
    search = _search(rho_bounds=(0.5, 0.5), epsilon_bounds={0: (0, 1), 3: (0, 2)},
                     n_iter=9, n_initial_points=9, initial_point_generator="grid")
    search.fit(X, y, groups=groups)
    res = search.cv_results_
    assert search.dimension_names_ == ["epsilon_0", "epsilon_3"]
    assert search.optimizer_result_.space.n_dims == 2
    points = set(zip(res["param_epsilon_0"].tolist(), res["param_epsilon_3"].tolist()))
    assert points == set(itertools.product([0.0, 0.5, 1.0], [0.0, 1.0, 2.0]))
    # fixed values stay fixed: rho, and the groups the dict does not name (at 0)
    assert np.all(res["param_rho"] == 0.5)
    assert np.all(res["param_epsilon_1"] == 0) and np.all(res["param_epsilon_2"] == 0)
    assert res["is_initial_point"].all()


def test_fixed_group_stays_fixed_during_bayesian_steps(data):
    X, y, groups = data
    bounds = [(0, 1), (0.3, 0.3), (0, 2), (0, 2)]
    search = _search(epsilon_bounds=bounds, n_iter=5, n_initial_points=2).fit(
        X, y, groups=groups)
    res = search.cv_results_
    assert "epsilon_1" not in search.dimension_names_
    assert np.all(res["param_epsilon_1"] == 0.3)
    assert (~res["is_initial_point"]).sum() == 3
    for g, (low, high) in enumerate(bounds):
        assert np.all((res[f"param_epsilon_{g}"] >= low) & (res[f"param_epsilon_{g}"] <= high))


def test_shared_epsilon_has_two_dimensions(data):
    X, y, groups = data
    search = _search(shared_epsilon=True, n_iter=4, n_initial_points=2).fit(
        X, y, groups=groups)
    assert search.dimension_names_ == ["rho", "epsilon"]
    assert search.optimizer_result_.space.n_dims == 2
    eps = np.column_stack([search.cv_results_[f"param_epsilon_{g}"] for g in LABELS])
    assert np.all(eps == eps[:, :1])


def test_shared_epsilon_with_per_group_bounds_scales_each_range(data):
    X, y, groups = data
    bounds = {0: (0, 1), 1: (0, 1), 2: (0, 2), 3: (1, 1)}
    search = _search(shared_epsilon=True, epsilon_bounds=bounds, n_iter=3).fit(
        X, y, groups=groups)
    res = search.cv_results_
    assert search.dimension_names_ == ["rho", "epsilon_scale"]
    np.testing.assert_allclose(res["param_epsilon_1"], res["param_epsilon_0"])
    np.testing.assert_allclose(res["param_epsilon_2"], 2 * res["param_epsilon_0"])
    assert np.all(res["param_epsilon_3"] == 1.0)


@pytest.mark.parametrize("generator", ["lhs", "sobol", "random"])
def test_other_initial_point_generators_are_reproducible(data, generator):
    X, y, groups = data
    kwargs = dict(initial_point_generator=generator, shared_epsilon=True, n_iter=3,
                  n_initial_points=3, refit=False)
    first = _search(**kwargs).fit(X, y, groups=groups).cv_results_
    second = _search(**kwargs).fit(X, y, groups=groups).cv_results_
    np.testing.assert_array_equal(first["param_rho"], second["param_rho"])
    assert len(set(first["param_rho"].tolist())) == 3
    assert first["is_initial_point"].all()
    assert np.all((first["param_rho"] >= 0) & (first["param_rho"] <= 3))


def test_factorial_grid():
    grid = factorial_grid([(0, 3)] * 5, 243, random_state=0)
    assert grid.shape == (243, 5)
    assert {tuple(row) for row in grid.tolist()} == set(itertools.product([0, 1.5, 3], repeat=5))
    # 5 points in 2-D: the 4 corners, then one point of the 3-level grid
    grid = factorial_grid([(0, 1), (0, 2)], 5, random_state=0)
    corners = set(itertools.product([0.0, 1.0], [0.0, 2.0]))
    assert {tuple(row) for row in grid[:4].tolist()} == corners
    assert tuple(grid[4]) not in corners and set(grid[4]) <= {0.0, 0.5, 1.0, 2.0}
    # one level is the midpoint; many dimensions stay cheap
    grid = factorial_grid([(0, 2)] * 100, 3, random_state=0)
    assert grid.shape == (3, 100) and np.all(grid[0] == 1.0)
    assert set(grid[1:].ravel().tolist()) <= {0.0, 2.0}


# --------------------------------------------------------------------------
# Objectives
# --------------------------------------------------------------------------
def _one_split(objective, data, holdout, estimator=None):
    X, y, groups = data
    search = _search(estimator, objective=objective, cv=holdout, n_iter=3, refit=False)
    return search.fit(X, y, groups=groups).cv_results_


def _per_group(res, name):
    return np.column_stack([res[f"mean_val_{name}_{g}"] for g in LABELS])


def test_worst_group_loss_objective(data, holdout):
    res = _one_split("worst_group_loss", data, holdout)
    np.testing.assert_allclose(res["mean_test_objective"], _per_group(res, "loss").max(axis=1))


@pytest.mark.parametrize("objective, sign", [("worst_group_error", 1.0),
                                             ("worst_group_accuracy", -1.0)])
def test_worst_group_accuracy_objectives(objective, sign, data, holdout):
    res = _one_split(objective, data, holdout)
    worst = _per_group(res, "accuracy").min(axis=1)
    expected = 1.0 - worst if sign > 0 else -worst
    np.testing.assert_allclose(res["mean_test_objective"], expected)


def _worst_group_acc(estimator, X, y, groups):
    return min(np.mean(estimator.predict(X[groups == g]) == y[groups == g])
               for g in np.unique(groups))


@pytest.mark.parametrize("objective", ["accuracy", _worst_group_acc], ids=["name", "callable"])
def test_sklearn_scorer_and_callable_scorers(objective, data, holdout):
    X, y, groups = data
    (train, val), = holdout
    res = _one_split(objective, data, holdout)
    scorer = get_scorer(objective) if isinstance(objective, str) else objective
    kwargs = {} if isinstance(objective, str) else {"groups": groups[val]}
    for params, value in zip(res["params"], res["mean_test_objective"]):
        # the candidate, trained again on the training part, scored on the validation part
        candidate = PerGDROClassifier(**NET).set_params(**params).fit(
            X[train], y[train], groups=groups[train])
        assert value == pytest.approx(-scorer(candidate, X[val], y[val], **kwargs), abs=1e-12)
    np.testing.assert_array_equal(res["mean_test_score"], -res["mean_test_objective"])
    if not isinstance(objective, str):  # the search's per-group numbers agree
        np.testing.assert_allclose(res["mean_test_objective"],
                                   -_per_group(res, "accuracy").min(axis=1))


def test_regressor_worst_group_error_is_worst_mse():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    groups = np.repeat(["a", "b", "c"], [70, 50, 30])
    y = X @ [1.0, -1.0, 0.5] + (groups == "c")
    search = PerGDROSearchCV(PerGDRORegressor(**NET), objective="worst_group_error",
                             **{**BUDGET, "n_iter": 3})
    res = search.fit(X, y, groups=groups).cv_results_
    mse = np.column_stack([res[f"mean_val_mse_{g}"] for g in "abc"])
    np.testing.assert_allclose(res["mean_test_objective"], mse.max(axis=1))
    assert not hasattr(search, "predict_proba")
    assert search.predict(X[:4]).shape == (4,)
    assert search.score(X, y) == search.best_estimator_.score(X, y)


def test_nonfinite_objective_is_penalised(data, holdout):
    def nan_for_large_rho(estimator, X, y):
        return np.nan if estimator.rho > 1.0 else float(np.mean(estimator.predict(X) == y))

    X, y, groups = data
    search = _search(objective=nan_for_large_rho, cv=holdout, n_iter=4,
                     n_initial_points=3).fit(X, y, groups=groups)
    res = search.cv_results_
    bad = res["param_rho"] > 1.0
    assert bad.any() and (~bad).any()
    assert np.all(np.isnan(res["mean_test_objective"][bad]))
    func_vals = search.optimizer_result_.func_vals
    assert np.all(np.isfinite(func_vals))
    np.testing.assert_array_equal(func_vals[bad], NONFINITE_SCORE_PENALTY)
    assert not bad[search.best_index_]
    assert res["rank_test_objective"][bad].min() > res["rank_test_objective"][~bad].max()


def test_error_score(data, holdout, fails_above_rho):
    X, y, groups = data
    search = _search(fails_above_rho(**NET), cv=holdout, n_iter=3, refit=False)
    with pytest.warns(FitFailedWarning, match="rho too large"):
        search.fit(X, y, groups=groups)
    res = search.cv_results_
    bad = res["param_rho"] > 1.0
    assert bad.any() and (~bad).any()
    assert np.all(np.isnan(res["mean_test_objective"][bad]))
    assert np.all(np.isfinite(res["mean_test_objective"][~bad]))

    with pytest.raises(RuntimeError, match="rho too large"):
        _search(fails_above_rho(**NET), cv=holdout, n_iter=3, error_score="raise").fit(
            X, y, groups=groups)
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match="non-finite"):
        _search(fails_above_rho(**NET), rho_bounds=(2, 3), cv=holdout, n_iter=2).fit(
            X, y, groups=groups)


# --------------------------------------------------------------------------
# Splits
# --------------------------------------------------------------------------
def test_default_holdout_and_int_folds(data):
    X, y, groups = data
    search = _search(n_iter=2, n_initial_points=2).fit(X, y, groups=groups)
    assert search.n_splits_ == 1 and "split1_test_objective" not in search.cv_results_

    search = _search(cv=3, n_iter=2, n_initial_points=2).fit(X, y, groups=groups)
    res = search.cv_results_
    assert search.n_splits_ == 3
    splits = np.column_stack([res[f"split{k}_test_objective"] for k in range(3)])
    np.testing.assert_allclose(res["mean_test_objective"], splits.mean(axis=1))


def test_splitter_cv(data):
    X, y, groups = data
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    search = _search(cv=cv, n_iter=2, n_initial_points=2).fit(X, y, groups=groups)
    assert search.n_splits_ == 2 and "split1_test_objective" in search.cv_results_


@pytest.mark.parametrize("cv", [0.2, 3])
def test_group_folds_hold_every_group(cv, data):
    _, y, groups = data
    folds = make_group_folds(cv, groups, np.arange(4), classes_index=y, random_state=0)
    assert len(folds) == (1 if cv == 0.2 else 3)
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0
        assert np.bincount(groups[val], minlength=4).min() >= 1
        assert np.bincount(groups[train], minlength=4).min() >= 2
    if cv == 0.2:
        # a fifth of every group is held out
        np.testing.assert_array_equal(np.bincount(groups[folds[0][1]]), [12, 10, 4, 4])


def test_group_folds_fall_back_to_groups_then_name_the_small_group():
    groups = np.repeat([0, 1], [20, 6])
    classes = np.r_[np.tile([0, 1], 10), [0, 0, 0, 0, 0, 1]]  # cell (1, 1) has one row
    folds = make_group_folds(3, groups, np.array(["big", "small"]), classes, random_state=0)
    assert all(np.bincount(groups[val], minlength=2).min() >= 1 for _, val in folds)
    with pytest.raises(ValueError, match=r"\['small'\]"):
        make_group_folds(7, groups, np.array(["big", "small"]), classes, random_state=0)


# --------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------
BUILD_SOURCE = textwrap.dedent(f"""
    from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV

    MECHANICS = {MECHANICS!r}
    from pergdro_sklearn.datasets import make_shifted_groups

    def build(checkpoint, search_class=PerGDROSearchCV, **extra):
        d = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
        search = search_class(
            PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
            n_iter=6, n_initial_points=3, acq_optimizer="sampling", random_state=0,
            checkpoint=checkpoint, **{{**MECHANICS, **extra}})
        return search, d.X_train, d.y_train, d.groups_train
""")

KILLED_SCRIPT = BUILD_SOURCE + textwrap.dedent("""
    import sys
    import time

    import torch

    torch.set_num_threads(1)

    def pause(result):
        time.sleep(0.5)  # leaves time to kill the search between evaluations

    search, X, y, groups = build(sys.argv[1], callbacks=[pause])
    search.fit(X, y, groups=groups)
""")


def _saved(path):
    try:
        with open(path) as handle:
            return json.load(handle)["evaluations"]
    except (OSError, ValueError):
        return []


def test_checkpoint_resumes_after_kill(tmp_path):
    checkpoint = tmp_path / "search.json"
    script = tmp_path / "search_script.py"
    script.write_text(KILLED_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(pergdro_sklearn.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, str(script), str(checkpoint)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while len(_saved(checkpoint)) < 2:
            if proc.poll() is not None:
                pytest.fail(f"the search script ended early:\n{proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("the search script wrote no checkpoint in time")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    saved = _saved(checkpoint)
    assert 2 <= len(saved) < 6

    namespace = {}
    exec(BUILD_SOURCE, namespace)
    CountingSearch.trained = []
    search, X, y, groups = namespace["build"](str(checkpoint), search_class=CountingSearch)
    search.fit(X, y, groups=groups)
    # the saved evaluations are replayed, not recomputed
    assert len(CountingSearch.trained) == 6 - len(saved)
    res = search.cv_results_
    assert len(res["mean_test_objective"]) == 6
    for row, record in enumerate(saved):
        assert res["param_rho"][row] == record["rho"]
        assert res["mean_test_objective"][row] == np.mean(record["test_objective"])
    assert len(_saved(checkpoint)) == 6
    assert not list(tmp_path.glob(".search.json.*.tmp"))


def test_checkpoint_extends_a_finished_search_and_checks_its_fingerprint(tmp_path, data):
    X, y, groups = data
    checkpoint = tmp_path / "search.json"
    CountingSearch.trained = []
    first = CountingSearch(PerGDROClassifier(**NET), checkpoint=checkpoint,
                           **{**BUDGET, "n_iter": 3}).fit(X, y, groups=groups)
    assert len(CountingSearch.trained) == 3
    CountingSearch.trained = []
    second = CountingSearch(PerGDROClassifier(**NET), checkpoint=checkpoint,
                            **{**BUDGET, "n_iter": 5}).fit(X, y, groups=groups)
    assert len(CountingSearch.trained) == 2
    np.testing.assert_array_equal(second.cv_results_["mean_test_objective"][:3],
                                  first.cv_results_["mean_test_objective"])
    assert len(second.cv_results_["params"]) == 5

    with pytest.raises(ValueError, match="different search"):
        _search(checkpoint=checkpoint, rho_bounds=(0, 1)).fit(X, y, groups=groups)
    with pytest.raises(ValueError, match="different search"):
        _search(checkpoint=checkpoint).fit(X[::-1], y[::-1], groups=groups[::-1])
    with pytest.raises(ValueError, match="does not exist"):
        _search(checkpoint=tmp_path / "missing" / "search.json").fit(X, y, groups=groups)
    not_a_checkpoint = tmp_path / "other.json"
    not_a_checkpoint.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not a PerGDROSearchCV checkpoint"):
        _search(checkpoint=not_a_checkpoint).fit(X, y, groups=groups)


# --------------------------------------------------------------------------
# Groups, routing, parallel runs
# --------------------------------------------------------------------------
@pytest.mark.parametrize("routing", [False, True])
def test_groups_reach_every_inner_fit(routing, data, recording):
    X, y, groups = data
    with sklearn.config_context(enable_metadata_routing=routing):
        search = _search(recording(**NET), cv=2, n_iter=2, n_initial_points=2)
        search.fit(X, y, groups=groups)
    # 2 candidates x 2 folds, then the refit on all rows
    assert len(recording.received) == 5
    for received in recording.received[:4]:
        assert received is not None and np.unique(received).tolist() == LABELS
    np.testing.assert_array_equal(recording.received[-1], groups)


def test_pipeline_routes_groups_to_the_search(data, recording):
    X, y, groups = data
    with sklearn.config_context(enable_metadata_routing=True):
        search = _search(recording(**NET), n_iter=2, n_initial_points=2)
        pipe = make_pipeline(StandardScaler(), search.set_fit_request(groups=True))
        pipe.fit(X, y, groups=groups)
        assert pipe[-1].groups_.tolist() == LABELS
        assert pipe.predict(X[:3]).shape == (3,)
    np.testing.assert_array_equal(recording.received[-1], groups)

    # routing off: the old step__param style
    pipe = make_pipeline(StandardScaler(), _search(n_iter=2, n_initial_points=2))
    pipe.fit(X, y, pergdrosearchcv__groups=groups)
    assert pipe[-1].groups_.tolist() == LABELS


def test_groups_none_is_one_group(data):
    X, y, _ = data
    search = _search(n_iter=2, n_initial_points=2).fit(X, y)
    assert search.groups_.tolist() == [0]
    assert search.dimension_names_ == ["rho", "epsilon_0"]


def test_n_jobs_gives_the_same_search(data):
    X, y, groups = data
    kwargs = dict(cv=2, n_iter=4, n_initial_points=2, n_points=2, refit=False)
    serial = _search(**kwargs).fit(X, y, groups=groups)
    parallel = _search(n_jobs=2, **kwargs).fit(X, y, groups=groups)
    np.testing.assert_allclose(parallel.cv_results_["mean_test_objective"],
                               serial.cv_results_["mean_test_objective"])
    assert parallel.best_params_["rho"] == serial.best_params_["rho"]


def test_dask_backend_gives_the_same_best_parameters(data):
    distributed = pytest.importorskip("dask.distributed")
    X, y, groups = data
    kwargs = dict(n_iter=4, n_initial_points=2, n_points=2, refit=False)
    local = _search(ThreadRecording(**NET), **kwargs).fit(X, y, groups=groups)
    ThreadRecording.threads = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster), joblib.parallel_backend("dask"):
            remote = _search(ThreadRecording(**NET), **kwargs).fit(X, y, groups=groups)
    # the fits ran on the cluster's worker threads
    assert len(ThreadRecording.threads) == 4
    assert all("Dask" in name for name in ThreadRecording.threads)
    assert remote.best_params_["rho"] == local.best_params_["rho"]
    np.testing.assert_array_equal(remote.best_params_["epsilon"], local.best_params_["epsilon"])
    np.testing.assert_allclose(remote.cv_results_["mean_test_objective"],
                               local.cv_results_["mean_test_objective"])


# --------------------------------------------------------------------------
# Control: callbacks, time budget, progress
# --------------------------------------------------------------------------
def test_callbacks_stop_the_search(data):
    X, y, groups = data
    seen = []

    def stop_after_first_round(result):
        seen.append(len(result.x_iters))
        return True

    search = _search(n_points=2, n_iter=6, callbacks=stop_after_first_round, refit=False,
                     batch_candidates=1)
    search.fit(X, y, groups=groups)
    assert seen == [2]
    assert len(search.cv_results_["params"]) == 2


def test_max_time_stops_after_the_first_round(data):
    X, y, groups = data
    search = _search(n_iter=6, max_time=1e-6, refit=False, batch_candidates=1)
    search.fit(X, y, groups=groups)
    assert len(search.cv_results_["params"]) == 1


def test_verbose_prints_progress_with_a_running_best(data, capsys):
    X, y, groups = data
    search = _search(n_iter=4, n_initial_points=4, n_points=2, verbose=1, refit=False)
    search.fit(X, y, groups=groups)
    lines = [line for line in capsys.readouterr().out.splitlines() if "(lowest " in line]
    assert [line.split(":")[0] for line in lines] == [
        f"[PerGDROSearchCV] {k + 1}/4 row {k}" for k in range(4)]
    objectives = search.cv_results_["mean_test_objective"]
    printed = [float(line.split("(lowest ", 1)[1].split(")")[0]) for line in lines]
    np.testing.assert_allclose(printed, np.minimum.accumulate(objectives), rtol=1e-4)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    (dict(rho_bounds=()), "empty"),
    (dict(epsilon_bounds=[]), "empty"),
    (dict(epsilon_bounds={}), "empty"),
    (dict(rho_bounds=(2.0, 1.0)), "lower bound above"),
    (dict(epsilon_bounds={0: (1.0, 0.5)}), "lower bound above"),
    (dict(epsilon_bounds=(-1.0, 1.0)), "non-negative"),
    (dict(rho_bounds=(0.0, np.inf)), "finite"),
    (dict(epsilon_bounds={9: (0, 1)}), r"unknown groups \[9\]"),
    (dict(epsilon_bounds=[(0, 1)] * 3), "3 groups"),
    (dict(epsilon_bounds=(0, 1, 2)), "pair"),
    (dict(rho_bounds=(0, 0), epsilon_bounds=(0.1, 0.1)), "Nothing to search"),
    (dict(objective="no_such_objective"), "Unknown objective"),
    (dict(estimator=GroupDROClassifier()), "Per-GDRO estimator"),
    (dict(estimator="not an estimator"), "estimator"),
    (dict(cv=[(np.arange(10), np.arange(10, 150))]), "fewer than 2 rows"),
    (dict(callbacks=[1]), "callables"),
])
def test_bad_arguments(kwargs, match, data):
    X, y, groups = data
    estimator = kwargs.pop("estimator", PerGDROClassifier(**NET))
    with pytest.raises(ValueError, match=match):
        PerGDROSearchCV(estimator, **{**BUDGET, **kwargs}).fit(X, y, groups=groups)


@pytest.mark.parametrize("bounds", [{0: (0, 1)}, [(0, 1), (0, 2)]])
def test_missing_groups(bounds, data):
    X, y, _ = data
    with pytest.raises(ValueError, match="no groups"):
        _search(epsilon_bounds=bounds).fit(X, y)


def test_group_too_small_for_the_splits_is_named(data):
    X, y, groups = data
    groups = groups.copy()
    groups[:2] = 7  # a group of two rows
    with pytest.raises(ValueError, match=r"\[7\]"):
        _search(cv=3).fit(X, y, groups=groups)


def test_design_rounds_follow_batch_candidates(data):
    """The initial design is trained in rounds of batch_candidates, as one network."""
    X, y, groups = data
    seen = []
    search = _search(n_points=1, n_iter=6, n_initial_points=4, batch_candidates=4,
                     callbacks=lambda result: seen.append(len(result.x_iters)), refit=False)
    search.fit(X, y, groups=groups)
    assert seen == [4, 5, 6]


def test_batched_search_matches_unbatched(data):
    X, y, groups = data
    kwargs = dict(n_iter=5, n_initial_points=4, refit=False)
    one = _search(batch_candidates=1, **kwargs).fit(X, y, groups=groups)
    many = _search(batch_candidates=4, **kwargs).fit(X, y, groups=groups)
    np.testing.assert_allclose(many.cv_results_["mean_test_objective"][:4],
                               one.cv_results_["mean_test_objective"][:4], rtol=1e-3)
    assert [p["rho"] for p in many.cv_results_["params"][:4]] == [
        p["rho"] for p in one.cv_results_["params"][:4]]


@pytest.mark.parametrize("every, refits", [
    (1, [True, True, True, True, True]),
    (3, [True, False, False, True, False]),
])
def test_gp_refit_every_keeps_kernel_fixed_between_refits(every, refits, data, monkeypatch):
    from pergdro_sklearn._search import surrogate

    fits = []  # (kernel hyper-parameters optimised?, fitted Matern part) of every GP fit
    original = surrogate.BlasGaussianProcess.fit

    def spy(gp, X, y):
        fitted = original(gp, X, y)
        fits.append((gp.optimizer is not None, gp.kernel_.k1.theta.copy()))
        return fitted

    monkeypatch.setattr(surrogate.BlasGaussianProcess, "fit", spy)
    X, y, groups = data
    search = _search(n_iter=7, n_initial_points=3, gp_refit_every=every, refit=False,
                     batch_candidates=1).fit(X, y, groups=groups)
    assert len(search.cv_results_["params"]) == 7
    # one GP fit per tell from the third point on; the kernel's hyper-parameters are
    # optimised on the first and then every `every` rounds, and only then
    assert [optimised for optimised, _ in fits] == refits
    # in between, the GP reuses the kernel of the last refit as it is
    last = None
    for optimised, theta in fits:
        if optimised:
            last = theta
        else:
            np.testing.assert_array_equal(theta, last)
    # and the model the result keeps is the last one fitted
    assert (search.optimizer_result_.models[-1].optimizer is not None) == refits[-1]


def test_blas_gaussian_process_matches_skopt():
    from scipy.linalg import cho_solve
    from skopt.learning import GaussianProcessRegressor

    from pergdro_sklearn._search.surrogate import make_surrogate

    rng = np.random.default_rng(0)
    dims = [(0.0, 1.0), (0.0, 1.0), (0.0, 1.0)]
    X, Z = rng.uniform(size=(60, 3)), rng.uniform(size=(500, 3))
    y = np.sin(3 * X).sum(axis=1)
    fast = make_surrogate(dims, 0).fit(X, y)
    mean, std = fast.predict(Z, return_std=True)
    # skopt's own predict on the very same fitted model
    ref_mean, ref_std = GaussianProcessRegressor.predict(fast, Z, return_std=True)
    np.testing.assert_allclose(mean, ref_mean, rtol=1e-8, atol=1e-10)
    # the textbook variance, K** - K* (K + s I)^-1 K*^T, by a Cholesky solve
    K_trans = fast.kernel_(Z, fast.X_train_)
    exact = fast.kernel_.diag(Z) - np.sum(
        K_trans * cho_solve((fast.L_, True), K_trans.T).T, axis=1)
    exact = np.maximum(exact, 0) * fast.y_train_std_**2
    np.testing.assert_allclose(std**2, exact, atol=1e-10)
    # skopt's explicit inverse loses digits near the data, but agrees at large
    np.testing.assert_allclose(std**2, ref_std**2, atol=1e-4 * fast.y_train_std_**2)
    # gradients still come from skopt's own code
    out = fast.predict(Z[:1], return_std=True, return_mean_grad=True, return_std_grad=True)
    assert len(out) == 4
