"""A property-based battery over the public estimators' inputs (hypothesis).

Shapes, dtypes, label types, group sizes, radii, sample weights and sparse formats
are drawn at random. Each drawn input is judged here first: an invalid one (mixed or
single-class labels, a bad radius, a group of one row, bad weights) must give a
ValueError with a message, a valid one must fit, with predictions that are finite and
the same when the fit is repeated. Tiny data and two epochs keep it to a few seconds.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier, PerGDRORegressor
from pergdro_sklearn._constants import MAX_RADIUS, MIN_POSITIVE_RADIUS

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

RADII = st.one_of(
    st.sampled_from([0.0, 1e-3, 0.5, 2.0, 1e10, 1e19, 1e38, 1e-50, -1.0, float("nan"),
                     float("inf")]),
    st.floats(min_value=0.0, max_value=3.0),
)


@st.composite
def inputs(draw, regression=False):
    n_rows = draw(st.integers(8, 30))
    n_features = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_features))
    dtype = draw(st.sampled_from(["float64", "float32", "int64"]))
    X = (X * 3).astype(dtype)
    layout = draw(st.sampled_from(["dense", "csr", "csc", "coo", "list"]))
    if layout == "list":
        X = X.tolist()
    elif layout != "dense":
        X = getattr(sp, f"{layout}_matrix")(X)
    if regression:
        y = rng.normal(size=n_rows)
    else:
        n_classes = draw(st.sampled_from([1, 2, 2, 3]))
        y = np.arange(n_rows) % n_classes
        kind = draw(st.sampled_from(["int", "int", "str", "bool", "float", "mixed"]))
        if kind == "str":
            y = np.array(["no", "yes", "maybe"])[y]
        elif kind == "bool":
            y = y.astype(bool)
        elif kind == "float":
            y = y.astype(float)
        elif kind == "mixed":
            y = np.array([1, "a", 2.5], dtype=object)[y]
    n_groups = draw(st.integers(1, 3))
    groups = draw(st.sampled_from(["none", "int", "str", "str", "one_row"]))
    if groups == "none":
        groups = None
    else:
        labels = np.arange(n_rows) % n_groups
        if groups == "one_row":  # a group of a single row
            labels[-1] = n_groups
        groups = labels if groups != "str" else np.array([f"g{v}" for v in labels])
    weights = draw(st.sampled_from(["none", "none", "ones", "random", "zeros", "negative"]))
    sample_weight = {"none": None, "ones": np.ones(n_rows), "random": rng.uniform(0.1, 2, n_rows),
                     "zeros": np.zeros(n_rows),
                     "negative": -np.ones(n_rows)}[weights]
    return X, y, groups, sample_weight


def _fit_predict(make, X, y, groups, sample_weight, regression):
    est = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y, groups=groups, sample_weight=sample_weight)
        out = est.predict(X) if regression else est.predict_proba(X)
    return est, np.asarray(out, dtype=float)


def _invalid(y, groups, sample_weight, rho=0.0, epsilon=0.0, regression=False):
    """Why the drawn input is a documented error, or None when it must fit."""
    if not regression:
        kinds = {isinstance(v, str) for v in np.asarray(y, dtype=object)}
        if len(kinds) > 1:
            return "y mixes strings and numbers"
        if len(np.unique(np.asarray(y).astype(str))) < 2:
            return "one class"
    if rho < 0:
        return "negative rho"
    eps = float(epsilon)
    if not np.isfinite(eps) or eps < 0 or eps > MAX_RADIUS or 0 < eps < MIN_POSITIVE_RADIUS:
        return "a radius float32 training cannot hold"
    if groups is not None and np.unique(groups, return_counts=True)[1].min() < 2:
        return "a group of one row"
    if sample_weight is not None and (np.any(sample_weight < 0) or not np.any(sample_weight)):
        return "negative or all-zero sample_weight"
    return None


def _check(make, data, regression=False, **radii):
    X, y, groups, sample_weight = data
    why = _invalid(y, groups, sample_weight, regression=regression, **radii)
    if why is not None:  # documented: every bad input is a ValueError with a message
        with pytest.raises(ValueError) as caught:
            _fit_predict(make, X, y, groups, sample_weight, regression)
        assert str(caught.value).strip(), f"a ValueError without a message ({why})"
        return
    est, first = _fit_predict(make, X, y, groups, sample_weight, regression)
    assert np.all(np.isfinite(first))
    if not regression:
        np.testing.assert_allclose(first.sum(axis=1), 1.0, atol=1e-5)
        assert first.shape == (len(y), len(np.unique(y)))
    _, again = _fit_predict(make, X, y, groups, sample_weight, regression)
    np.testing.assert_array_equal(first, again)  # reproducible with a fixed random_state
    assert est.n_iter_ >= 1


@SETTINGS
@given(data=inputs(), epsilon=RADII, rho=st.sampled_from([0.0, 0.1, 5.0, -1.0]),
       order=st.sampled_from([1, 2, "inf"]))
def test_per_gdro_classifier_inputs(data, epsilon, rho, order):
    _check(lambda: PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                                     epsilon=epsilon, rho=rho, wasserstein_order=order), data,
           rho=rho, epsilon=epsilon)


@SETTINGS
@given(data=inputs(regression=True), epsilon=RADII)
def test_per_gdro_regressor_inputs(data, epsilon):
    _check(lambda: PerGDRORegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0,
                                    epsilon=epsilon), data, regression=True, epsilon=epsilon)


@SETTINGS
@given(data=inputs())
def test_group_dro_classifier_inputs(data):
    _check(lambda: GroupDROClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0),
           data)


@pytest.mark.parametrize("epsilon", [1e38, 1e-50, float("nan")])
def test_the_battery_sees_radii_errors(epsilon):
    """The radii the battery draws beyond float32 are documented errors."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2)), np.arange(12) % 2
    with pytest.raises(ValueError, match="epsilon"):
        PerGDROClassifier(max_iter=1, epsilon=epsilon).fit(X, y)
