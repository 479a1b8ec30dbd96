"""PerGDROSearchCV beside the radii: search_spaces, skopt dimensions as bounds,
optimizer_results_, and batching of candidates that share their other parameters."""

import numpy as np
import pytest
from conftest import LEGACY
from skopt.space import Categorical, Integer, Real

from pergdro_sklearn import PerGDROClassifier
from pergdro_sklearn import PerGDROSearchCV as _PerGDROSearchCV
from pergdro_sklearn._estimators.batched import fit_candidates
from pergdro_sklearn._search.evaluate import batchable_groups


def PerGDROSearchCV(estimator, **kwargs):  # noqa: N802
    """The search with the previous defaults (LEGACY, conftest.py) that these tests of
    Pipelines and search spaces were written against; the defaults are tested in
    test_search_defaults.py."""
    return _PerGDROSearchCV(estimator, **{**LEGACY, **kwargs})


FAST = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


def _overfitting_data():
    """Few rows, many noisy features: an unregularised network overfits badly."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 200))
    groups = np.repeat([0, 1], [80, 40])
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return X, y, groups


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_alpha_beside_the_radii_beats_the_radii_alone():
    X, y, groups = _overfitting_data()
    est = PerGDROClassifier(hidden_layer_sizes=(32,), max_iter=40, batch_size=32,
                            learning_rate_init=1e-2, random_state=0)  # default alpha=1e-4
    common = dict(n_iter=8, n_initial_points=4, random_state=0, refit=False, selection="best",
                  cv=0.3)
    radii = PerGDROSearchCV(est, **common).fit(X, y, groups=groups)
    both = PerGDROSearchCV(est, search_spaces={"alpha": Real(1e-5, 1e1, prior="log-uniform")},
                           **common).fit(X, y, groups=groups)
    print(f"worst-group validation loss: radii alone {radii.best_objective_:.4f}, "
          f"radii and alpha {both.best_objective_:.4f} (alpha={both.best_params_['alpha']:.3g})")
    assert both.best_objective_ < radii.best_objective_ - 0.2
    assert both.best_params_["alpha"] > 1e-2  # strong regularisation won
    assert both.dimension_names_[-1] == "alpha"
    alphas = both.cv_results_["param_alpha"]
    assert alphas.min() >= 1e-5 and alphas.max() <= 1e1
    # the grid's middle level is the geometric mean under the log-uniform prior
    assert np.any(np.isclose(alphas, np.sqrt(1e-5 * 1e1)))


def test_radius_bounds_take_skopt_reals_and_their_priors(shifted):
    search = PerGDROSearchCV(PerGDROClassifier(**FAST), rho_bounds=Real(1e-3, 2,
                                                                         prior="log-uniform"),
                             epsilon_bounds=Real(0.0, 0.5), n_iter=4, n_initial_points=3,
                             random_state=0, refit=False)
    search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    dims = search.optimizer_result_.space.dimensions
    assert [d.name for d in dims] == ["rho", "epsilon"]
    assert dims[0].prior == "log-uniform" and dims[1].prior == "uniform"
    assert search.rho_bounds_ == (1e-3, 2.0)
    np.testing.assert_allclose(search.epsilon_bounds_, np.tile([0.0, 0.5], (4, 1)))
    rho = search.cv_results_["param_rho"]
    assert rho.min() >= 1e-3 and rho.max() <= 2
    assert search.cv_results_["params"][0]["rho"] == pytest.approx(1e-3)  # the lowest corner


def test_integer_dimensions_reach_the_estimator_as_ints(shifted):
    search = PerGDROSearchCV(PerGDROClassifier(**FAST),
                             search_spaces={"batch_size": Integer(16, 64)}, n_iter=3,
                             n_initial_points=3, random_state=0, refit_seeds=1)
    search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    sizes = [p["batch_size"] for p in search.cv_results_["params"]]
    assert all(isinstance(s, int) and 16 <= s <= 64 for s in sizes)
    assert isinstance(search.best_estimator_.batch_size, int)
    assert search.best_estimator_.batch_size == search.best_params_["batch_size"]


def test_plot_convergence_reads_optimizer_results(shifted):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skopt.plots import plot_convergence

    search = PerGDROSearchCV(PerGDROClassifier(**FAST), n_iter=3, n_initial_points=2,
                             random_state=0, refit=False)
    search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert isinstance(search.optimizer_results_, list) and len(search.optimizer_results_) == 1
    assert search.optimizer_results_[0] is search.optimizer_result_
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()  # its own axes: pyplot's current ones may hold other plots
    try:
        ax = plot_convergence(search.optimizer_results_, ax=ax)
        line = ax.get_lines()[0].get_ydata()
    finally:
        plt.close(fig)
    np.testing.assert_allclose(line, np.minimum.accumulate(search.optimizer_result_.func_vals))


@pytest.mark.parametrize("spaces, match", [
    ({"rho": Real(0, 1)}, "rho_bounds"),
    ({"epsilon": Real(0, 1)}, "epsilon_bounds"),
    ({"not_a_param": Real(0, 1)}, "not a parameter"),
    ({"hidden_layer_sizes": Categorical([(8,), (16,)])}, "Real or Integer"),
    ({"alpha": (1e-5, 1e-1)}, "Real or Integer"),
])
def test_bad_search_spaces_are_refused_before_training(spaces, match, shifted):
    search = PerGDROSearchCV(PerGDROClassifier(**FAST), search_spaces=spaces, n_iter=2)
    with pytest.raises(ValueError, match=match):
        search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)


def test_log_uniform_radius_bounds_need_a_positive_low(shifted):
    search = PerGDROSearchCV(PerGDROClassifier(**FAST), n_iter=2,
                             rho_bounds=Real(1e-9, 2, prior="log-uniform"))
    search.rho_bounds = Real(1e-3, 2, prior="log-uniform")
    search.rho_bounds.low = 0.0  # skopt itself refuses 0 at construction
    with pytest.raises(ValueError, match="log-uniform prior from 0.0"):
        search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    with pytest.raises(ValueError, match="takes a skopt Real"):
        PerGDROSearchCV(PerGDROClassifier(**FAST), n_iter=2, rho_bounds=Integer(0, 2)).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)


def test_candidates_differing_in_alpha_train_as_one_network(shifted):
    est = PerGDROClassifier(epsilon=0.1, **FAST)
    params_list = [{"rho": 0.0, "alpha": 1e-4}, {"rho": 1.0, "alpha": 3.0},
                   {"rho": 0.5, "alpha": 30.0}]
    assert est._can_fit_batched(params_list)
    batched = fit_candidates(est, params_list, shifted.X_train, shifted.y_train,
                             groups=shifted.groups_train)
    outputs = []
    for params, fitted in zip(params_list, batched):
        alone = PerGDROClassifier(epsilon=0.1, **FAST).set_params(**params).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)
        assert fitted.alpha == params["alpha"]
        np.testing.assert_allclose(fitted.predict_proba(shifted.X_test),
                                   alone.predict_proba(shifted.X_test), atol=1e-5)
        outputs.append(fitted.predict_proba(shifted.X_test))
    assert np.abs(outputs[1] - outputs[2]).max() > 1e-3  # the penalties did differ


def test_candidates_sharing_another_parameter_train_as_one_network(shifted):
    est = PerGDROClassifier(epsilon=0.1, **FAST)
    same = [{"rho": 0.0, "batch_size": 32}, {"rho": 1.0, "batch_size": 32}]
    assert est._can_fit_batched(same)
    assert not est._can_fit_batched([{"rho": 0.0, "batch_size": 32},
                                     {"rho": 1.0, "batch_size": 64}])
    batched = fit_candidates(est, same, shifted.X_train, shifted.y_train,
                             groups=shifted.groups_train)
    for params, fitted in zip(same, batched):
        alone = PerGDROClassifier(epsilon=0.1, **FAST).set_params(**params).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)
        assert fitted.batch_size == 32
        np.testing.assert_allclose(fitted.predict_proba(shifted.X_test),
                                   alone.predict_proba(shifted.X_test), atol=1e-5)
    assert batchable_groups(same + [{"rho": 2.0, "batch_size": 16}]) == [[0, 1], [2]]


def _batch_sizes(monkeypatch):
    from pergdro_sklearn._search import template as template_module

    sizes = []
    real = template_module.SearchTemplate.fit_batch

    def spy(self, params_list, *args):
        sizes.append(len(params_list))
        return real(self, params_list, *args)

    monkeypatch.setattr(template_module.SearchTemplate, "fit_batch", spy)
    return sizes


@pytest.mark.parametrize("spaces, expected", [
    ({"alpha": Real(1e-4, 1e-2, prior="log-uniform")}, [8]),  # alpha is batchable
    ({"batch_size": Integer(16, 32)}, [4, 4]),  # one batch per grid level
])
def test_search_batches_what_it_can(spaces, expected, shifted, monkeypatch):
    sizes = _batch_sizes(monkeypatch)
    search = PerGDROSearchCV(PerGDROClassifier(**FAST), rho_bounds=(0, 1),
                             epsilon_bounds=(0, 0.5), search_spaces=spaces, n_iter=8,
                             n_initial_points=8, random_state=0, refit=False)
    search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    (name,) = spaces
    values = search.cv_results_[f"param_{name}"]
    low, high = spaces[name].low, spaces[name].high
    assert sorted(np.unique(values).tolist()) == pytest.approx([low, high])  # 2 levels
    assert sorted(sizes) == expected


def test_checkpoint_holds_the_extra_dimensions(tmp_path, shifted):
    path = tmp_path / "search.json"
    spaces = {"alpha": Real(1e-5, 1e-1, prior="log-uniform")}

    def build(**extra):
        return PerGDROSearchCV(PerGDROClassifier(**FAST), n_initial_points=2, random_state=0,
                               refit=False, checkpoint=str(path), **extra)

    first = build(n_iter=3, search_spaces=spaces).fit(
        shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    resumed = build(n_iter=4, search_spaces=spaces).fit(
        shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    np.testing.assert_array_equal(resumed.cv_results_["param_alpha"][:3],
                                  first.cv_results_["param_alpha"])
    for other in ({"alpha": Real(1e-5, 1e-1)}, {"alpha": Real(1e-6, 1e-1,
                                                              prior="log-uniform")}, None):
        with pytest.raises(ValueError, match="different search"):
            build(n_iter=4, search_spaces=other).fit(shifted.X_train, shifted.y_train,
                                                     groups=shifted.groups_train)


@pytest.mark.parametrize("spaces, says", [({"batch_size": Integer(16, 32)}, True),
                                          ({"alpha": Real(1e-4, 1e-2)}, False)])
def test_verbose_names_what_splits_the_batches(spaces, says, shifted, capsys):
    PerGDROSearchCV(PerGDROClassifier(**FAST), search_spaces=spaces, n_iter=2,
                    n_initial_points=2, random_state=0, refit=False, verbose=1).fit(
        shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    out = capsys.readouterr().out
    assert ("cannot train as one batched network" in out) is says
    if says:
        assert "['batch_size']" in out


def test_a_batched_run_keeps_each_candidates_alpha_when_it_drops_others(shifted):
    """Successive halving's cut (BatchedRun.keep) carries the per-candidate alphas."""
    est = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=4, epsilon=0.1, random_state=0)
    params_list = [{"rho": 0.0, "alpha": 1e-4}, {"rho": 0.5, "alpha": 30.0},
                   {"rho": 1.0, "alpha": 3.0}]
    run = est._start_batched(params_list, shifted.X_train, shifted.y_train,
                             shifted.groups_train)
    run.train_to(2)
    run.keep([0, 2])
    run.train_to(4)
    for params, fitted in zip([params_list[0], params_list[2]], run.estimators(final=True)):
        alone = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=4, epsilon=0.1,
                                  random_state=0).set_params(**params).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)
        assert fitted.alpha == params["alpha"] and fitted.n_iter_ == 4
        np.testing.assert_allclose(fitted.predict_proba(shifted.X_test),
                                   alone.predict_proba(shifted.X_test), atol=1e-5)


def test_search_spaces_name_the_final_steps_parameters_in_a_pipeline(shifted):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**FAST))
    search = PerGDROSearchCV(pipe, search_spaces={"alpha": Real(1e-4, 1e-1,
                                                                prior="log-uniform")},
                             n_iter=3, n_initial_points=3, random_state=0, refit_seeds=1)
    search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    final = search.best_estimator_[-1]
    assert final.alpha == search.best_params_["alpha"]
    assert 1e-4 <= final.alpha <= 1e-1
    prefixed = PerGDROSearchCV(pipe, search_spaces={"pergdroclassifier__alpha": Real(
        1e-4, 1e-1, prior="log-uniform")}, n_iter=3, n_initial_points=3, random_state=0,
        refit=False).fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    np.testing.assert_array_equal(prefixed.cv_results_["param_alpha"],
                                  search.cv_results_["param_alpha"])
    with pytest.raises(ValueError, match="not a parameter"):
        PerGDROSearchCV(pipe, search_spaces={"perdroclassifier__alpha": Real(1e-4, 1e-1)},
                        n_iter=2).fit(shifted.X_train, shifted.y_train,
                                      groups=shifted.groups_train)
