"""Sparse X through PerGDROSearchCV and its default bounds (no densification)."""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from conftest import LEGACY, MECHANICS  # noqa: F401
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn._search.bounds import auto_epsilon_bounds, class_gap

NET = dict(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
# A small budget; the bounds and the pick stay at their defaults.
BUDGET = dict(n_iter=3, n_initial_points=3, acq_optimizer="sampling", random_state=0,
              **{**LEGACY, "refit_seeds": 1})


def _dense_problem(seed=0, n=120):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[rng.random(X.shape) < 0.6] = 0.0  # mostly zeros, as one-hot blocks are
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    groups = rng.integers(0, 3, size=n)
    return X, y, groups


def _frame(seed=0, n=180, n_levels=40):
    """Numbers and a many-level category: one-hot encoded, the matrix is sparse."""
    rng = np.random.default_rng(seed)
    level = rng.integers(0, n_levels, size=n)
    age = rng.normal(40, 10, size=n)
    y = ((level % 2 == 0) ^ (age > 40)).astype(int)
    groups = np.array(["a", "b", "c"])[rng.integers(0, 3, size=n)]
    frame = pd.DataFrame({"age": age,
                          "charge": pd.Categorical([f"charge {v}" for v in level])})
    return frame, y, groups


def _pipeline():
    encode = ColumnTransformer([
        ("number", StandardScaler(), ["age"]),
        ("category", OneHotEncoder(sparse_output=True, handle_unknown="ignore"), ["charge"]),
    ])
    return Pipeline([("encode", encode), ("net", PerGDROClassifier(**NET))])


def test_class_gap_on_sparse_rows_equals_the_dense_result():
    X, y, groups = _dense_problem()
    dense = class_gap(X, y, groups, 3)
    np.testing.assert_allclose(class_gap(sp.csr_matrix(X), y, groups, 3), dense, rtol=1e-10)
    np.testing.assert_allclose(class_gap(sp.csc_matrix(X), y, groups, 3), dense, rtol=1e-10)
    assert np.all(dense > 0)
    np.testing.assert_allclose(auto_epsilon_bounds(sp.csr_matrix(X), y, groups, 3),
                               auto_epsilon_bounds(X, y, groups, 3), rtol=1e-10)


def test_class_gap_never_densifies_the_matrix():
    # 3000 x 2,000,000: dense, this matrix would take 48 GB.
    rng = np.random.default_rng(0)
    n, width = 3000, 2_000_000
    y = rng.integers(0, 2, size=n)
    columns = np.column_stack([rng.integers(0, width, size=n), width - 1 - y])
    X = sp.csr_matrix((np.ones(2 * n), (np.repeat(np.arange(n), 2), columns.ravel())),
                      shape=(n, width))
    gap = class_gap(X, y, rng.integers(0, 2, size=n), 2)
    # rows of different classes differ in two or four entries: distance sqrt(2) to 2,
    # capped by half the distance between the class means (just above 1/sqrt(2))
    assert gap.shape == (2,) and np.all(gap > 0.7) and np.all(gap <= 1.0)


def test_search_takes_bare_csr_as_the_estimator_does():
    X, y, groups = _dense_problem(n=150)
    X_sparse = sp.csr_matrix(X)
    search = PerGDROSearchCV(PerGDROClassifier(**NET), **BUDGET).fit(X_sparse, y,
                                                                     groups=groups)
    dense = PerGDROSearchCV(PerGDROClassifier(**NET), **BUDGET).fit(X, y, groups=groups)
    # the same default bounds and the same pick as on the dense matrix
    np.testing.assert_allclose(search.epsilon_bounds_, dense.epsilon_bounds_)
    np.testing.assert_allclose(search.best_params_["epsilon"], dense.best_params_["epsilon"])
    np.testing.assert_array_equal(search.predict(X_sparse), dense.predict(X))
    assert search.__sklearn_tags__().input_tags.sparse


def test_onehot_pipeline_with_sparse_output_runs_through_the_default_search():
    frame, y, groups = _frame()
    assert sp.issparse(_pipeline()[:-1].fit_transform(frame))  # the network sees CSR
    search = PerGDROSearchCV(_pipeline(), **BUDGET).fit(frame, y, groups=groups)
    high = search.epsilon_bounds_[:, 1]
    assert high.shape == (3,) and np.all(np.isfinite(high)) and np.all(high > 0)
    assert search.predict(frame.iloc[:7]).shape == (7,)
    assert len(search.cv_results_["params"]) == BUDGET["n_iter"]

