"""The Python examples of README.rst run as written, and give what they promise.

Every ``.. code-block:: python`` block runs in a fresh namespace from the
repository root; a check below, chosen by a string that only that block holds,
then asserts on the names the block defined. A block without a check fails, so a
new example needs one. The COMPAS example is skipped when the raw csv is missing.
"""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import Pipeline

from pergdro_sklearn.metrics import worst_group_accuracy

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.rst"


def _python_blocks():
    text = README.read_text()
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    return [re.sub(r"^    ", "", block, flags=re.M) for block in blocks]


def check_estimators(ns):
    # routing delivered every group to both models
    assert ns["robust"][-1].groups_.tolist() == [0, 1, 2, 3]
    assert ns["baseline"][-1].groups_.tolist() == [0, 1, 2, 3]


def check_search(ns):
    search, data = ns["search"], ns["data"]
    # the defaults: rho and one scale of the data-scaled per-group radii
    assert search.dimension_names_ == ["rho", "epsilon_scale"]
    results = search.cv_results_
    assert len(results["mean_test_objective"]) == 6
    assert results["param_rho"][0] == 0 and np.all(results["params"][0]["epsilon"] == 0)
    assert search.best_index_ == search.pick_candidates("one_se")[0][0]
    eps = search.best_params_["epsilon"]
    assert 0 <= search.best_params_["rho"] <= search.rho_bounds_[1]
    assert np.all(eps <= search.epsilon_bounds_[:, 1] + 1e-12)
    assert ns["y_pred"].shape == (data.X_test.shape[0],)


def check_fetch_compas(ns):
    assert ns["compas"].data.shape == (6172, 9)
    assert ns["split"]["dropped_groups"] == {"Native American": 11}
    assert ns["pred"].shape == ns["split"]["y_test"].shape


def check_fetch_adult(ns):
    counts = ns["adult"].groups.value_counts()
    assert counts["Male"] == 30527 and counts["Female"] == 14695
    assert ns["X_train"].shape == (30162, 85)


def check_fetch_communities(ns):
    crime = ns["crime"]
    assert crime.data.shape[0] == 1994
    assert sorted(np.unique(crime.groups).tolist()) == sorted(crime.group_names.tolist())


def check_ensemble(ns):
    ensemble = ns["ensemble"]
    assert ensemble.selection_counts_.sum() >= 1
    # the selected ensemble is never worse on validation than its best member alone
    assert ensemble.validation_objective_ <= min(ensemble.candidate_objectives_) + 1e-12
    np.testing.assert_allclose(ensemble.weights_.sum(), 1.0)


def check_module(ns):
    clf = ns["clf"]
    assert isinstance(clf.module_, ns["torch"].nn.Sequential)
    assert 1 <= clf.best_epoch_ <= clf.n_iter_ <= 50


def check_dask(ns):
    remote, local = ns["search"], ns["local"]
    assert remote.best_params_["rho"] == local.best_params_["rho"]
    np.testing.assert_array_equal(remote.best_params_["epsilon"], local.best_params_["epsilon"])
    np.testing.assert_allclose(remote.cv_results_["mean_test_objective"],
                               local.cv_results_["mean_test_objective"])


def check_compas_pipeline(ns):
    search = ns["search"]
    assert search.groups_.tolist() == ["African-American", "Caucasian", "Hispanic", "Other"]
    # the refit is a Pipeline whose final step averages refit_seeds networks of the pick
    assert isinstance(search.best_estimator_, Pipeline)
    members = search.best_estimator_[-1].estimators_
    assert len(members) == search.refit_seeds
    for member in members:
        assert member.rho == search.best_params_["rho"]
        np.testing.assert_array_equal(member.epsilon, search.best_params_["epsilon"])
    assert len(search.cv_results_["params"]) == 4
    assert search.predict(ns["X"].head()).shape == (5,)


def check_fairlearn(ns):
    by_group = ns["by_group"]
    assert sorted(by_group) == [0, 1, 2, 3]
    assert ns["worst"] == min(by_group.values())


def check_aliases(ns):
    result, patients, protected = ns["result"], ns["patients"], ns["protected"]
    X, y = ns["X"], ns["y"]
    for k, estimator in enumerate(result["estimator"]):
        train, test = result["indices"]["train"][k], result["indices"]["test"][k]
        # the model got the protected groups ...
        assert estimator.groups_.tolist() == [0, 1, 2, 3]
        # ... the splitter the patients: none in both parts ...
        assert not set(patients[train]) & set(patients[test])
        # ... and the scorer the protected groups of the test rows
        expected = worst_group_accuracy(y[test], estimator.predict(X[test]),
                                        groups=protected[test])
        assert result["test_score"][k] == pytest.approx(expected)


def check_halving(ns):
    results, search = ns["halved"].cv_results_, ns["halved"]
    assert set(results["n_epochs"].tolist()) <= {3, 9, 27}
    assert results["dropped"].any() and not results["dropped"][0]  # ERM trains to the end
    np.testing.assert_array_equal(results["dropped"], results["n_epochs"] < 27)
    assert not results["dropped"][search.best_index_]


CHECKS = {
    "halving_factor=3, random_state=0": check_halving,
    "GroupDROClassifier(random_state=0).set_fit_request": check_estimators,
    "n_initial_points=4, n_iter=6": check_search,
    "fetch_compas(": check_fetch_compas,
    "fetch_adult(": check_fetch_adult,
    "fetch_communities_crime(": check_fetch_communities,
    "EnsembleSelectionClassifier(": check_ensemble,
    "module=wide_net": check_module,
    "LocalCluster(": check_dask,
    "compas-scores-two-years.csv": check_compas_pipeline,
    "sensitive features": check_fairlearn,
    "GroupKFold(": check_aliases,
}


def _compas_csv():
    home = os.environ.get("PERGDRO_DATA_HOME", os.path.join("..", "shared", "data"))
    return os.path.join(home, "compas", "compas-scores-two-years.csv")


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_example_runs_and_gives_what_it_says(index, monkeypatch, capsys):
    code = _python_blocks()[index]
    checks = [check for key, check in CHECKS.items() if key in code]
    assert len(checks) == 1, f"README block {index} needs exactly one check in CHECKS"
    monkeypatch.chdir(ROOT)
    if "compas-scores-two-years.csv" in code and not os.path.exists(_compas_csv()):
        pytest.skip("COMPAS csv not found: set PERGDRO_DATA_HOME")
    if "fetch_" in code and not os.environ.get("PERGDRO_DATA_HOME"):
        pytest.skip("the real data sets need PERGDRO_DATA_HOME (no download in tests)")
    namespace = {"__name__": "readme"}
    try:
        with sklearn.config_context():
            exec(compile(code, f"README.rst block {index}", "exec"), namespace)
    finally:
        sklearn.set_config(enable_metadata_routing=False)
    checks[0](namespace)


def test_readme_search_examples_are_executed():
    assert sum("PerGDROSearchCV(" in block for block in _python_blocks()) >= 3
    # no search example left in a literal block that never runs
    literal = re.findall(r"::\n\n((?:    .*\n|\n)+)", README.read_text())
    assert literal and not [block for block in literal if "PerGDROSearchCV(" in block]
