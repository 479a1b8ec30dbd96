"""
====================================================
How much shift each group takes: COMPAS, four models
====================================================

:func:`pergdro_sklearn.metrics.group_shift_report` moves the rows of one group at
a time within a ball of radius ``r`` (every row at most ``r``, in standard
deviations of the features here) to raise the loss, and reports the group's
accuracy there. The package's networks are attacked by gradient ascent and get
Proposition 1's certified bound on the attacked loss; any other model, here a
gradient-boosted tree, by a seeded gradient-free random search, so that all four
sit on one page. :class:`~pergdro_sklearn.plotting.GroupShiftDisplay` draws one
curve per group.

The data are ProPublica's COMPAS recidivism records with race groups
(:func:`~pergdro_sklearn.datasets.fetch_compas` downloads them once, 2.5 MB, or
reads ``$PERGDRO_DATA_HOME``). The networks are small (one hidden layer of 16, 15
epochs) and so is the search (``n_iter=8``, 4 initial points, one refit seed), so
that the gallery stays quick; ``benchmarks/shift_report.py`` runs the models with
their default sizes.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn.datasets import fetch_compas, train_val_test_split_by_group
from pergdro_sklearn.metrics import group_shift_report
from pergdro_sklearn.plotting import GroupShiftDisplay

compas = fetch_compas()
split = train_val_test_split_by_group(compas.data, compas.target, compas.groups,
                                      min_group_size=30, random_state=0)
scaler = StandardScaler().fit(split["X_train"])  # radii in standard deviations
X_train, X_test = scaler.transform(split["X_train"]), scaler.transform(split["X_test"])
y_train, y_test = split["y_train"], split["y_test"]
g_train, g_test = split["groups_train"], split["groups_test"]

net = dict(hidden_layer_sizes=(16,), max_iter=15, random_state=0)  # small, to stay quick
models = {
    "ERM": PerGDROClassifier(rho=0.0, epsilon=0.0, **net),
    "GroupDRO": GroupDROClassifier(**net),
    # baselines=None keeps the search's answer a network (with its certified bound)
    "Per-GDRO search": PerGDROSearchCV(PerGDROClassifier(**net), n_iter=8,
                                       n_initial_points=4, baselines=None, random_state=0),
    "HistGradientBoosting": HistGradientBoostingClassifier(random_state=0),
}
radii = [0, 0.05, 0.1, 0.25, 0.5, 1.0]
reports = {}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # default budgets, on purpose
    for name, model in models.items():
        if isinstance(model, HistGradientBoostingClassifier):
            model.fit(X_train, y_train)
        else:
            model.fit(X_train, y_train, groups=g_train)
        reports[name] = group_shift_report(model, X_test, y_test, g_test, radii=radii,
                                           random_state=0)

fig, axes = plt.subplots(1, 4, figsize=(18, 4.2), sharey=True, layout="constrained")
for ax, (name, report) in zip(axes, reports.items()):
    ax.set_xscale("symlog", linthresh=0.05)  # before drawing: the display sets the ticks
    GroupShiftDisplay.from_report(report, name=name, ax=ax)
plt.show()

# %%
# The numbers behind the curves: each group's clean accuracy with its bootstrap
# interval, the accuracy the attack left at two radii, and the smallest radius that
# cost the group five accuracy points. The tiny groups (Asian: a handful of test
# rows) say little; their intervals say so.
columns = ["n", "metric", "metric_low", "metric_high", "metric_at_0.1", "metric_at_0.5",
           "radius_to_lose_5pt"]
for name, report in reports.items():
    print(f"{name} ({report.attrs['attack']} attack)")
    print(report[columns].round(3).to_string(), end="\n\n")

# %%
# For the networks, Proposition 1's certified bound on each group's attacked mean
# loss (the clean loss plus the certified Lipschitz constant times the radius)
# holds whatever attack found the shift; it is loose, a product of spectral norms.
display = GroupShiftDisplay.from_report(reports["ERM"], kind="loss", name="ERM")
display.ax_.set_yscale("log")
plt.show()
