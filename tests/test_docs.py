"""The documentation runs as written and matches the package.

Every ``.. code-block:: python`` block of README.rst and of the pages under ``doc/``
runs in a fresh namespace from the repository root; a check below, chosen by a
string that only that block holds, then asserts on the names the block defined. A
block without a check fails, so a new example needs one. Blocks that read the real
data sets skip when the data are missing.

Two more tests keep the site honest about the package: the module list of the
architecture page names every ``.py`` file of ``pergdro_sklearn/`` and nothing else,
and the API reference names every public name.
"""

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.pipeline import Pipeline

import pergdro_sklearn
from pergdro_sklearn.metrics import worst_group_accuracy

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "doc"
# build outputs of Sphinx, autosummary and sphinx-gallery: not sources
BUILT = ("_build", "generated", "auto_examples", "_templates")


def _doc_sources():
    """README.rst and every .rst source under doc/, in a fixed order."""
    pages = [path for path in sorted(DOC.rglob("*.rst"))
             if not set(path.relative_to(DOC).parts) & set(BUILT)]
    return [ROOT / "README.rst", *pages]


def _python_blocks():
    """``(source, index, code)`` of every Python code block, dedented."""
    found = []
    for path in _doc_sources():
        text = path.read_text(encoding="utf-8")
        blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
        for index, block in enumerate(blocks):
            code = re.sub(r"^    ", "", block, flags=re.M)
            found.append((path.relative_to(ROOT).as_posix(), index, code))
    return found


BLOCKS = _python_blocks()


# ---- checks, one per block ---------------------------------------------------------


def check_readme_example(ns):
    clf, data = ns["clf"], ns["data"]
    assert clf.groups_.tolist() == [0, 1, 2, 3]
    assert clf.epsilons_.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert 0.0 <= ns["worst"] <= 1.0
    assert ns["worst"] == worst_group_accuracy(data.y_test, clf.predict(data.X_test),
                                               groups=data.groups_test)


def check_first_example(ns):
    models = ns["models"]
    assert [type(m).__name__ for m in models] == ["PerGDROClassifier", "GroupDROClassifier"]
    for model in models:
        assert model.groups_.tolist() == [0, 1, 2, 3]
        assert model.n_iter_ < 200  # early stopping ended the fit


def check_estimators(ns):
    # routing delivered every group to both models (early stopping held out rows of each)
    for model in (ns["robust"], ns["baseline"]):
        assert model[-1].groups_.tolist() == [0, 1, 2, 3]
        assert model[-1].validation_scores_ is not None


def check_risk_bound(ns):
    clf, terms = ns["clf"], ns["terms"]
    # the certified bound of Proposition 1 is a true upper bound of the robust risk
    assert ns["risk"] <= terms["bound_certified"] + 1e-9
    assert terms["robust_risk"] <= terms["bound_certified"] + 1e-9
    assert len(clf.risk_bound_history_["bound_certified"]) == clf.n_iter_ == 5
    losses = ns["clf"].group_losses(ns["data"].X_test, ns["data"].y_test,
                                    ns["data"].groups_test)
    assert np.all(np.asarray(losses["robust"]) >= np.asarray(losses["clean"]) - 1e-9)


def check_divergences(ns):
    p, nominal, losses = ns["p"], ns["nominal"], ns["losses"]
    np.testing.assert_allclose(p.sum(), 1.0)
    assert ns["divergence_value"](p, nominal, "chi2") <= 0.1 + 1e-9
    # weight moves to the highest loss, and the worst case beats the nominal mix
    assert p[2] > nominal[2] and p @ losses > nominal @ losses


def check_module(ns):
    clf = ns["clf"]
    assert isinstance(clf.module_, ns["torch"].nn.Sequential)
    assert 1 <= clf.best_epoch_ <= clf.n_iter_ <= 50


def check_search(ns):
    search, data = ns["search"], ns["data"]
    # the defaults: rho and one scale of the data-scaled per-group radii
    assert search.dimension_names_ == ["rho", "epsilon_scale"]
    results = search.cv_results_
    models = list(results["param_model"])
    assert models[:6] == ["per_gdro"] * 6 and models[6:] == [
        "group_dro", "hist_gradient_boosting", "hist_gradient_boosting_balanced", "linear"]
    assert results["param_rho"][0] == 0 and np.all(results["params"][0]["epsilon"] == 0)
    assert search.best_index_ == search.pick_candidates("paired_se")[0][0]
    if "model" in search.best_params_:  # a baseline won
        assert search.best_params_ == {"model": models[search.best_index_]}
    else:
        eps = search.best_params_["epsilon"]
        assert 0 <= search.best_params_["rho"] <= search.rho_bounds_[1]
        assert np.all(eps <= search.epsilon_bounds_[:, 1] + 1e-12)
    assert ns["y_pred"].shape == (data.X_test.shape[0],)


def check_halving(ns):
    results, search = ns["halved"].cv_results_, ns["halved"]
    assert set(results["n_epochs"].tolist()) <= {3, 9, 27}
    assert results["dropped"].any() and not results["dropped"][0]  # ERM trains to the end
    np.testing.assert_array_equal(results["dropped"], results["n_epochs"] < 27)
    assert not results["dropped"][search.best_index_]


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
    assert len(members) == search.refit_seeds == 5
    for member in members:
        assert member.rho == search.best_params_["rho"]
        np.testing.assert_array_equal(member.epsilon, search.best_params_["epsilon"])
    assert len(search.cv_results_["params"]) == 4
    assert search.predict(ns["X"].head()).shape == (5,)
    # the charge descriptions made the encoded matrix sparse; the bounds are the defaults
    assert sp.issparse(search.best_estimator_[:-1].transform(ns["X"]))
    assert search.rho_bounds == "auto" and search.epsilon_bounds == "auto"
    assert search.epsilon_bounds_.shape == (4, 2)


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


def check_groups_missing(ns):
    assert "GroupsMissingWarning" in [w.category.__name__ for w in ns["caught"]]


def check_ensemble(ns):
    ensemble = ns["ensemble"]
    assert ensemble.selection_counts_.sum() >= 1
    # the selected ensemble is never worse on validation than its best member alone
    assert ensemble.validation_objective_ <= min(ensemble.candidate_objectives_) + 1e-12
    np.testing.assert_allclose(ensemble.weights_.sum(), 1.0)


def check_make_shifted_groups(ns):
    data = ns["data"]
    assert data.X_train.shape == (1200, 2) and data.X_test.shape == (600, 2)
    assert np.bincount(data.groups_train).tolist() == [500, 420, 140, 140]


def check_fetch_compas(ns):
    assert ns["compas"].data.shape == (6172, 9)
    assert ns["split"]["dropped_groups"] == {"Native American": 11}
    assert ns["pred"].shape == ns["split"]["y_test"].shape


def check_fetch_adult(ns):
    counts = ns["adult"].groups.value_counts()
    assert counts["Male"] == 30527 and counts["Female"] == 14695
    assert ns["X_train"].shape == (30162, 13)
    assert ns["adult"].data_encoded.shape == (45222, 85)


def check_fetch_communities(ns):
    crime = ns["crime"]
    assert crime.data.shape[0] == 1994
    assert sorted(np.unique(crime.groups).tolist()) == sorted(crime.group_names.tolist())


def check_fairlearn(ns):
    by_group = ns["by_group"]
    assert sorted(by_group) == [0, 1, 2, 3]
    assert ns["worst"] == min(by_group.values())


def check_two_d_groups(ns):
    clf = ns["clf"]
    assert clf.groups_.tolist() == [f"{g}|{s}" for g in "0123" for s in "FM"]
    expected = [0.5 if label == "3|F" else 0.0 for label in clf.groups_]
    assert clf.epsilons_.tolist() == expected


def check_cross_validate_scorer(ns):
    scores = ns["result"]["test_worst_group_accuracy"]
    assert scores.shape == (5,) and np.all((0 <= scores) & (scores <= 1))
    # the worst group is never better than the average over all rows
    assert np.all(scores <= ns["result"]["test_accuracy"] + 1e-12)


def check_cv_results_table(ns):
    from scipy.stats import rankdata

    table = ns["table"]
    # scikit-learn's ranks: 1 is the highest score, ties share the lowest rank
    expected = rankdata(-table["mean_test_score"].to_numpy(), method="min")
    assert table["rank_test_score"].tolist() == expected.astype(int).tolist()


def check_group_report(ns):
    report = ns["report"]
    assert report.index.tolist() == ["large", "small"]
    assert report["size"].tolist() == [400, 60]
    assert np.all(report["accuracy_low"] <= report["accuracy"])
    assert np.all(report["accuracy"] <= report["accuracy_high"])
    assert report.attrs["worst"] == {"accuracy": "small", "recall": "small"}


def check_compas_report(ns):
    report = ns["report"]
    assert int(report["size"].sum()) == len(ns["y_test"])
    assert "Native American" in report.index


def check_training_curves_display(ns):
    display = ns["display"]
    assert set(display.axes_) >= {"loss", "weight"}
    labels = [line.get_label() for line in display.axes_["loss"].get_lines()]
    assert any("3" in label for label in labels)


def check_risk_bound_display(ns):
    display, clf = ns["display"], ns["clf"]
    # the drawn bound is the estimator's empirical bound, epoch by epoch
    assert len(display.bound_.get_ydata()) == clf.n_iter_
    assert len(display.areas_) == 3


def check_group_report_display(ns):
    assert ns["display"].ax_ is not None and sorted(ns["models"]) == ["ERM", "GroupDRO"]


def check_compas_cross_validate(ns):
    scores = ns["scores"]["test_score"]
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))
    assert ns["compas"].data["c_charge_desc"].dtype == "category"


def check_sparse_search(ns):
    bounds = ns["search"].epsilon_bounds_
    assert bounds.shape == (3, 2) and np.all(np.isfinite(bounds)) and np.all(bounds[:, 1] > 0)


def check_shuffled_folds(ns):
    assert [fitted.groups_.tolist() for fitted in ns["result"]["estimator"]] == [
        [0, 1, 2, 3]] * 3


def check_alias_fit(ns):
    assert ns["model"].groups_.tolist() == ["a", "b", "c"]


def check_alias_routing(ns):
    assert ns["result"]["test_score"].shape == (3,)


def check_callback_stops(ns):
    clf = ns["clf"]
    assert clf.n_iter_ < 50 and len(clf.loss_curve_) == clf.n_iter_
    assert clf.group_loss_curve_[-1].max() < 0.4  # the callback's target was met


def check_optuna_bridge(ns):
    optuna = pytest.importorskip("optuna")
    from pergdro_sklearn import PerGDROClassifier
    from pergdro_sklearn.datasets import make_shifted_groups

    class AlwaysPrune:  # a trial whose pruner says stop at once
        reported = []

        def report(self, value, step):
            self.reported.append(step)

        def should_prune(self):
            return True

    trial, data = AlwaysPrune(), make_shifted_groups(random_state=0)
    clf = PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=5, early_stopping=True,
                            random_state=0, callbacks=[ns["OptunaPruning"](trial)])
    with pytest.raises(optuna.TrialPruned, match="epoch 1"):
        clf.fit(data.X_train, data.y_train, groups=data.groups_train)
    assert trial.reported == [1] and not hasattr(clf, "module_")


def check_device_string(ns):
    import torch

    clf = ns["clf"]
    assert not hasattr(clf, "module_")  # nothing checked or built at construction
    if torch.cuda.device_count() < 2:  # checked when fit starts
        with pytest.raises(ValueError, match="cuda"):
            clf.fit(np.zeros((8, 2)), np.tile([0, 1], 4))


def check_search_spaces(ns):
    search = ns["search"]
    assert search.dimension_names_ == ["rho", "epsilon_scale", "alpha"]
    assert 1e-5 <= search.best_params_["alpha"] <= 1e1
    assert min(search.cv_results_["param_rho"]) >= 1e-3  # log-uniform: ERM is not a point


def check_sklearn_halving(ns):
    assert list(ns["search"].n_resources_) == [2, 6, 18]


def check_search_progress(ns):
    assert list(ns["search"].cv_results_["param_model"]).count("per_gdro") == 6


def check_warm_start_loop(ns):
    assert ns["model"].n_iter_ == 5 and len(ns["model"].loss_curve_) == 5


def check_best_estimator_pipeline(ns):
    best, data = ns["best"], ns["data"]
    assert list(best.named_steps) == ["standardscaler", "pergdroclassifier"]
    assert best[-1].groups_.tolist() == [0, 1, 2, 3]
    assert len(best[-1].estimators_) == 5
    # the scaler was fitted once, on all the training rows
    from sklearn.preprocessing import StandardScaler

    expected = StandardScaler().fit(data.X_train).transform(data.X_test[:2])
    np.testing.assert_allclose(best[:-1].transform(data.X_test[:2]), expected)


def check_checkpoint_journal(ns):
    search = ns["search"]
    assert list(search.cv_results_["param_model"]).count("per_gdro") == 8
    assert not os.path.exists(ns["path"] + ".journal")  # gone once its round is saved


def check_radius_limit(ns):
    assert "beyond what float32 training can hold" in ns["message"]


def check_memberships(ns):
    clf, train, test = ns["clf"], ns["train"], ns["test"]
    assert clf.groups_.tolist() == ["0", "1", "2", "3", "far"]
    assert clf.group_counts_.tolist() == (train.matrix > 0).sum(axis=0).tolist()
    scores = ns["group_scores"](ns["data"].y_test, clf.predict(ns["data"].X_test), test)
    assert ns["worst_group_accuracy"](ns["data"].y_test, clf.predict(ns["data"].X_test),
                                      test) == min(scores.values())


def check_one_hot_memberships(ns):
    a, b = ns["same"]
    X = ns["data"].X_test
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))


def check_memberships_report(ns):
    report, soft = ns["report"], ns["soft"]
    assert report.index.tolist() == ["0", "1", "2", "3", "far"]
    np.testing.assert_allclose(report["mass"], soft.matrix.sum(axis=0))


def check_unknown_groups(ns):
    nominal, estimate, hidden = ns["nominal"], ns["fits"]["estimate"], ns["hidden"]
    assert nominal.n_unknown_groups_ == estimate.n_unknown_groups_ == int(hidden.sum())
    assert nominal.group_weights_.sum() + nominal.unknown_group_weight_ == pytest.approx(1)
    assert 0 < nominal.n_validation_labelled_ <= int((~hidden).sum())
    assert type(estimate.membership_estimator_).__name__ == "LogisticRegression"


def check_group_shift_report(ns):
    for name, report in ns["shift"].items():
        assert report["metric_at_0"].tolist() == report["metric"].tolist(), name
        assert (report["metric_at_0.5"] <= report["metric"]).all(), name
    assert ns["shift"]["network"].attrs["attack"] == "gradient"
    assert ns["shift"]["trees"].attrs["attack"] == "random"
    network = ns["shift"]["network"]
    assert (network["certified_bound_at_0.25"] >= network["loss_at_0.25"]).all()
    assert ns["shift"]["trees"]["certified_bound_at_0.25"].isna().all()


def check_compas_shift_report(ns):
    reports = ns["compas_shift"]
    assert sorted(reports) == ["ERM", "GroupDRO", "search", "trees"]
    for name, report in reports.items():
        assert report["metric_at_0"].tolist() == report["metric"].tolist(), name
        assert "Native American" not in report.index  # under 30 rows: dropped
        bound = report["certified_bound_at_0.1"]
        assert bound.isna().all() if name == "trees" else (bound >= report["loss_at_0.1"]).all()
    assert reports["trees"].attrs["attack"] == "random"


def check_group_shift_display(ns):
    display, losses = ns["display"], ns["losses"]
    assert sorted(display.lines_) == [0, 1, 2, 3]
    assert list(losses.bounds_) == list(losses.lines_)
    for label, line in losses.lines_.items():
        assert (losses.bounds_[label].get_ydata() >= line.get_ydata() - 1e-12).all()


def check_indicators_unscaled(ns):
    model, X = ns["model"], ns["X"]
    assert ns["numeric"] == [0, 1]
    Z = model[0].transform(X)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1.0)
    np.testing.assert_array_equal(Z[:, 2:], X[:, 2:])
    assert model[-1].groups_.tolist() == [0, 1]


CHECKS = {
    "not np.isin(X[:, j], (0, 1)).all()": check_indicators_unscaled,
    "train = overlapping(data.X_train, data.groups_train)": check_memberships,
    "one_hot = Memberships(np.eye(4)[g])": check_one_hot_memberships,
    "soft = Memberships(0.8 * test.matrix": check_memberships_report,
    'unknown_groups=mode, early_stopping=True': check_unknown_groups,
    "worst = worst_group_accuracy(data.y_test, clf.predict": check_readme_example,
    "models = [PerGDROClassifier(": check_first_example,
    "GroupDROClassifier(early_stopping=True, random_state=0).set_fit_request": check_estimators,
    "track_risk_bound=True, random_state=0": check_risk_bound,
    'divergence="chi2"': check_divergences,
    "module=wide_net": check_module,
    "# the data-scaled ranges": check_search,
    "halving_factor=3, random_state=0": check_halving,
    "LocalCluster(": check_dask,
    "search.fit(X, y, groups=race)": check_compas_pipeline,
    "GroupKFold(": check_aliases,
    "GroupsMissingWarning, PerGDROClassifier": check_groups_missing,
    "EnsembleSelectionClassifier(": check_ensemble,
    "# rows per group": check_make_shifted_groups,
    'fetch_compas(groups="race")': check_fetch_compas,
    "fetch_adult(": check_fetch_adult,
    "fetch_communities_crime(": check_fetch_communities,
    "sensitive features": check_fairlearn,
    "two_d = np.column_stack": check_two_d_groups,
    '{"worst_group_accuracy": get_scorer(': check_cross_validate_scorer,
    '"rank_test_score"]])': check_cv_results_table,
    '{"accuracy": accuracy_score, "recall": recall_score}': check_group_report,
    "model.predict(X_test), g_test": check_compas_report,
    "TrainingCurvesDisplay.from_estimator(clf)": check_training_curves_display,
    'RiskBoundDisplay.from_estimator(clf, lipschitz="empirical")': check_risk_bound_display,
    "GroupReportDisplay.from_estimators(": check_group_report_display,
    'params={"groups": compas.groups},': check_compas_cross_validate,
    "sp.csr_matrix(X), y, groups=groups": check_sparse_search,
    "# all 4, 3 times": check_shuffled_folds,
    "model.fit(X, y, sensitive_features=A)": check_alias_fit,
    'model.set_fit_request(groups="sensitive_features")': check_alias_routing,
    "callbacks=[WorstGroupLog(target=0.4)]": check_callback_stops,
    "class OptunaPruning:": check_optuna_bridge,
    'PerGDROClassifier(device="cuda:1")': check_device_string,
    'search_spaces={"alpha": Real(1e-5, 1e1': check_search_spaces,
    "HalvingRandomSearchCV(": check_sklearn_halving,
    "random_state=0, verbose=1,": check_search_progress,
    "# one epoch per call, no warning per call": check_warm_start_loop,
    "best = search.best_estimator_": check_best_estimator_pipeline,
    "checkpoint=path)": check_checkpoint_journal,
    "PerGDROClassifier(epsilon=1e38, max_iter=2)": check_radius_limit,
    "shift = {name: group_shift_report(": check_group_shift_report,
    "compas_shift[name] = group_shift_report(": check_compas_shift_report,
    "GroupShiftDisplay.from_estimator(clf": check_group_shift_display,
}


def _compas_csv():
    home = os.environ.get("PERGDRO_DATA_HOME", os.path.join("..", "shared", "data"))
    return os.path.join(home, "compas", "compas-scores-two-years.csv")


@pytest.mark.parametrize(("source", "index", "code"), BLOCKS,
                         ids=[f"{source}-{index}" for source, index, _ in BLOCKS])
def test_doc_example_runs_and_gives_what_it_says(source, index, code, monkeypatch):
    checks = [check for key, check in CHECKS.items() if key in code]
    assert len(checks) == 1, f"{source} block {index} needs exactly one check in CHECKS"
    monkeypatch.chdir(ROOT)
    if "fetch_compas(" in code and not os.path.exists(_compas_csv()):
        pytest.skip("COMPAS csv not found: set PERGDRO_DATA_HOME")
    if "fetch_" in code and not os.environ.get("PERGDRO_DATA_HOME"):
        pytest.skip("the real data sets need PERGDRO_DATA_HOME (no download in tests)")
    namespace = {"__name__": "docs"}
    try:
        with sklearn.config_context(), warnings.catch_warnings():
            exec(compile(code, f"{source} block {index}", "exec"), namespace)
    finally:
        sklearn.set_config(enable_metadata_routing=False)
    checks[0](namespace)


def test_every_check_has_its_block():
    codes = [code for _, _, code in BLOCKS]
    unused = [key for key in CHECKS if not any(key in code for code in codes)]
    assert not unused, f"checks without a block: {unused}"


def test_search_examples_are_executed():
    assert sum("PerGDROSearchCV(" in code for _, _, code in BLOCKS) >= 3
    # no search example left in a literal block that never runs
    for path in _doc_sources():
        literal = re.findall(r"::\n\n((?:    .*\n|\n)+)", path.read_text(encoding="utf-8"))
        assert not [block for block in literal if "PerGDROSearchCV(" in block], path


def test_known_errors_are_gone():
    """Three statements once in the README that the code contradicts."""
    # (the package is on no index: an extra is installed from a checkout, -e ".[extra]")
    errors = ["default budget of 16", "``best_estimator_`` is the refitted Pipeline",
              "pergdro_sklearn[progress]", "pergdro_sklearn[plotting]",
              "pergdro_sklearn[report]"]
    # the API reference is made of the docstrings, and warnings quote install commands
    modules = sorted((ROOT / "pergdro_sklearn").rglob("*.py"))
    for path in [*_doc_sources(), *modules, *sorted((ROOT / "examples").glob("*.py"))]:
        text = " ".join(path.read_text(encoding="utf-8").split())
        for error in errors:
            assert error not in text, f"{path.relative_to(ROOT)}: {error!r}"


# ---- the architecture page and the API reference match the package ------------------


def _listed_modules():
    """The files and folders of the module list, as paths under the repository root."""
    text = (DOC / "architecture.rst").read_text(encoding="utf-8")
    block = re.search(r"::\n\n(    pergdro_sklearn/\n(?:    .*\n|\n)+)", text).group(1)
    listed, stack = set(), []
    for line in block.splitlines():
        match = re.match(r"^( *)([A-Za-z_]\w*(?:\.py|/))(\s|$)", line)
        if not match:
            continue
        depth = (len(match.group(1)) - 4) // 2
        if len(match.group(1)) != 4 + 2 * depth or depth > len(stack):
            continue  # a wrapped description, not an entry
        stack = stack[:depth] + [match.group(2).rstrip("/")]
        listed.add("/".join(stack) + ("/" if match.group(2).endswith("/") else ""))
    return listed


def test_architecture_lists_every_module():
    listed = _listed_modules()
    package = ROOT / "pergdro_sklearn"
    files = {path.relative_to(ROOT).as_posix() for path in package.rglob("*.py")
             if "__pycache__" not in path.parts}
    folders = {path.relative_to(ROOT).as_posix() + "/" for path in package.rglob("*")
               if path.is_dir() and "__pycache__" not in path.parts}
    folders.add("pergdro_sklearn/")
    listed_files = {entry for entry in listed if entry.endswith(".py")}
    assert sorted(files - listed_files) == [], "modules missing from doc/architecture.rst"
    assert sorted(listed_files - files) == [], "doc/architecture.rst lists missing modules"
    assert sorted(entry for entry in listed - listed_files if entry not in folders) == []


def _api_entries():
    """Names documented by doc/api.rst, qualified by the current module."""
    text = (DOC / "api.rst").read_text(encoding="utf-8")
    entries, module = set(), "pergdro_sklearn"
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif match := re.match(r"\.\. automodule:: (\S+)", line):
            entries.add(match.group(1))
        elif match := re.match(r"\.\. py:data:: (\S+)", line):
            entries.add(f"{module}.{match.group(1)}")
        elif line.startswith(".. autosummary::"):
            for item in lines[number + 1:]:
                if item and not item.startswith("   "):
                    break
                name = item.strip()
                if name and not name.startswith(":"):
                    entries.add(f"{module}.{name}")
    return entries


def test_api_reference_lists_every_public_name():
    entries = _api_entries()
    missing = [name for name in pergdro_sklearn.__all__
               if f"pergdro_sklearn.{name}" not in entries]
    assert not missing, f"doc/api.rst does not list {missing}"
    for module in (pergdro_sklearn.datasets, pergdro_sklearn.divergences, pergdro_sklearn.plotting,
                   pergdro_sklearn.metrics):
        missing = [name for name in module.__all__ if f"{module.__name__}.{name}" not in entries]
        assert not missing, f"doc/api.rst does not list {missing} of {module.__name__}"
