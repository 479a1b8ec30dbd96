"""
=====================================
Proposition 1's bound, epoch by epoch
=====================================

The paper's Proposition 1 bounds the robust risk by three terms: the nominal
risk, a dispersion term (how unequal the groups' losses are, scaled by the norm
of the adversary's group weights) and a within-group term (the loss's Lipschitz
constant times the weighted radii). With ``track_risk_bound=True`` a Per-GDRO
estimator records them on its training data after every epoch
(``risk_bound_history_``), and :class:`~pergdro_sklearn.plotting.RiskBoundDisplay`
stacks them, so that the top edge is the bound, beside the robust risk (black).

The certified Lipschitz constant (the product of the layers' spectral norms)
gives a true but loose bound; the empirical one (the largest input-gradient norm
at the data) shows the terms' shares without a guarantee.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from pergdro_sklearn import PerGDROClassifier
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.plotting import RiskBoundDisplay

data = make_shifted_groups(random_state=0)
clf = PerGDROClassifier(hidden_layer_sizes=(16, 16), rho=0.5, epsilon=0.2, max_iter=15,
                        track_risk_bound=True, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)  # a short training, on purpose
    clf.fit(data.X_train, data.y_train, groups=data.groups_train)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
RiskBoundDisplay.from_estimator(clf, lipschitz="certified", ax=left)
RiskBoundDisplay.from_estimator(clf, lipschitz="empirical", ax=right)
plt.show()
