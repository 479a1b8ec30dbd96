"""
===========================================
Per-group training curves and group weights
===========================================

A Per-GDRO classifier is trained on the synthetic data of the paper's Appendix E:
four groups, the two small ones (2 and 3) a seventh of the rows each, and group 3
shifted in training. :class:`~pergdro_sklearn.plotting.TrainingCurvesDisplay`
draws, epoch by epoch, each group's robust training loss, its training accuracy
(``group_accuracy_curve_``, measured on the rows each epoch trained on) and the
weight the inter-group adversary gives it (``group_weight_history_``). The dotted
lines are the groups' shares of the training rows: a weight above its dotted
line is a group the adversary pushes the model to care more about.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from pergdro_sklearn import PerGDROClassifier
from pergdro_sklearn.datasets import make_shifted_groups
from pergdro_sklearn.plotting import TrainingCurvesDisplay

data = make_shifted_groups(random_state=0)
clf = PerGDROClassifier(hidden_layer_sizes=(32, 32), rho=0.5, epsilon={3: 0.5},
                        max_iter=20, random_state=0)
with warnings.catch_warnings():
    # 20 epochs are enough for the picture, not for the loss to settle
    warnings.simplefilter("ignore", ConvergenceWarning)
    clf.fit(data.X_train, data.y_train, groups=data.groups_train)

display = TrainingCurvesDisplay.from_estimator(clf)
plt.show()

# %%
# The display keeps its axes: ``display.axes_["weight"]`` is the right panel, and
# ``display.lines_["accuracy"]`` holds one line per group.
print({name: round(float(line.get_ydata()[-1]), 3)
       for name, line in zip(display.group_names, display.lines_["accuracy"])})
