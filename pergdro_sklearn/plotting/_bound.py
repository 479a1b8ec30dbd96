"""Proposition 1 per epoch: the bound, its three terms and the robust risk."""

import numpy as np

from ._base import final_estimator, make_axes, require

_TERMS = (("nominal_risk", "nominal risk  sum p̂_i L_i"),
          ("dispersion", "dispersion  ||p|| · spread of L"),
          ("within_group", "within-group  Lip(l) sum p_i ε_i"))


class RiskBoundDisplay:
    """Proposition 1 per epoch: its three terms stacked, the bound and the robust risk.

    The bound on the robust risk is the sum of the nominal risk, the dispersion
    term and the within-group term (``Lip(l) * sum_i p_i epsilon_i``); the areas
    stack the three terms, so their top edge is the bound, and the black line is
    the robust risk (Eq. 9) it bounds. With the certified Lipschitz constant the
    bound is a true upper bound (and often loose: the product of the layers'
    spectral norms); the empirical constant (the largest input-gradient norm at
    the data) gives a tighter, uncertified picture.

    Use :meth:`from_estimator` on an estimator fitted with
    ``track_risk_bound=True``; the constructor takes the numbers.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
    terms : dict
        ``"nominal_risk"``, ``"dispersion"``, ``"within_group"``: ndarray of shape
        (n_epochs,) each.
    robust_risk : ndarray of shape (n_epochs,)
    lipschitz : {"certified", "empirical"}, default="certified"
        Which constant the within-group term used (for the labels).

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    areas_ : list of matplotlib PolyCollection
        The three terms, bottom to top.
    bound_, robust_risk_ : matplotlib Line2D

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from pergdro_sklearn import PerGDROClassifier
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> from pergdro_sklearn.plotting import RiskBoundDisplay
    >>> data = make_shifted_groups(random_state=0)
    >>> clf = PerGDROClassifier(hidden_layer_sizes=(8,), epsilon=0.1, max_iter=3,
    ...                         track_risk_bound=True, random_state=0)
    >>> clf = clf.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> display = RiskBoundDisplay.from_estimator(clf, lipschitz="empirical")
    >>> len(display.areas_)
    3
    """

    def __init__(self, epochs, terms, robust_risk, *, lipschitz="certified"):
        self.epochs = epochs
        self.terms = terms
        self.robust_risk = robust_risk
        self.lipschitz = lipschitz

    @classmethod
    def from_estimator(cls, estimator, *, lipschitz="certified", ax=None):
        """Draw ``risk_bound_history_`` of a Per-GDRO estimator.

        Parameters
        ----------
        estimator : fitted PerGDROClassifier or PerGDRORegressor (or a Pipeline \
ending in one)
            Fitted with ``track_risk_bound=True``.
        lipschitz : {"certified", "empirical"}, default="certified"
            The Lipschitz constant of the within-group term.
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : RiskBoundDisplay
        """
        if lipschitz not in ("certified", "empirical"):
            raise ValueError(f"lipschitz must be 'certified' or 'empirical', got "
                             f"{lipschitz!r}.")
        final = final_estimator(estimator)
        history = require(final, "risk_bound_history_", "RiskBoundDisplay",
                          "Fit a Per-GDRO estimator with track_risk_bound=True.")
        terms = {"nominal_risk": history["nominal_risk"],
                 "dispersion": history["dispersion"],
                 "within_group": history[f"within_group_{lipschitz}"]}
        terms = {k: np.asarray(v, dtype=float) for k, v in terms.items()}
        display = cls(np.asarray(history["epoch"]), terms,
                      np.asarray(history["robust_risk"], dtype=float), lipschitz=lipschitz)
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` or on new axes.

        Returns
        -------
        display : RiskBoundDisplay
        """
        axes, figure = make_axes(ax, 1, type(self).__name__, panel_size=(6.0, 4.0))
        axis = axes[0]
        epochs = np.asarray(self.epochs)
        bottom = np.zeros(epochs.shape[0])
        self.areas_ = []
        for k, (key, label) in enumerate(_TERMS):
            top = bottom + np.asarray(self.terms[key], dtype=float)
            if key == "within_group":
                label = f"{label} ({self.lipschitz} Lip)"
            self.areas_.append(axis.fill_between(epochs, bottom, top, color=f"C{k}",
                                                 alpha=0.35, label=label))
            bottom = top
        self.bound_ = axis.plot(epochs, bottom, color="C3", linewidth=2,
                                label=f"bound ({self.lipschitz})")[0]
        self.robust_risk_ = axis.plot(epochs, self.robust_risk, color="black", marker=".",
                                      label="robust risk (Eq. 9)")[0]
        axis.set_xlabel("epoch")
        axis.set_ylabel("risk on the training data")
        axis.set_title("Proposition 1 per epoch")
        axis.legend(fontsize="small")
        self.ax_, self.figure_ = axis, figure
        return self


__all__ = ["RiskBoundDisplay"]
