"""``benchmarks.seed_averaging``: its seeds are the search's refit seeds, its gains signed."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from benchmarks import seed_averaging  # noqa: E402
from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier, PerGDROSearchCV  # noqa: E402
from pergdro_sklearn._search import selection as selection_module  # noqa: E402


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_seeded_fits_average_is_the_searchs_refit_of_a_picked_group_dro(monkeypatch):
    monkeypatch.setattr(selection_module, "select_paired_se", lambda *args: 2)  # GroupDRO
    monkeypatch.setattr(selection_module, "hedge_with_erm",
                        lambda index, *args: (np.array([index]), np.array([1.0])))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 3))
    groups = np.repeat([0, 1], 120)
    y = (X[:, 0] + 0.5 * groups + rng.normal(scale=0.5, size=240) > 0).astype(int)
    net = dict(hidden_layer_sizes=(4,), max_iter=3, batch_size=64, random_state=7)
    search = PerGDROSearchCV(PerGDROClassifier(**net), n_initial_points=2, n_iter=2,
                             baselines=["group_dro"], random_state=7).fit(X, y, groups=groups)
    assert search.best_params_ == {"model": "group_dro"}
    fits = seed_averaging.seeded_fits(search.best_estimator_.estimators_[0], X, y, groups, 3)
    assert all(isinstance(f, GroupDROClassifier) for f in fits)
    assert ([f.random_state for f in fits]
            == [m.random_state for m in search.best_estimator_.estimators_])
    ours = seed_averaging.average(fits, "classification", groups)
    np.testing.assert_allclose(ours.predict_proba(X), search.predict_proba(X), atol=1e-6)


def test_summarise_signs_gains_so_that_plus_favours_the_average():
    # (worst, average) of one network and of the average, per method and seed
    better = {"ERM": ((0.50, 0.60), (0.52, 0.61)), "GroupDRO": ((0.55, 0.60), (0.54, 0.60))}
    accuracy = seed_averaging.summarise([("classification", better)] * 2).splitlines()
    assert "+2.00 [" in accuracy[2] and "+1.00 [" in accuracy[2]  # ERM gains
    assert "-1.00 [" in accuracy[3]  # GroupDRO loses a point
    lower = {"ERM": ((0.050, 0.03), (0.040, 0.03)), "GroupDRO": ((0.05, 0.03), (0.05, 0.03))}
    mse = seed_averaging.summarise([("regression", lower)] * 2).splitlines()
    assert "+1.00 [" in mse[2]  # a lower MSE is a gain
    assert "MSE" in mse[0]
