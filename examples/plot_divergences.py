"""
==================================================
The inter-group adversary's weights as rho grows
==================================================

Per-GDRO's inter-group adversary picks the group weights ``p`` that maximise the
weighted loss ``sum_g p_g L_g`` within a phi-divergence ball of radius ``rho`` around
the training proportions. :func:`~pergdro_sklearn.divergences.worst_case_weights`
solves this exactly for every divergence of the paper's Table 1.

Here four groups with the proportions of the paper's Appendix E and fixed losses. At
``rho = 0`` the weights are the training proportions; as ``rho`` grows, weight flows
to the groups with high losses, until the ball holds the point mass on the worst
group. How fast, and in which order, depends on the divergence: total variation moves
mass greedily from the lowest losses to the highest, KL tilts exponentially, Burg and
the chi-square divergences price weight on a small group differently.
"""

import matplotlib.pyplot as plt
import numpy as np

from pergdro_sklearn.divergences import divergence_value, nominal_weights, worst_case_weights

losses = np.array([0.20, 0.35, 0.60, 0.90])         # group 3 has the highest loss
nominal = nominal_weights([500, 420, 140, 140])      # Appendix E's training rows
radii = np.logspace(-3, 1, 60)
divergences = ["kl", "chi2", "burg", "tv"]

weights = {name: np.array([worst_case_weights(losses, nominal, rho, name) for rho in radii])
           for name in divergences}
for name in divergences:
    p = weights[name][len(radii) // 2]
    print(f"{name:5s} rho={radii[len(radii) // 2]:.3f}: p={np.round(p, 3)}, "
          f"divergence {divergence_value(p, nominal, name):.3f}, risk {p @ losses:.3f}")

# %%
# Each group's weight against the radius
# --------------------------------------
#
# One panel per divergence; the dotted lines are the training proportions.

fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True, sharey=True)
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
for ax, name in zip(axes.ravel(), divergences):
    for g in range(len(losses)):
        ax.plot(radii, weights[name][:, g], color=colors[g],
                label=f"group {g} (loss {losses[g]:.2f})")
        ax.axhline(nominal[g], color=colors[g], linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_title(name)
for ax in axes[1]:
    ax.set_xlabel("rho")
for ax in axes[:, 0]:
    ax.set_ylabel("worst-case weight p_g")
axes[0, 0].legend(fontsize=8)
fig.tight_layout()

# %%
# The worst-case risk
# -------------------
#
# ``sum_g p_g L_g`` rises from the nominal risk to the worst group's loss.

fig, ax = plt.subplots(figsize=(6, 3.5))
for name in divergences:
    ax.plot(radii, weights[name] @ losses, label=name)
ax.axhline(nominal @ losses, color="gray", linestyle=":", label="nominal risk")
ax.axhline(losses.max(), color="gray", linestyle="--", label="worst group's loss")
ax.set_xscale("log")
ax.set_xlabel("rho")
ax.set_ylabel("worst-case risk")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
