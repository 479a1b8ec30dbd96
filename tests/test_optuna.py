"""The Optuna pruning pattern of examples/plot_optuna_pruning.py: a callback reports
each epoch's validation loss and raises optuna.TrialPruned when the pruner says so."""

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest

from pergdro_sklearn import PerGDROClassifier

optuna = pytest.importorskip("optuna")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plot_optuna_pruning.py"


class OptunaPruning:
    def __init__(self, trial):
        self.trial = trial

    def on_epoch_end(self, estimator, epoch, logs):
        self.trial.report(logs["validation_loss"], step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")


def test_a_pruned_trial_stops_its_fit_at_the_pruned_epoch(shifted):
    fitted = []

    def objective(trial):
        clf = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=20, early_stopping=True,
                                random_state=0, callbacks=[OptunaPruning(trial)],
                                rho=trial.suggest_float("rho", 0.0, 1.0))
        fitted.append(clf)
        clf.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
        return float(clf.best_loss_)

    # any positive loss is above the threshold: every trial is pruned after its warm-up
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0),
                                pruner=optuna.pruners.ThresholdPruner(upper=0.0,
                                                                      n_warmup_steps=3))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert [t.last_step for t in study.trials] == [3, 3]  # steps before 3 are warm-up
    assert all(sorted(t.intermediate_values) == [1, 2, 3] for t in study.trials)
    assert all(np.isfinite(list(t.intermediate_values.values())).all() for t in study.trials)
    # the exception left each fit as it was: unfitted
    assert all(not hasattr(clf, "module_") for clf in fitted)


@pytest.mark.filterwarnings("error")
def test_the_gallery_example_runs_and_prunes(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    study = namespace["study"]
    states = [t.state for t in study.trials]
    assert optuna.trial.TrialState.PRUNED in states
    assert optuna.trial.TrialState.COMPLETE in states
    assert "pruned" in capsys.readouterr().out
