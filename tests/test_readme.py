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
    assert search.dimension_names_ == ["rho"] + [f"epsilon_{g}" for g in range(4)]
    means = search.cv_results_["mean_test_objective"]
    assert len(means) == 6
    assert search.best_index_ == int(np.argmin(means))
    eps = search.best_params_["epsilon"]
    assert 0 <= search.best_params_["rho"] <= 3
    assert np.all(eps[:2] <= 3) and np.all(eps[2:] <= 5)
    assert ns["y_pred"].shape == (data.X_test.shape[0],)


def check_dask(ns):
    remote, local = ns["search"], ns["local"]
    assert remote.best_params_["rho"] == local.best_params_["rho"]
    np.testing.assert_array_equal(remote.best_params_["epsilon"], local.best_params_["epsilon"])
    np.testing.assert_allclose(remote.cv_results_["mean_test_objective"],
                               local.cv_results_["mean_test_objective"])


def check_compas_pipeline(ns):
    search = ns["search"]
    assert search.groups_.tolist() == ["African-American", "Caucasian", "Hispanic", "Other"]
    assert isinstance(search.best_estimator_, Pipeline)
    final = search.best_estimator_[-1]
    assert final.rho == search.best_params_["rho"]
    np.testing.assert_array_equal(final.epsilon, search.best_params_["epsilon"])
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


CHECKS = {
    "GroupDROClassifier(random_state=0).set_fit_request": check_estimators,
    "epsilon_bounds={0: (0, 3)": check_search,
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
