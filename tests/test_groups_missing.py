"""Groups that never arrive are never silent: GroupsMissingWarning."""

import warnings

import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_validate

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupsMissingWarning,
    PerGDROClassifier,
    PerGDROSearchCV,
)

NET = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
# the group sizes of conftest.py's data fixture (X, y, groups of make_shifted_groups)
SHIFTED_N_TRAIN = (40, 30, 20, 20)


def _missing_warnings(record):
    return [w for w in record if issubclass(w.category, GroupsMissingWarning)]


@pytest.mark.parametrize("estimator, setting", [
    (PerGDROClassifier(rho=2.0, **NET), "rho=2.0"),
    (PerGDROClassifier(rho=0.0, epsilon=[0.1], **NET), "per-group epsilon"),
    (PerGDROClassifier(rho=0.0, epsilon={0: 0.1}, **NET), "per-group epsilon"),
    (GroupDROClassifier(**NET), "GroupDROClassifier's group reweighting"),
])
def test_plain_fit_without_groups_warns_with_cause_and_fix(estimator, setting, data):
    X, y, groups = data
    with pytest.warns(GroupsMissingWarning) as record:
        estimator.fit(X, y)
    message = str(_missing_warnings(record)[0].message)
    assert setting in message
    assert "enable_metadata_routing=True" in message
    assert "set_fit_request(groups=True)" in message
    assert _missing_warnings(record)[0].filename == __file__  # points at the caller
    # with the groups there is nothing to say
    if isinstance(estimator.get_params().get("epsilon"), list):
        estimator = clone(estimator).set_params(epsilon=[0.1] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GroupsMissingWarning)
        estimator.fit(X, y, groups=groups)


def test_fit_without_groups_on_purpose_is_silent(data):
    X, y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error", GroupsMissingWarning)
        PerGDROClassifier(rho=0.0, epsilon=0.1, **NET).fit(X, y)


def test_cross_validate_with_routing_off_warns(data):
    X, y, groups = data
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    with pytest.warns(GroupsMissingWarning, match="routing"):
        cross_validate(PerGDROClassifier(rho=1.0, **NET), X, y, groups=groups, cv=cv)
    # routed, the groups arrive and nothing is said
    with sklearn.config_context(enable_metadata_routing=True), warnings.catch_warnings():
        warnings.simplefilter("error", GroupsMissingWarning)
        estimator = PerGDROClassifier(rho=1.0, **NET).set_fit_request(groups=True)
        result = cross_validate(estimator, X, y, params={"groups": groups}, cv=cv,
                                return_estimator=True)
    assert all(est.groups_.tolist() == [0, 1, 2, 3] for est in result["estimator"])


def test_search_without_groups_warns_once_before_the_budget(data):
    X, y, groups = data
    search = PerGDROSearchCV(PerGDROClassifier(**NET), n_iter=3, n_initial_points=3,
                             acq_optimizer="sampling", random_state=0)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        search.fit(X, y)
    missing = _missing_warnings(record)
    assert len(missing) == 1
    assert "searching rho" in str(missing[0].message)
    assert "search.set_fit_request(groups=True)" in str(missing[0].message)

    # the warning comes before any training: a failing first fit still shows it
    class Broken(PerGDROClassifier):
        def fit(self, X, y, groups=None):
            raise RuntimeError("no training happened before the warning")

    with pytest.warns(GroupsMissingWarning), pytest.raises(RuntimeError):
        PerGDROSearchCV(Broken(**NET), n_iter=2, n_initial_points=2,
                        error_score="raise").fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("error", GroupsMissingWarning)
        search.fit(X, y, groups=groups)
        # a fixed rho = 0 searches only the radius, which needs no groups
        PerGDROSearchCV(PerGDROClassifier(**NET), rho_bounds=(0, 0), n_iter=2,
                        n_initial_points=2).fit(X, y)


def test_search_in_cross_validate_with_routing_off_warns(data):
    X, y, groups = data
    search = PerGDROSearchCV(PerGDROClassifier(**NET), n_iter=2, n_initial_points=2,
                             acq_optimizer="sampling", random_state=0)
    with pytest.warns(GroupsMissingWarning, match="PerGDROSearchCV"):
        cross_validate(search, X, y, groups=groups, cv=2)
