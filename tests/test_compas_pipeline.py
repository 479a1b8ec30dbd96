"""The tabular habit on real data: fetch_compas(as_frame=True), a ColumnTransformer with a
sparse OneHotEncoder, the default search and cross_validate with routed groups.

Reads the raw file from ``$PERGDRO_DATA_HOME`` or ``<repo>/../shared/data`` (skipped
without it). A small budget and few epochs; the bounds and the pick are the defaults.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from conftest import LEGACY, MECHANICS  # noqa: F401
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn.datasets import fetch_compas
from pergdro_sklearn.metrics import get_scorer

_REPO = Path(__file__).resolve().parents[1]
DATA_HOME = Path(os.environ.get("PERGDRO_DATA_HOME") or _REPO.parent / "shared" / "data")
if not (DATA_HOME / "compas" / "compas-scores-two-years.csv").is_file():
    pytest.skip("COMPAS not found: set PERGDRO_DATA_HOME or provide <repo>/../shared/data",
                allow_module_level=True)

NUMERIC = ["age", "priors_count", "juv_fel_count", "juv_misd_count", "juv_other_count"]
CATEGORICAL = ["sex", "age_cat", "c_charge_degree", "c_charge_desc"]  # race: the groups
BUDGET = dict(n_iter=3, n_initial_points=3, acq_optimizer="sampling", random_state=0,
              **LEGACY)


@pytest.fixture(scope="module")
def compas():
    return fetch_compas(data_home=DATA_HOME, download_if_missing=False, as_frame=True)


def _pipeline():
    encode = ColumnTransformer([
        ("numbers", StandardScaler(), NUMERIC),
        ("categories", OneHotEncoder(sparse_output=True, handle_unknown="ignore"),
         CATEGORICAL),
    ])
    net = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    return Pipeline([("encode", encode), ("net", net)])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_compas_frame_pipeline_runs_through_the_default_search(compas):
    X, y, groups = compas.data, compas.target, compas.groups
    encoded = _pipeline()[:-1].fit_transform(X)
    assert sp.issparse(encoded) and encoded.shape[0] == 6172
    assert encoded.shape[1] > 300  # c_charge_desc's levels
    search = PerGDROSearchCV(_pipeline(), **BUDGET).fit(X, y, groups=groups)
    # the default bounds were measured on the encoded sparse rows: one radius per race
    assert search.epsilon_bounds_.shape == (6, 2)
    assert np.all(np.isfinite(search.epsilon_bounds_)) and np.all(
        search.epsilon_bounds_[:, 1] > 0)
    assert search.rho_bounds_[1] > 0
    # the refit is the searched Pipeline; its final step averages the default number of
    # networks, each fed the sparse encoded rows
    best = search.best_estimator_
    assert isinstance(best, Pipeline) and sp.issparse(best[:-1].transform(X.iloc[:5]))
    assert len(best[-1].estimators_) == search.refit_seeds > 1
    assert search.predict(X.iloc[:10]).shape == (10,)
    assert len(search.cv_results_["params"]) == BUDGET["n_iter"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_compas_frame_search_in_cross_validate_with_routed_groups(compas):
    X, y, groups = compas.data, compas.target, compas.groups
    with sklearn.config_context(enable_metadata_routing=True):
        search = PerGDROSearchCV(_pipeline(), **{**BUDGET, "refit_seeds": 1}).set_fit_request(
            groups=True)
        result = cross_validate(search, X, y, cv=2, params={"groups": groups},
                                scoring=get_scorer("worst_group_accuracy"),
                                return_estimator=True, return_indices=True)
    assert result["test_score"].shape == (2,)
    assert np.all((result["test_score"] >= 0) & (result["test_score"] <= 1))
    for fitted, train in zip(result["estimator"], result["indices"]["train"]):
        # each fold's search got that fold's group labels and searched a radius per group
        assert fitted.epsilon_bounds_.shape[0] == np.unique(groups.iloc[train]).size
        assert fitted.best_estimator_[-1].groups_.tolist() == sorted(
            np.unique(groups.iloc[train]).tolist())
