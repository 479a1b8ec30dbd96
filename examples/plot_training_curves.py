"""
==============================================
Per-group training loss and group weights
==============================================

A fitted Per-GDRO estimator keeps what happened during training:
``group_loss_curve_`` holds each group's mean robust training loss per epoch (the
loss on rows moved by the within-group adversary), ``group_weight_history_`` the
inter-group weights ``p`` after each epoch, and, with early stopping,
``validation_group_loss_curve_`` each group's clean validation loss and
``best_epoch_`` the epoch whose model is kept.

Per-GDRO moves ``p`` towards the exact worst case in the KL ball of radius ``rho``
around the training proportions (here once per epoch, a step of
``group_step_size=0.5``), so the weight flows to the groups whose robust loss is
highest. GroupDRO's weights ``q`` move after every minibatch by exponentiated
gradient instead. Early stopping ends both fits once the worst group's validation
loss has stopped improving, and keeps the best epoch.
"""

import matplotlib.pyplot as plt
import numpy as np

from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier
from pergdro_sklearn.datasets import make_shifted_groups

data = make_shifted_groups(random_state=0)
common = dict(hidden_layer_sizes=(32,), max_iter=200, early_stopping=True, random_state=0)
pergdro = PerGDROClassifier(rho=0.5, epsilon={3: 1.0}, **common)
groupdro = GroupDROClassifier(step_size=0.01, **common)
for model in (pergdro, groupdro):
    model.fit(data.X_train, data.y_train, groups=data.groups_train)
    print(f"{type(model).__name__}: {model.n_iter_} epochs, best epoch {model.best_epoch_}, "
          f"final weights {np.round(model.group_weights_, 3)}")
print("training proportions", np.round(pergdro.group_counts_ / pergdro.group_counts_.sum(), 3))

# %%
# Curves per epoch
# ----------------
#
# Top: Per-GDRO's robust training loss per group and its group weights. Bottom:
# the clean validation loss per group (what early stopping watches, through its
# maximum) and GroupDRO's weights for comparison. The dashed line marks the kept
# epoch.

fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex="col")
epochs = np.arange(1, pergdro.n_iter_ + 1)
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
panels = [
    (axes[0, 0], np.array(pergdro.group_loss_curve_), "robust training loss",
     "Per-GDRO: training loss per group", pergdro),
    (axes[0, 1], np.array(pergdro.group_weight_history_), "weight p_g",
     "Per-GDRO: group weights", pergdro),
    (axes[1, 0], np.array(pergdro.validation_group_loss_curve_), "clean validation loss",
     "Per-GDRO: validation loss per group", pergdro),
    (axes[1, 1], np.array(groupdro.group_weight_history_), "weight q_g",
     "GroupDRO: group weights", groupdro),
]
for ax, curves, ylabel, title, model in panels:
    x = np.arange(1, curves.shape[0] + 1)
    for g, label in enumerate(model.groups_):
        ax.plot(x, curves[:, g], color=colors[g], label=f"group {label}")
    ax.axvline(model.best_epoch_, color="gray", linestyle="--", linewidth=1)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
for ax in axes[1]:
    ax.set_xlabel("epoch")
axes[0, 1].legend(fontsize=8)
fig.tight_layout()
plt.show()
