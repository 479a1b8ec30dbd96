"""
=====================================
Pruning unpromising fits with Optuna
=====================================

Optuna can stop a trial whose learning curve already trails the others
(pruning). The network estimators report every epoch to their ``callbacks``, so
a small callback is all the bridge needs: it hands Optuna the worst-group
validation loss of each epoch and raises :class:`optuna.TrialPruned` when
Optuna's pruner says so. The exception leaves ``fit`` (the estimator stays as it
was) and Optuna records the trial as pruned.

The validation loss in the logs comes from ``early_stopping=True``: each fit
holds out ``validation_fraction`` of every group's rows and measures the loss
of every group on them after each epoch.
"""

# %%
# The data and the callback
# -------------------------
# :func:`~pergdro_sklearn.datasets.make_shifted_groups` gives four groups; the
# last two are small and shifted, so the worst group is where tuning shows.
import matplotlib.pyplot as plt
import optuna

from pergdro_sklearn import PerGDROClassifier
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.metrics import worst_group_accuracy

data = make_shifted_groups(random_state=0)


class OptunaPruning:
    """Report the worst-group validation loss to an Optuna trial after each epoch."""

    def __init__(self, trial):
        self.trial = trial

    def on_epoch_end(self, estimator, epoch, logs):
        self.trial.report(logs["validation_loss"], step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")


# %%
# The objective
# -------------
# Each trial draws the inter-group radius ``rho``, a shared Wasserstein radius
# ``epsilon``, the L2 penalty ``alpha`` and the learning rate, trains with the
# pruning callback, and returns the worst-group accuracy on the separate
# validation split. Early stopping ends the fits that stop improving.
def objective(trial):
    clf = PerGDROClassifier(
        hidden_layer_sizes=(16,),
        rho=trial.suggest_float("rho", 1e-3, 2.0, log=True),
        epsilon=trial.suggest_float("epsilon", 0.0, 2.0),
        alpha=trial.suggest_float("alpha", 1e-5, 1e-1, log=True),
        learning_rate_init=trial.suggest_float("learning_rate_init", 1e-4, 3e-2, log=True),
        max_iter=60,
        early_stopping=True,
        n_iter_no_change=3,
        tol=1e-3,
        random_state=0,
        callbacks=[OptunaPruning(trial)],
    )
    clf.fit(data.X_train, data.y_train, groups=data.groups_train)
    return worst_group_accuracy(data.y_val, clf.predict(data.X_val), groups=data.groups_val)


# %%
# The study
# ---------
# The median pruner stops a trial whose loss at some epoch is worse than the
# median of the earlier trials at that epoch (after three full trials, and
# from the second epoch on).
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(
    direction="maximize",
    sampler=optuna.samplers.TPESampler(seed=0),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2),
)
study.optimize(objective, n_trials=12)

pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
print(f"{len(complete)} trials complete, {len(pruned)} pruned "
      f"(after {sorted(t.last_step for t in pruned)} epochs)")
print(f"best worst-group accuracy {study.best_value:.3f} with {study.best_params}")

# %%
# The learning curves Optuna saw
# ------------------------------
# Each trial's reported worst-group validation loss per epoch: the pruned
# trials (dashed) stop where the pruner judged them behind the median.
fig, ax = plt.subplots(figsize=(6, 3.5))
for trial in study.trials:
    steps = sorted(trial.intermediate_values)
    if not steps:
        continue
    pruned_trial = trial.state == optuna.trial.TrialState.PRUNED
    ax.plot(steps, [trial.intermediate_values[s] for s in steps],
            linestyle="--" if pruned_trial else "-", marker=".",
            color="tab:red" if pruned_trial else "tab:blue", alpha=0.8)
ax.plot([], [], "-", color="tab:blue", label="complete")
ax.plot([], [], "--", color="tab:red", label="pruned")
ax.set_xlabel("epoch")
ax.set_ylabel("worst-group validation loss")
ax.legend()
fig.tight_layout()
