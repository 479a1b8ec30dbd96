"""PerGDROSearchCV over a Pipeline whose final step is a Per-GDRO estimator."""

import numpy as np
import pytest
import sklearn
from conftest import LEGACY, MECHANICS  # noqa: F401
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import EnsembleSelectionClassifier, PerGDROClassifier
from pergdro_sklearn import PerGDROSearchCV as _PerGDROSearchCV
from pergdro_sklearn._splits import make_group_folds


def PerGDROSearchCV(estimator, **kwargs):  # noqa: N802
    """The search with the previous defaults (LEGACY, conftest.py) that these tests of
    Pipelines and search spaces were written against; the defaults are tested in
    test_search_defaults.py."""
    return _PerGDROSearchCV(estimator, **{**LEGACY, **kwargs})


NET = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
BUDGET = dict(n_iter=5, n_initial_points=4, acq_optimizer="sampling", random_state=0,
              rho_bounds=(0.0, 3.0), epsilon_bounds=(0.0, 3.0), shared_epsilon=False,
              **{**LEGACY, "refit_seeds": 1})


# data (conftest.py): X, y, groups of make_shifted_groups(n_train=(60, 50, 20, 20))


class RecordingScaler(StandardScaler):
    """A scaler that remembers the rows of every fit."""

    fitted_rows = []

    def fit(self, X, y=None, sample_weight=None):
        RecordingScaler.fitted_rows.append(np.asarray(X).copy())
        return super().fit(X, y, sample_weight=sample_weight)


class Shift(TransformerMixin, BaseEstimator):
    """Adds the training mean of the first column to every column (deterministic)."""

    def fit(self, X, y=None):
        self.shift_ = float(np.mean(np.asarray(X)[:, 0]))
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) + self.shift_


@pytest.mark.parametrize("routing", [False, True])
def test_search_over_a_pipeline_with_routing_on_and_off(routing, data):
    X, y, groups = data
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**NET))
    with sklearn.config_context(enable_metadata_routing=routing):
        search = PerGDROSearchCV(pipe, **BUDGET).fit(X, y, groups=groups)
        assert isinstance(search.best_estimator_, Pipeline)
        final = search.best_estimator_[-1]
        # the radii went to the Per-GDRO step, which got every group
        assert final.rho == search.best_params_["rho"]
        np.testing.assert_array_equal(final.epsilon, search.best_params_["epsilon"])
        assert final.groups_.tolist() == [0, 1, 2, 3]
        assert search.best_estimator_[0].n_samples_seen_ == X.shape[0]
        np.testing.assert_array_equal(search.predict(X[:5]), search.best_estimator_.predict(X[:5]))
    # the template itself is never fitted
    assert not hasattr(pipe[-1], "module_")
    assert not hasattr(pipe[0], "mean_")
    # routing does not change the search
    reference = PerGDROSearchCV(pipe, **BUDGET).fit(X, y, groups=groups)
    np.testing.assert_allclose(search.cv_results_["mean_test_objective"],
                               reference.cv_results_["mean_test_objective"])


@pytest.mark.parametrize("epsilon_bounds", [(0.0, 3.0), "auto"])
@pytest.mark.parametrize("batch_candidates", [1, 4])
def test_validation_rows_never_reach_a_transformer_fit(batch_candidates, epsilon_bounds, data):
    X, y, groups = data
    folds = make_group_folds(3, groups, np.arange(4), classes_index=y, random_state=0)
    RecordingScaler.fitted_rows = []
    pipe = make_pipeline(RecordingScaler(), PerGDROClassifier(**NET))
    PerGDROSearchCV(pipe, cv=folds, batch_candidates=batch_candidates,
                    **{**BUDGET, "n_iter": 4, "epsilon_bounds": epsilon_bounds}).fit(
        X, y, groups=groups)
    *inner_fits, refit = RecordingScaler.fitted_rows
    np.testing.assert_array_equal(refit, X)
    # one transformer fit per split for a batch, one per (candidate, split) otherwise;
    # "auto" bounds measure the data after transformers fitted on the first training part
    expected = (3 if batch_candidates == 4 else 12) + (epsilon_bounds == "auto")
    assert len(inner_fits) == expected
    train_sets = [X[train] for train, _ in folds]
    for rows in inner_fits:
        assert any(rows.shape == t.shape and np.array_equal(rows, t) for t in train_sets)
    for train, val in folds:
        # no row of a validation part is in the fit of the split's transformer
        matching = [r for r in inner_fits if r.shape == X[train].shape
                    and np.array_equal(r, X[train])]
        assert matching
        seen = {tuple(row) for row in matching[0]}
        assert not any(tuple(row) in seen for row in X[val])


def test_batched_equals_sequential_for_a_pipeline(data):
    X, y, groups = data
    pipe = make_pipeline(Shift(), StandardScaler(), PerGDROClassifier(**NET))
    one = PerGDROSearchCV(pipe, batch_candidates=1, refit=False, **BUDGET).fit(
        X, y, groups=groups)
    many = PerGDROSearchCV(pipe, batch_candidates=4, refit=False, **BUDGET).fit(
        X, y, groups=groups)
    np.testing.assert_allclose(many.cv_results_["mean_test_objective"][:4],
                               one.cv_results_["mean_test_objective"][:4], rtol=1e-4)
    for key in ("param_rho", "param_epsilon_0", "mean_val_loss_3"):
        np.testing.assert_allclose(many.cv_results_[key][:4], one.cv_results_[key][:4],
                                   rtol=1e-4)


def test_nested_pipelines_find_the_pergdro_step(data):
    X, y, groups = data
    inner = Pipeline([("scale", StandardScaler()), ("model", PerGDROClassifier(**NET))])
    outer = Pipeline([("shift", Shift()), ("inner", inner)])
    search = PerGDROSearchCV(outer, objective="worst_group_accuracy",
                             **{**BUDGET, "n_iter": 3}).fit(X, y, groups=groups)
    fitted = search.best_estimator_
    assert fitted.named_steps["inner"].named_steps["model"].rho == search.best_params_["rho"]
    assert fitted.named_steps["shift"].shift_ == pytest.approx(np.mean(X[:, 0]))
    assert search.predict_proba(X[:4]).shape == (4, 2)


def test_dataframe_with_string_columns(data):
    pd = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    X, y, groups = data
    frame = pd.DataFrame(X, columns=["a", "b"])
    frame["colour"] = np.where(X[:, 0] > 0, "red", "blue")
    labels = np.array(["w", "x", "y", "z"])[groups]
    pre = ColumnTransformer([("num", StandardScaler(), ["a", "b"]),
                             ("cat", OneHotEncoder(sparse_output=False), ["colour"])])
    search = PerGDROSearchCV(make_pipeline(pre, PerGDROClassifier(**NET)),
                             **{**BUDGET, "n_iter": 3}).fit(frame, y, groups=labels)
    assert search.groups_.tolist() == ["w", "x", "y", "z"]
    assert search.dimension_names_ == ["rho", "epsilon_w", "epsilon_x", "epsilon_y",
                                       "epsilon_z"]
    assert search.predict(frame.iloc[:3]).shape == (3,)
    assert search.feature_names_in_.tolist() == ["a", "b", "colour"]


def test_pipeline_must_end_in_a_pergdro_estimator(data):
    X, y, groups = data
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    with pytest.raises(ValueError, match="Pipeline whose final step.*LogisticRegression"):
        PerGDROSearchCV(pipe, **BUDGET).fit(X, y, groups=groups)


# ---- best_estimator_ is a fitted estimator of the searched kind ---------------------------
DEFAULTS = dict(n_iter=4, n_initial_points=3, acq_optimizer="sampling", random_state=0)


@pytest.mark.parametrize("routing", [False, True])
def test_best_estimator_of_a_pipeline_search_is_a_pipeline(routing, data):
    X, y, groups = data
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**NET))
    with sklearn.config_context(enable_metadata_routing=routing):
        # the default refit (refit_seeds=5) and pick
        search = PerGDROSearchCV(pipe, **DEFAULTS).fit(X, y, groups=groups)
        best = search.best_estimator_
        assert isinstance(best, Pipeline)
        assert list(best.named_steps) == ["standardscaler", "pergdroclassifier"]
        # the transformers were fitted once, on every row
        np.testing.assert_allclose(best[:-1].transform(X), StandardScaler().fit_transform(X))
        assert best.named_steps["standardscaler"].n_samples_seen_ == X.shape[0]
        final = best[-1]
        assert isinstance(final, EnsembleSelectionClassifier)
        assert final.groups_.tolist() == [0, 1, 2, 3]
        assert len(final.estimators_) == search.refit_seeds == 5
        for member in final.estimators_:
            assert isinstance(member, PerGDROClassifier)
            assert member.rho == search.best_params_["rho"]
            assert member.groups_.tolist() == [0, 1, 2, 3]
            assert len(member.loss_curve_) == NET["max_iter"]
        np.testing.assert_array_equal(search.predict_proba(X), best.predict_proba(X))


def test_pipeline_refit_predicts_as_the_average_of_whole_pipelines(data):
    """The refit as one Pipeline gives the predictions of the earlier refit, which
    averaged refit_seeds whole Pipelines (each with its own transformers)."""
    X, y, groups = data
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**NET))
    search = PerGDROSearchCV(pipe, refit_seeds=3, **DEFAULTS).fit(X, y, groups=groups)
    members = search.best_estimator_[-1].estimators_
    whole = [clone(pipe).set_params(
        pergdroclassifier__rho=m.rho, pergdroclassifier__epsilon=m.epsilon,
        pergdroclassifier__random_state=m.random_state).fit(
            X, y, pergdroclassifier__groups=groups) for m in members]
    before = EnsembleSelectionClassifier.from_fitted(whole, groups=groups)
    np.testing.assert_allclose(search.predict_proba(X), before.predict_proba(X), atol=1e-12)


def test_pipeline_refit_seeds_one_ends_in_the_network(data):
    X, y, groups = data
    pipe = make_pipeline(StandardScaler(), PerGDROClassifier(**NET))
    search = PerGDROSearchCV(pipe, refit_seeds=1, **DEFAULTS).fit(X, y, groups=groups)
    best = search.best_estimator_
    assert isinstance(best, Pipeline) and isinstance(best[-1], PerGDROClassifier)
    assert best[-1].random_state == 0 and best[-1].groups_.tolist() == [0, 1, 2, 3]
    assert best[:-1].transform(X).shape == X.shape


def test_nested_pipeline_refit_keeps_the_nesting(data):
    X, y, groups = data
    inner = Pipeline([("scale", StandardScaler()), ("model", PerGDROClassifier(**NET))])
    outer = Pipeline([("shift", Shift()), ("inner", inner)])
    search = PerGDROSearchCV(outer, refit_seeds=2, **DEFAULTS).fit(X, y, groups=groups)
    model = search.best_estimator_.named_steps["inner"].named_steps["model"]
    assert isinstance(model, EnsembleSelectionClassifier) and len(model.estimators_) == 2
    assert search.best_estimator_.named_steps["shift"].shift_ == pytest.approx(np.mean(X[:, 0]))
