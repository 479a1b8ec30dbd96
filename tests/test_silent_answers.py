"""The last silent answers: each case ends in a clear error, a warning or the right answer.

Radii beyond what float32 holds, degenerate search spaces, picks among collapsed
candidates, ensembles of bad members, ``module=`` mistakes, mixed label types and
a resume without the saved predictions it needs.
"""

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from pergdro_sklearn import EnsembleSelectionClassifier, PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn._train.wasserstein import project_perturbations
from pergdro_sklearn.datasets import make_shifted_groups


@pytest.fixture(scope="module")
def tiny():
    return make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)


def _clf(**kwargs):
    return PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0, **kwargs)


# --------------------------------------------------------------------------
# Radii beyond what the numbers hold
# --------------------------------------------------------------------------
@pytest.mark.parametrize("order", ["inf", 2, 1])
def test_projection_of_huge_float32_perturbations_does_not_vanish(order):
    # norms of 5e37 square to 3e75: in float32 they overflow, the scale became 0
    delta = torch.full((2, 3), 3e37)
    kept = project_perturbations(delta, torch.tensor([0, 0]), torch.tensor([1e38]), order)
    torch.testing.assert_close(kept, delta)
    halved = project_perturbations(delta, torch.tensor([0, 0]),
                                   torch.tensor([float(np.sqrt(3) * 1.5e37)]), order)
    torch.testing.assert_close(halved, delta / 2)


@pytest.mark.parametrize("epsilon, match", [
    (1e38, "beyond what float32 training can hold"),
    ({"a": 1e20}, "beyond what float32 training can hold"),
    (1e-50, "below float32's smallest normal number"),
])
def test_radii_float32_cannot_hold_are_refused(tiny, epsilon, match):
    labels = np.unique(tiny.groups_train)
    if isinstance(epsilon, dict):
        epsilon = {labels[0]: epsilon["a"]}
    with pytest.raises(ValueError, match=match):
        _clf(epsilon=epsilon).fit(tiny.X_train, tiny.y_train, groups=tiny.groups_train)
    assert _clf(epsilon=1e10).fit(tiny.X_train, tiny.y_train,
                                  groups=tiny.groups_train).epsilons_[0] == 1e10


@pytest.mark.parametrize("bounds, match", [
    (dict(epsilon_bounds=(0, 1e20)), "beyond what float32 training can hold"),
    (dict(epsilon_bounds=(0, 5e-324)), "holds only 2 distinct numbers"),
    (dict(rho_bounds=(1.0, 1.0 + 2**-50)), "holds only 5 distinct numbers"),
])
def test_search_bounds_the_numbers_cannot_hold_are_refused(tiny, bounds, match):
    search = PerGDROSearchCV(_clf(), n_iter=3, n_initial_points=3, random_state=0,
                             refit=False, **bounds)
    with pytest.raises(ValueError, match=match):
        search.fit(tiny.X_train, tiny.y_train, groups=tiny.groups_train)


def test_an_exhausted_space_is_an_error_not_a_hang():
    from skopt.space import Space

    from pergdro_sklearn._search.loop import replace_repeats

    space = Space([(0.0, 1.0)])
    rng = np.random.RandomState(0)
    with pytest.raises(ValueError, match="no point not evaluated yet"):
        replace_repeats([[0.5]], [(0.5,)], type("S", (), {"rvs": lambda self, random_state:
                                                          [[0.5]]})(), rng)
    assert replace_repeats([[0.5]], [(0.5,)], space, rng)[0] != [0.5]


# --------------------------------------------------------------------------
# A pick among collapsed candidates
# --------------------------------------------------------------------------
def _results(collapsed, dropped=None):
    n = len(collapsed)
    return {"mean_test_objective": np.linspace(0.5, 0.9, n), "failed": np.zeros(n, bool),
            "collapsed": np.array(collapsed), "std_error_test_objective": np.full(n, 0.01),
            "param_rho": np.linspace(0, 1, n), "gp_mean_test_objective": np.linspace(0.5, 1, n),
            "params": [{"rho": r, "epsilon": np.array([r])} for r in np.linspace(0, 1, n)],
            **({} if dropped is None else {"dropped": np.array(dropped)})}


@pytest.mark.parametrize("selection", ["best", "one_se", "gp_mean"])
def test_a_pick_among_collapsed_candidates_says_so(selection):
    from pergdro_sklearn._search.selection import pick

    kwargs = dict(rho_high=1.0, epsilon_high=[1.0])
    with pytest.warns(UserWarning, match=r"3 of 3 collapsed\. .*fully trained candidates"):
        indices, _ = pick(selection, _results([True] * 3), **kwargs)
    assert indices.tolist() == [0] or selection == "one_se"
    # the only candidate that did not collapse was dropped: the fully trained ones
    with pytest.warns(UserWarning, match="halving dropped the other 1"):
        indices, _ = pick(selection, _results([True, True, False], [False, False, True]),
                          **kwargs)
    assert 2 not in indices
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pick(selection, _results([True, False, False]), **kwargs)[0][0] != 0


def test_an_ensemble_pick_when_every_network_collapsed_but_a_baseline_did_not():
    # HMDA (12% positives): every network, ERM included, once predicted one class on
    # the validation rows while the baselines did not; the ensemble rule, which never
    # selects a baseline, raised "no candidate has finite predictions"
    from pergdro_sklearn._search.selection import pick

    results = _results([True, True, True, False])
    results["param_rho"] = np.array([0.0, 0.5, 1.0, np.nan])  # the last is a baseline
    rng = np.random.default_rng(0)
    y = np.array([0, 0, 0, 1] * 5)
    proba = rng.uniform(0.05, 0.45, size=(4, 20, 1))
    predictions = np.concatenate([1 - proba, proba], axis=2)  # the networks: all class 0
    predictions[3, y == 1] = predictions[3, y == 1, ::-1]
    validation = (predictions, y, np.repeat([0, 1], 10), 2, "classification")
    with pytest.warns(UserWarning, match=r"3 of 3 collapsed\. selection='ensemble'"):
        indices, weights = pick("ensemble", results, rho_high=1.0, epsilon_high=[1.0],
                                validation=validation)
    assert set(indices.tolist()) <= {0, 1, 2} and np.isclose(weights.sum(), 1.0)


def test_a_search_whose_candidates_all_collapse_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 2))
    y = (rng.random(120) < 0.15).astype(int)  # noise, one class in the majority
    groups = np.repeat(["a", "b"], 60)
    search = PerGDROSearchCV(PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=1,
                                               learning_rate_init=1e-4, random_state=0),
                             n_iter=3,
                             n_initial_points=3, random_state=0)
    with pytest.warns(UserWarning, match="collapsed validation predictions"):
        search.fit(X, y, groups=groups)
    assert search.cv_results_["collapsed"].all()
    assert hasattr(search, "best_estimator_")


def test_an_ensemble_search_refuses_a_checkpoint_without_predictions(tiny, tmp_path):
    path = tmp_path / "search.json"
    options = dict(n_iter=2, n_initial_points=2, random_state=0, refit=False, checkpoint=path)
    PerGDROSearchCV(_clf(), selection="best", **options).fit(
        tiny.X_train, tiny.y_train, groups=tiny.groups_train)
    before = path.read_bytes()
    with pytest.raises(ValueError, match="without validation predictions"):
        PerGDROSearchCV(_clf(), selection="ensemble", **options).fit(
            tiny.X_train, tiny.y_train, groups=tiny.groups_train)
    assert path.read_bytes() == before


# --------------------------------------------------------------------------
# Ensembles check their members
# --------------------------------------------------------------------------
class _Constant(ClassifierMixin, BaseEstimator):
    """A member whose predict_proba is ``value`` everywhere, with ``extra`` columns more."""

    def __init__(self, value=0.5, extra=0, fail=False):
        self.value, self.extra, self.fail = value, extra, fail

    def fit(self, X, y):
        if self.fail:
            raise FloatingPointError("the training loss became NaN")
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_) + self.extra), self.value)

    def predict(self, X):
        return self.classes_[np.zeros(len(X), dtype=int)]


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    return X, (X[:, 0] > 0).astype(int), np.repeat(["a", "b"], 50)


@pytest.mark.parametrize("member, match", [
    (_Constant(5.0), r"'bad' \(_Constant\) returned predict_proba values outside \[0, 1\]"),
    (_Constant(0.3), r"'bad' \(_Constant\) returned predict_proba rows that do not sum to 1"),
    (_Constant(1 / 3, extra=1), r"'bad' \(_Constant\) returned predict_proba of shape "
                                r"\(20, 3\); expected \(20, 2\)"),
    (_Constant(fail=True), r"Ensemble member 'bad' \(_Constant\) failed to fit: the training"),
])
def test_ensemble_members_are_checked_and_named(linear, member, match):
    X, y, groups = linear
    ensemble = EnsembleSelectionClassifier([("lr", LogisticRegression()), ("bad", member)])
    with pytest.raises((ValueError, FloatingPointError), match=match):
        ensemble.fit(X, y, groups=groups)
    # a member within the tolerance is accepted
    EnsembleSelectionClassifier([("lr", LogisticRegression()),
                                 ("fine", _Constant(0.5 + 1e-6))]).fit(X, y, groups=groups)


def test_ensemble_label_types_must_agree(linear):
    X, y, groups = linear
    mixed = np.array([1, "a"] * 50, dtype=object)
    with pytest.raises(ValueError, match=r"y mixes labels of different types \(int, str\)"):
        EnsembleSelectionClassifier([("lr", LogisticRegression())]).fit(X, mixed, groups=groups)
    numbers = LogisticRegression().fit(X, y)
    strings = LogisticRegression().fit(X, np.where(y == 1, "x", "y"))
    with pytest.raises(ValueError, match="mix label types"):
        EnsembleSelectionClassifier.from_fitted([("n", numbers), ("s", strings)])
    ensemble = EnsembleSelectionClassifier.from_fitted([("n", numbers)])
    ensemble.estimators_[0] = strings  # swapped after the fact: named when predicting
    with pytest.raises(ValueError, match=r"member 'n' \(LogisticRegression\) has classes"):
        ensemble.predict_proba(X)


# --------------------------------------------------------------------------
# module= mistakes, groups without columns, mixed label types
# --------------------------------------------------------------------------
class _Pair(torch.nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.linear = torch.nn.Linear(n_features, n_outputs)

    def forward(self, x):
        return self.linear(x), x


class _Frozen(torch.nn.Module):
    def __init__(self, n_features, n_outputs):
        super().__init__()
        self.n_outputs = n_outputs

    def forward(self, x):
        return x[:, :1].repeat(1, self.n_outputs)


@pytest.mark.parametrize("module, match", [
    (torch.nn.Linear(3, 2), "module must be a factory .* got an instance of Linear"),
    (_Pair, "forward returned a tuple; it must return one tensor"),
    (lambda n, k: torch.nn.Linear(n, k).double(), "float64 parameters .* runs in float32"),
    (_Frozen, "without trainable parameters"),
])
def test_module_mistakes_are_clear_errors(linear, module, match):
    X, y, groups = linear
    est = PerGDROClassifier(max_iter=1, module=module)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, groups=groups)
    assert not hasattr(est, "module_")


@pytest.mark.parametrize("groups", [np.empty((100, 0)), "frame"])
def test_groups_without_columns_are_refused(linear, groups):
    X, y, _ = linear
    if isinstance(groups, str):
        groups = pytest.importorskip("pandas").DataFrame(index=range(100))
    with pytest.raises(ValueError, match="groups has 100 rows but no columns"):
        _clf().fit(X, y, groups=groups)


@pytest.mark.parametrize("where", ["y", "groups", "search_y"])
def test_labels_mixing_numbers_and_strings_are_refused(linear, where):
    X, y, groups = linear
    mixed = np.array([1, "a"] * 50, dtype=object)
    with pytest.raises(ValueError, match="mixes .*labels of different types"):
        if where == "y":
            _clf(early_stopping=True).fit(X, mixed, groups=groups)
        elif where == "groups":
            _clf().fit(X, y, groups=mixed)
        else:
            PerGDROSearchCV(_clf(), n_iter=2).fit(X, mixed, groups=groups)
