"""What a search tells its user: progress at verbose >= 1, one warning summary, and
warnings located at the user's call."""

import re
import warnings

import joblib
import pytest
from conftest import LEGACY, MECHANICS  # noqa: F401
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import EnsembleSelectionClassifier, PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn._search.report import SearchReport
from pergdro_sklearn._search.selection import eligible_rows, erm_row, one_se_threshold
from pergdro_sklearn.datasets import make_shifted_groups

NET = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
BUDGET = dict(n_iter=6, n_initial_points=4, acq_optimizer="sampling", random_state=0,
              **{**LEGACY, "refit_seeds": 2})
LINE = re.compile(r"\[PerGDROSearchCV\] +(\d+)/(\d+) row (\d+): rho=\S+ epsilon=\[.*\] "
                  r"objective=(\S+) \(lowest (\S+)\); elapsed [\d. mins]+, about [\d. mins]+ left$")


@pytest.fixture(scope="module")
def data():
    d = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
    return d.X_train, d.y_train, d.groups_train


def _convergence(caught):
    return [w for w in caught if issubclass(w.category, ConvergenceWarning)]


# ---- progress ------------------------------------------------------------------------
def test_verbose_1_header_before_training_lines_refit_and_pick(data, capsys):
    X, y, groups = data
    # the network's own verbose prints its epochs: they show when training starts
    search = PerGDROSearchCV(PerGDROClassifier(**NET, verbose=1), verbose=1, **BUDGET)
    search.fit(X, y, groups=groups)
    out = capsys.readouterr().out.splitlines()
    first_epoch = next(i for i, line in enumerate(out) if line.startswith("Iteration"))
    header = out[:first_epoch]
    assert len(header) == 3 and all(line.startswith("[PerGDROSearchCV] ") for line in header)
    assert "PerGDROClassifier over rho in [0, " in header[0] and "epsilon_scale" in header[0]
    assert "1 holdout split" in header[1] and "6 evaluations" in header[1]
    assert "Batches of up to 16" in header[2] and "halving off; no checkpoint" in header[2]
    lines = [LINE.match(line) for line in out]
    lines = [m for m in lines if m]
    assert [int(m.group(1)) for m in lines] == list(range(1, 7))
    results = search.cv_results_
    for m in lines:
        row = int(m.group(3))
        assert float(m.group(4)) == pytest.approx(results["mean_test_objective"][row], rel=1e-4)
    refit = [i for i, line in enumerate(out) if "Refitting the pick on all 150 rows: 2 "
             "networks (refit_seeds=2)" in line]
    assert len(refit) == 1 and refit[0] > first_epoch
    closing = out[-1]
    assert closing.startswith("[PerGDROSearchCV] Done in ")
    assert f"picked row {search.best_index_} of cv_results_" in closing
    assert "selection='one_se'" in closing
    # the threshold printed is the one the rule used
    means = results["mean_test_objective"]
    eligible = eligible_rows(results)
    expected = one_se_threshold(means, results["std_error_test_objective"], eligible,
                                erm_row(results, eligible))
    printed = float(re.search(r"threshold (\S+) =", closing).group(1))
    assert printed == pytest.approx(expected, rel=1e-4)
    assert means[search.best_index_] <= expected + 1e-12


def test_verbose_2_shows_a_bar_instead_of_the_lines(data, capsys):
    pytest.importorskip("tqdm")
    X, y, groups = data
    PerGDROSearchCV(PerGDROClassifier(**NET), verbose=2, **BUDGET).fit(X, y, groups=groups)
    captured = capsys.readouterr()
    assert not any(LINE.match(line) for line in captured.out.splitlines())
    assert "Searching PerGDROClassifier" in captured.out and "Done in" in captured.out
    assert "6/6" in captured.err and "candidate" in captured.err


def test_header_says_how_many_evaluations_the_checkpoint_restored(data, capsys, tmp_path):
    X, y, groups = data
    path = tmp_path / "search.json"
    kwargs = dict(BUDGET, n_iter=4, refit=False, checkpoint=str(path), verbose=1)
    PerGDROSearchCV(PerGDROClassifier(**NET), **kwargs).fit(X, y, groups=groups)
    assert "restored 0 evaluations" in capsys.readouterr().out
    PerGDROSearchCV(PerGDROClassifier(**NET), **{**kwargs, "n_iter": 6}).fit(
        X, y, groups=groups)
    out = capsys.readouterr().out
    assert f"checkpoint {path}: restored 4 evaluations" in out
    assert [int(m.group(1)) for m in map(LINE.match, out.splitlines()) if m] == [5, 6]


def test_parallel_workers_print_a_line_per_evaluation(data, capsys):
    X, y, groups = data
    search = PerGDROSearchCV(PerGDROClassifier(**NET), verbose=1, n_jobs=2,
                             batch_candidates=1, **{**BUDGET, "n_iter": 4, "refit": False})
    with joblib.parallel_backend("threading"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y, groups=groups)
    assert len(_convergence(caught)) == 1  # the workers' fits deferred theirs too
    rows = [int(m.group(3)) for m in map(LINE.match, capsys.readouterr().out.splitlines()) if m]
    assert sorted(rows) == [0, 1, 2, 3]


# ---- warnings --------------------------------------------------------------------------
def test_search_gives_one_convergence_warning_at_the_users_call(data):
    X, y, groups = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = PerGDROSearchCV(PerGDROClassifier(**NET), **{**BUDGET, "n_iter": 12})
        search.fit(X, y, groups=groups)
    found = _convergence(caught)
    assert len(found) == 1
    assert found[0].filename == __file__
    message = str(found[0].message)
    assert "12 of 12 candidates evaluated in this fit stopped at max_iter=3" in message
    assert "2 of the 2 refit networks" in message
    # scikit-optimize's repeated-point warning is folded into the summary
    assert not [w for w in caught if "evaluated at" in str(w.message)
                and "PerGDROSearchCV" not in str(w.message)]


def test_settled_search_gives_no_warning(data):
    X, y, groups = data
    settled = dict(NET, max_iter=4, tol=10.0, n_iter_no_change=1)  # any change counts as none
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        PerGDROSearchCV(PerGDROClassifier(**settled), **{**BUDGET, "n_iter": 4}).fit(
            X, y, groups=groups)


def test_optimizer_warnings_are_counted_and_others_reissued_at_the_call():
    report = SearchReport(verbose=0, n_iter=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with report.optimizer_warnings():
            warnings.warn("The objective has been evaluated at point [0.0] before, using "
                          "random point [0.5]", stacklevel=1)
            warnings.warn("kernel bound", ConvergenceWarning, stacklevel=1)
            warnings.warn("something else", RuntimeWarning, stacklevel=1)
    assert report.repeated_points == 1 and report.gp_warnings == 1
    assert [(w.category, str(w.message)) for w in caught] == [(RuntimeWarning,
                                                               "something else")]
    assert caught[0].filename == __file__
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report.warn(PerGDROClassifier())
    assert len(caught) == 1 and caught[0].filename == __file__
    assert "proposed 1 point it had already evaluated" in str(caught[0].message)
    assert "kernel fit warned 1 time" in str(caught[0].message)


@pytest.mark.parametrize("pipeline", [False, True])
def test_a_fit_warns_at_the_users_call(pipeline, data):
    X, y, groups = data
    model = PerGDROClassifier(**NET)
    kwargs = {"groups": groups}
    if pipeline:
        model = make_pipeline(StandardScaler(), model)
        kwargs = {"pergdroclassifier__groups": groups}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y, **kwargs)
    found = _convergence(caught)
    assert len(found) == 1 and "maximum iterations (3)" in str(found[0].message)
    assert found[0].filename == __file__


def test_groups_missing_warning_at_the_users_call(data):
    X, y, _ = data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        PerGDROClassifier(**NET, rho=0.5, tol=10.0, n_iter_no_change=1).fit(X, y)
    assert [w.filename for w in caught] == [__file__]


def test_warm_start_loop_gives_no_warning_per_call(data):
    X, y, groups = data
    model = PerGDROClassifier(**{**NET, "max_iter": 1}, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(4):
            model.fit(X, y, groups=groups)
    assert model.n_iter_ == 4
    # a loss that blows up still warns
    model.set_params(learning_rate_init=1e6)
    with pytest.warns(ConvergenceWarning, match="blew up"):
        for _ in range(3):
            model.fit(X, y, groups=groups)


def test_the_estimator_alone_still_warns_after_a_search(data):
    """The search defers the warnings of its own fits only."""
    X, y, groups = data
    PerGDROSearchCV(PerGDROClassifier(**NET), **{**BUDGET, "n_iter": 4}).fit(
        X, y, groups=groups)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        PerGDROClassifier(**NET).fit(X, y, groups=groups)


def test_ensemble_gives_one_convergence_warning_at_the_users_call(data):
    X, y, groups = data
    ensemble = EnsembleSelectionClassifier(
        [("erm", PerGDROClassifier(**NET)), ("robust", PerGDROClassifier(**NET, rho=0.5))],
        random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ensemble.fit(X, y, groups=groups)
    found = _convergence(caught)
    assert len(found) == 1 and found[0].filename == __file__
    assert "2 of the 2 candidates fitted on the training part reached max_iter" in str(
        found[0].message)
