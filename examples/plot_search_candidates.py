"""
=========================================
The search's candidates, the pick and ERM
=========================================

:class:`~pergdro_sklearn.PerGDROSearchCV` evaluates candidate radii on a
validation split and picks one. :class:`~pergdro_sklearn.plotting.SearchCandidatesDisplay`
draws every candidate at its validation objective (here the worst group's
validation loss, lower is better) with an error bar of one standard error, against
how far its radii reach into the search box (0 is ERM). The star is the pick, the
square ERM: with the default rule ``"one_se"`` the pick is the most robust
candidate whose objective lies within one standard error of the best one.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.plotting import SearchCandidatesDisplay

data = make_shifted_groups(random_state=0)
search = PerGDROSearchCV(
    PerGDROClassifier(hidden_layer_sizes=(16,), max_iter=10, random_state=0),
    n_iter=10, n_initial_points=6, refit=False, random_state=0)
with warnings.catch_warnings():
    # 10 epochs per candidate keep the example short; the loss has not settled
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(data.X_train, data.y_train, groups=data.groups_train)

display = SearchCandidatesDisplay.from_search(search)
plt.show()

# %%
# The same candidates along ``rho`` alone, or in evaluation order
# (``x="order"``); any column of ``cv_results_`` can be the x axis.
SearchCandidatesDisplay.from_search(search, x="param_rho")
plt.show()
print("picked:", search.best_params_)
