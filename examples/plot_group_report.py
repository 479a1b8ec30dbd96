"""
======================================
Comparing models group by group
======================================

:func:`pergdro_sklearn.metrics.group_report` gives one row per group: its size,
the metric and a bootstrap confidence interval.
:class:`~pergdro_sklearn.plotting.GroupReportDisplay` draws the reports of several
fitted models side by side, so a gain on the worst group can be read against the
uncertainty of the small groups. Here ERM, GroupDRO and Per-GDRO are compared on
the clean test split of the Appendix E data.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.metrics import group_report
from pergdro_sklearn.plotting import GroupReportDisplay

data = make_shifted_groups(random_state=0)
common = dict(hidden_layer_sizes=(16,), max_iter=20, random_state=0)
models = {
    "ERM": PerGDROClassifier(rho=0.0, epsilon=0.0, **common),
    "GroupDRO": GroupDROClassifier(**common),
    "Per-GDRO": PerGDROClassifier(rho=0.5, epsilon={3: 1.0}, **common),
}
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # short trainings, on purpose
    for model in models.values():
        model.fit(data.X_train, data.y_train, groups=data.groups_train)

display = GroupReportDisplay.from_estimators(models, data.X_test, data.y_test,
                                             data.groups_test, n_bootstrap=500)
plt.show()

# %%
# The numbers behind one model's bars; ``attrs`` holds the worst group and the
# largest gap between two groups.
report = group_report(data.y_test, models["Per-GDRO"].predict(data.X_test),
                      data.groups_test, n_bootstrap=500)
print(report)
print("worst group:", report.attrs["worst"], "gap:", report.attrs["gap"])
