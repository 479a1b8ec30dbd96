"""
===============================================
How PerGDROSearchCV picks among its candidates
===============================================

:class:`~pergdro_sklearn.PerGDROSearchCV` trains candidate radii on the training rows
and scores each on held-out validation rows (by default the worst group's clean
validation loss). With few validation rows in the smallest group, the candidate
with the lowest score is mostly the luckiest. The default rule, ``selection="one_se"``,
therefore takes the *most robust* candidate (the largest radii relative to their
bounds) among those within one standard error of the best candidate, or of ERM
(:ref:`search_selection`).

This search is small (16 candidates of a one-layer network trained for 50 epochs;
the default budget is ``n_iter=50``) so that it runs in seconds. The plot shows every
candidate's validation objective against how far it reaches into the search box, the
one-standard-error threshold, the candidate with the lowest objective and the pick.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.metrics import worst_group_accuracy

data = make_shifted_groups(random_state=0)
search = PerGDROSearchCV(
    PerGDROClassifier(hidden_layer_sizes=(32,), max_iter=50, random_state=0),
    n_initial_points=8, n_iter=16, n_points=4, random_state=0,
    # this example draws the one-standard-error rule among the Per-GDRO candidates;
    # the default rule is "paired_se", with the trees and a linear model in the pool
    selection="one_se", baselines=None,
)
with warnings.catch_warnings():
    # A short search trains every candidate for 50 epochs on purpose, before its
    # training loss has settled; each such fit would warn, and the search compares the
    # candidates at that budget anyway.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    search.fit(data.X_train, data.y_train, groups=data.groups_train)

print("rho bounds", search.rho_bounds_, "epsilon upper bounds", search.epsilon_bounds_[:, 1])
print("pick", search.best_params_)
pred = search.predict(data.X_test)
print("worst-group test accuracy of the pick",
      round(worst_group_accuracy(data.y_test, pred, groups=data.groups_test), 3))

# %%
# The candidates and the pick
# ---------------------------
#
# A candidate's reach is ``rho / rho_high`` plus the mean over groups of
# ``epsilon_g / epsilon_high_g``, from 0 (ERM, always the first candidate) to 2.
# The error bars are the standard errors the rule uses (from the worst group's
# validation rows). ``pick_candidates`` tells what another rule would have picked
# from the same evaluations.

results = search.cv_results_
objective = results["mean_test_objective"]
std_error = results["std_error_test_objective"]
rho = results["param_rho"].astype(float)
epsilon = np.array([params["epsilon"] for params in results["params"]])
rho_high, eps_high = search.rho_bounds_[1], search.epsilon_bounds_[:, 1]
reach = rho / rho_high + (epsilon / eps_high).mean(axis=1)

best = int(np.argmin(objective))
threshold = max(objective[best] + std_error[best], objective[0] + std_error[0])
picked = search.best_index_
print("lowest objective: candidate", best, "| one_se pick: candidate", picked,
      "| 'best' rule:", search.pick_candidates("best")[0].tolist())

fig, ax = plt.subplots(figsize=(7, 4))
ax.errorbar(reach, objective, yerr=std_error, fmt="o", color="tab:blue", alpha=0.7,
            label="candidate (± standard error)")
ax.axhline(threshold, color="gray", linestyle="--",
           label="one standard error above the best (or ERM)")
ax.plot(reach[0], objective[0], "s", color="black", markersize=9, fillstyle="none",
        label="ERM (rho = 0, epsilon = 0)")
ax.plot(reach[best], objective[best], "v", color="tab:orange", markersize=11,
        label="lowest objective")
ax.plot(reach[picked], objective[picked], "*", color="tab:red", markersize=16,
        label="the pick (one_se)")
ax.set_xlabel("reach into the search box (0 = ERM)")
ax.set_ylabel("worst-group validation loss")
ax.set_title("PerGDROSearchCV: 16 candidates on Appendix E")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
