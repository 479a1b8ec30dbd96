"""Every figure of pergdro_sklearn.plotting draws, returns its axes and labels its groups."""

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.dummy import DummyClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from pergdro_sklearn import PerGDROClassifier, PerGDRORegressor, PerGDROSearchCV  # noqa: E402
from pergdro_sklearn.metrics import group_report, group_shift_report  # noqa: E402
from pergdro_sklearn.plotting import (  # noqa: E402
    GroupReportDisplay,
    GroupShiftDisplay,
    RiskBoundDisplay,
    SearchCandidatesDisplay,
    TrainingCurvesDisplay,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::UserWarning")
NAMES = ["Asian", "Black", "White"]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    groups = np.repeat(NAMES, [30, 60, 60])
    X = rng.normal(size=(150, 2)) + (groups == "Asian")[:, None]
    y = (X[:, 0] + 0.3 * rng.normal(size=150) > 0.3).astype(int)
    return X, y, groups


@pytest.fixture(scope="module")
def fitted(data):
    X, y, groups = data
    return PerGDROClassifier(hidden_layer_sizes=(8,), rho=0.5, epsilon=0.1, max_iter=4,
                             track_risk_bound=True, random_state=0).fit(X, y, groups=groups)


def _legend_texts(axis):
    return [t.get_text() for t in axis.get_legend().get_texts()]


def test_training_curves(fitted):
    display = TrainingCurvesDisplay.from_estimator(fitted)
    assert display.ax_.shape == (3,)
    assert all(isinstance(a, matplotlib.axes.Axes) for a in display.ax_)
    assert display.figure_ is display.ax_[0].figure
    assert _legend_texts(display.ax_[-1]) == NAMES
    for name, attribute in [("loss", "group_loss_curve_"), ("accuracy", "group_accuracy_curve_"),
                            ("weight", "group_weight_history_")]:
        lines = display.lines_[name]
        assert [line.get_label() for line in lines] == NAMES
        np.testing.assert_allclose(np.column_stack([line.get_ydata() for line in lines]),
                                   np.array(getattr(fitted, attribute)))
        np.testing.assert_array_equal(lines[0].get_xdata(), [1, 2, 3, 4])
    # the nominal proportions are drawn on the weight panel
    dotted = [line for line in display.axes_["weight"].get_lines()
              if line.get_linestyle() == ":"]
    np.testing.assert_allclose(sorted(line.get_ydata()[0] for line in dotted),
                               [0.2, 0.4, 0.4])


def test_training_curves_on_given_axes_pipelines_and_regressors(data, fitted):
    X, y, groups = data
    _, axes = plt.subplots(1, 2)
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(
        hidden_layer_sizes=(4,), max_iter=2, random_state=0))
    pipe[-1].fit(pipe[0].fit_transform(X), y, groups=groups)
    display = TrainingCurvesDisplay.from_estimator(pipe, panels=("weight", "accuracy"),
                                                   ax=axes)
    assert list(display.ax_) == list(axes)
    assert list(display.axes_) == ["weight", "accuracy"]
    reg = PerGDRORegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
        X, X[:, 0], groups=groups)
    assert list(TrainingCurvesDisplay.from_estimator(reg).axes_) == ["loss", "weight"]
    with pytest.raises(ValueError, match="2 panel"):
        TrainingCurvesDisplay.from_estimator(fitted, panels=("loss", "weight"), ax=axes[0])
    with pytest.raises(ValueError, match="Unknown panels"):
        TrainingCurvesDisplay.from_estimator(fitted, panels=("speed",))
    with pytest.raises(ValueError, match="group_loss_curve_"):
        TrainingCurvesDisplay.from_estimator(LogisticRegression().fit(X, y))


def test_risk_bound(fitted):
    history = fitted.risk_bound_history_
    for lipschitz in ("certified", "empirical"):
        display = RiskBoundDisplay.from_estimator(fitted, lipschitz=lipschitz)
        assert isinstance(display.ax_, matplotlib.axes.Axes)
        expected = (np.array(history["nominal_risk"]) + np.array(history["dispersion"])
                    + np.array(history[f"within_group_{lipschitz}"]))
        np.testing.assert_allclose(display.bound_.get_ydata(), expected)
        np.testing.assert_allclose(expected, history[f"bound_{lipschitz}"])
        np.testing.assert_allclose(display.robust_risk_.get_ydata(), history["robust_risk"])
        texts = _legend_texts(display.ax_)
        assert len(texts) == 5 and any(lipschitz in t for t in texts)
    untracked = PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    untracked.fit(np.zeros((6, 1)) + np.arange(6)[:, None], [0, 1] * 3, groups=[0] * 6)
    with pytest.raises(ValueError, match="track_risk_bound=True"):
        RiskBoundDisplay.from_estimator(untracked)
    with pytest.raises(ValueError, match="lipschitz"):
        RiskBoundDisplay.from_estimator(fitted, lipschitz="exact")


@pytest.fixture(scope="module")
def search(data):
    X, y, groups = data
    est = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    return PerGDROSearchCV(est, n_iter=6, n_initial_points=4, refit=False,
                           random_state=0, baselines=None).fit(X, y, groups=groups)


def test_search_candidates_draws_the_baselines_as_lines(data):
    X, y, groups = data
    est = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    search = PerGDROSearchCV(est, n_iter=4, n_initial_points=4, refit=False,
                             baselines=["linear", "hist_gradient_boosting"],
                             random_state=0).fit(X, y, groups=groups)
    display = SearchCandidatesDisplay.from_search(search)
    assert sorted(display.baseline_lines_) == ["hist_gradient_boosting", "linear"]
    res = search.cv_results_
    for name, line in display.baseline_lines_.items():
        row = list(res["param_model"]).index(name)
        assert line.get_ydata()[0] == res["mean_test_objective"][row]
    # the candidates' points are the eligible Per-GDRO rows only
    assert len(res["param_model"]) == 6
    eligible = ~np.asarray(display.excluded)[:4]
    assert len(display.errorbar_[0].get_xdata()) == eligible.sum()
    if "model" in search.best_params_:
        assert display.pick_ is display.baseline_lines_[search.best_params_["model"]]


def test_search_candidates(search):
    res = search.cv_results_
    display = SearchCandidatesDisplay.from_search(search)
    assert isinstance(display.ax_, matplotlib.axes.Axes)
    texts = _legend_texts(display.ax_)
    assert "pick" in texts and "ERM" in texts
    assert display.pick_.get_ydata()[0] == res["mean_test_objective"][search.best_index_]
    erm = int(np.flatnonzero(res["param_rho"] == 0)[0])
    assert display.erm_.get_xdata()[0] == 0.0  # ERM has robustness 0
    assert display.erm_.get_ydata()[0] == res["mean_test_objective"][erm]
    by_order = SearchCandidatesDisplay.from_search(search, x="order")
    assert by_order.pick_.get_xdata()[0] == search.best_index_ + 1
    by_rho = SearchCandidatesDisplay.from_search(search, x="param_rho")
    assert by_rho.ax_.get_xlabel() == "param_rho"
    with pytest.raises(ValueError, match="Unknown x"):
        SearchCandidatesDisplay.from_search(search, x="speed")


def test_group_report_display(data):
    X, y, groups = data
    models = {"logistic": LogisticRegression().fit(X, y),
              "majority": DummyClassifier().fit(X, y)}
    display = GroupReportDisplay.from_estimators(models, X, y, groups, n_bootstrap=50)
    ticks = [t.get_text() for t in display.ax_.get_xticklabels()]
    assert ticks == ["Asian\n(n=30)", "Black\n(n=60)", "White\n(n=60)"]
    assert list(display.bars_) == ["logistic", "majority"]
    for name, model in models.items():
        heights = [bar.get_height() for bar in display.bars_[name]]
        pred = model.predict(X)
        np.testing.assert_allclose(heights, [accuracy_score(y[groups == g], pred[groups == g])
                                             for g in NAMES])
    texts = _legend_texts(display.ax_)
    assert texts[0].startswith("logistic (worst: ")
    # from reports, with a metric where lower is better
    reports = {name: group_report(y, m.predict(X), groups,
                                  {"error": lambda a, b: float(np.mean(a != b))},
                                  lower_is_better="error", n_bootstrap=20)
               for name, m in models.items()}
    drawn = GroupReportDisplay.from_reports(reports, "error", lower_is_better=True)
    assert drawn.ax_.get_ylabel() == "error (lower is better)"
    with pytest.raises(ValueError, match="no column"):
        GroupReportDisplay.from_reports(reports, "accuracy")


def test_group_shift_display(data, fitted):
    X, y, groups = data
    display = GroupShiftDisplay.from_estimator(fitted, X, y, groups, radii=[0, 0.2, 0.5],
                                               n_bootstrap=20, name="Per-GDRO")
    report = display.report
    assert list(display.lines_) == NAMES
    for label, line in display.lines_.items():
        np.testing.assert_array_equal(line.get_xdata(), [0, 0.2, 0.5])
        np.testing.assert_array_equal(
            line.get_ydata(), report.loc[label, ["metric_at_0", "metric_at_0.2",
                                                 "metric_at_0.5"]].to_numpy(dtype=float))
    assert [t.get_text() for t in display.ax_.get_legend().get_texts()] == [
        "Asian (n=30)", "Black (n=60)", "White (n=60)"]
    assert display.ax_.get_title() == "Per-GDRO: gradient attack"
    assert display.ax_.get_ylabel() == "accuracy (higher is better)"
    # a report without radius 0 still starts from the clean value; the loss and its bound
    tree = LogisticRegression().fit(X, y)
    shifted = group_shift_report(tree, X, y, groups, radii=[0.5], n_queries=5, n_bootstrap=0)
    drawn = GroupShiftDisplay.from_report(shifted)
    line = drawn.lines_["Asian"]
    assert line.get_xdata().tolist() == [0.0, 0.5]
    assert line.get_ydata()[0] == shifted.loc["Asian", "metric"]
    assert drawn.bounds_ == {}
    _, ax = plt.subplots()
    losses = GroupShiftDisplay.from_report(report, kind="loss", ax=ax)
    assert losses.ax_ is ax and list(losses.bounds_) == NAMES
    assert np.all(losses.bounds_["Black"].get_ydata() >= losses.lines_["Black"].get_ydata())
    with pytest.raises(ValueError, match="kind must be one of"):
        GroupShiftDisplay.from_report(report, kind="bound")
    with pytest.raises(ValueError, match="draws a frame of group_shift_report"):
        GroupShiftDisplay.from_report(group_report(y, tree.predict(X), groups))


def test_plotting_imports_without_matplotlib_and_says_what_is_missing():
    code = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.pyplot'] = None\n"
        "import pergdro_sklearn.plotting as p\n"
        "from pergdro_sklearn.plotting._base import import_pyplot\n"
        "try:\n    import_pyplot('TrainingCurvesDisplay')\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert "pip install matplotlib" in out.stdout
