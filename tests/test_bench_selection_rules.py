"""``benchmarks.selection_rules``: its refit of a pick as ``refit_seeds`` refits it."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from benchmarks.selection_rules import (  # noqa: E402
    ENSEMBLE_RULES,
    RULES,
    seeded_members,
    seeded_rule,
    worst_case,
)
from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV  # noqa: E402
from pergdro_sklearn._constants import SEARCHED_MODEL  # noqa: E402


def _small_search(**params):
    """A two-candidate search of a tiny network (random_state 7) on two groups."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 3))
    groups = np.repeat([0, 1], 120)
    y = (X[:, 0] + 0.5 * groups + rng.normal(scale=0.5, size=240) > 0).astype(int)
    model = PerGDROClassifier(hidden_layer_sizes=(4,), max_iter=3, batch_size=64,
                              random_state=7)
    return PerGDROSearchCV(model, n_initial_points=2, n_iter=2, random_state=7,
                           **params).fit(X, y, groups=groups)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_seeded_members_are_the_networks_the_search_refits():
    search = _small_search(baselines=None, refit_seeds=3)
    models = [""] * len(search.cv_results_["params"])  # no baselines: all networks
    expected = seeded_members(search.selected_indices_, search.selected_weights_, models,
                              7, 3)
    ensemble = search.best_estimator_
    assert len(ensemble.estimators_) == len(expected) == 3 * len(search.selected_indices_)
    got = [m.random_state for m in ensemble.estimators_]
    assert got == [7 if s is None else s for _, s, _ in expected]
    np.testing.assert_allclose(ensemble.weights_, [w for _, _, w in expected])


def test_seeded_members_refit_a_baseline_once_and_first():
    members = seeded_members([4, 0], [0.5, 0.5], ["", "", "", "", "linear"], 0, 3)
    assert members[0] == (4, None, 0.5)
    assert [row for row, _, _ in members[1:]] == [0, 0, 0]
    assert [s is None for _, s, _ in members[1:]] == [True, False, False]
    assert sum(w for _, _, w in members) == pytest.approx(1.0)
    assert seeded_members([2], [1.0], ["", "", ""], 0, 1) == [(2, None, 1.0)]


def test_worst_case_ranks_the_default_refit_beside_the_rules():
    # per scenario and rule: (mean difference to ERM, low, high)
    rules = [*RULES, *ENSEMBLE_RULES]
    flat = {rule: (0.5, 0.1, 0.9) for rule in rules}
    summaries = {"no_shift": {**flat, seeded_rule(3): (-1.5, -2.5, -0.5)},
                 "appendix_e": {**flat, seeded_rule(3): (2.0, 1.0, 3.0)}}
    table = worst_case(summaries, refit_seeds=(3,)).splitlines()
    row = next(line for line in table if line.startswith(f"| {seeded_rule(3)} |"))
    assert "-1.50 (no_shift)" in row and "| 1 (no_shift) |" in row
    assert "+2.00" in row  # its mean gain on the shifted scenario
    assert table[2].startswith(f"| {rules[0]} |")  # ranked by the worst case: last here
    assert table[-1] == row
    # one network (k = 1) has no row of its own
    assert not any(seeded_rule(1) in line for line in worst_case(summaries, (1,)).splitlines())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_seeded_members_seed_a_picked_group_dro_as_the_search_does(monkeypatch):
    from pergdro_sklearn._search import selection as selection_module

    monkeypatch.setattr(selection_module, "HEDGE_MARGIN", None)  # GroupDRO and ERM
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 2)
    search = _small_search(baselines=["group_dro"])
    models = ["" if m == SEARCHED_MODEL else m for m in search.cv_results_["param_model"]]
    assert models[2] == "group_dro" and search.selected_indices_.tolist() == [2, 0]
    expected = seeded_members(search.selected_indices_, search.selected_weights_, models,
                              7, 3)
    assert [row for row, _, _ in expected] == [2, 2, 2, 0, 0, 0]
    ensemble = search.best_estimator_
    assert [m.random_state for m in ensemble.estimators_] == [
        7 if s is None else s for _, s, _ in expected]
    np.testing.assert_allclose(ensemble.weights_, [w for _, _, w in expected])
