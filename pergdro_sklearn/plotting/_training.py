"""Per-group training loss, accuracy and group weight per epoch."""

import numpy as np

from ._base import final_estimator, group_color, make_axes, require

_PANELS = {
    "loss": ("group_loss_curve_", "training loss (robust)"),
    "accuracy": ("group_accuracy_curve_", "training accuracy"),
    "weight": ("group_weight_history_", "group weight"),
}


class TrainingCurvesDisplay:
    """Per-group training curves: loss, accuracy and inter-group weight per epoch.

    Use :meth:`from_estimator` to draw them from a fitted estimator; the
    constructor takes the numbers themselves. One line per group, in the colours
    of matplotlib's default cycle, the same group in the same colour on every
    panel. The weight panel shows the nominal proportions (the training shares)
    as dotted lines: a weight below its dotted line is a group the adversary
    turned away from.

    Parameters
    ----------
    epochs : ndarray of shape (n_epochs,)
    curves : dict
        Panel name (``"loss"``, ``"accuracy"``, ``"weight"``) -> ndarray of shape
        (n_epochs, n_groups).
    group_names : list of str
    nominal : ndarray of shape (n_groups,) or None, default=None
        The training proportions, drawn on the weight panel.
    estimator_name : str, default=None

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes
        One per panel, in the order of ``curves``.
    axes_ : dict
        Panel name -> its Axes.
    lines_ : dict
        Panel name -> list of the groups' Line2D.
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from pergdro_sklearn import PerGDROClassifier
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> from pergdro_sklearn.plotting import TrainingCurvesDisplay
    >>> data = make_shifted_groups(random_state=0)
    >>> clf = PerGDROClassifier(hidden_layer_sizes=(8,), rho=0.5, max_iter=5,
    ...                         random_state=0)
    >>> clf = clf.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> display = TrainingCurvesDisplay.from_estimator(clf)
    >>> sorted(display.axes_)
    ['accuracy', 'loss', 'weight']
    """

    def __init__(self, epochs, curves, group_names, *, nominal=None, estimator_name=None):
        self.epochs = epochs
        self.curves = curves
        self.group_names = group_names
        self.nominal = nominal
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, panels=("loss", "accuracy", "weight"), ax=None):
        """Draw the curves of a fitted Per-GDRO or GroupDRO estimator.

        Parameters
        ----------
        estimator : fitted estimator, Pipeline ending in one, or fitted search
            A search shows its ``best_estimator_``.
        panels : tuple of {"loss", "accuracy", "weight"}, default=("loss", \
"accuracy", "weight")
            The panels, left to right; ``"accuracy"`` is left out for regressors.
        ax : array-like of matplotlib Axes, default=None
            One per panel; new axes in a new figure by default.

        Returns
        -------
        display : TrainingCurvesDisplay
        """
        final = final_estimator(estimator)
        panels = tuple(panels)
        unknown = sorted(set(panels) - set(_PANELS))
        if unknown or not panels:
            raise ValueError(f"Unknown panels {unknown or list(panels)}; valid: "
                             f"{sorted(_PANELS)}.")
        require(final, "group_loss_curve_", "TrainingCurvesDisplay",
                "Fit a PerGDROClassifier, PerGDRORegressor or GroupDRO estimator first.")
        if getattr(final, "group_accuracy_curve_", None) is None:
            panels = tuple(p for p in panels if p != "accuracy")
            if not panels:
                raise ValueError(f"{type(final).__name__} records no accuracy "
                                 "(a regressor); choose other panels.")
        curves = {p: np.asarray(getattr(final, _PANELS[p][0]), dtype=float) for p in panels}
        counts = getattr(final, "group_counts_", None)
        nominal = None if counts is None else np.asarray(counts, float) / np.sum(counts)
        epochs = np.arange(1, next(iter(curves.values())).shape[0] + 1)
        display = cls(epochs, curves, [str(g) for g in final.groups_], nominal=nominal,
                      estimator_name=type(final).__name__)
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` (one Axes per panel) or on new axes.

        Returns
        -------
        display : TrainingCurvesDisplay
            With ``ax_``, ``axes_``, ``lines_`` and ``figure_`` set.
        """
        names = list(self.curves)
        axes, figure = make_axes(ax, len(names), type(self).__name__)
        self.axes_, self.lines_ = {}, {}
        for axis, name in zip(axes, names):
            self.axes_[name] = axis
            values = np.asarray(self.curves[name], dtype=float)
            self.lines_[name] = [
                axis.plot(self.epochs, values[:, g], color=group_color(g), label=label)[0]
                for g, label in enumerate(self.group_names)]
            if name == "weight" and self.nominal is not None:
                for g, share in enumerate(self.nominal):
                    axis.axhline(share, color=group_color(g), linestyle=":", linewidth=1)
            axis.set_xlabel("epoch")
            axis.set_ylabel(_PANELS[name][1])
            axis.set_title(_PANELS[name][1].split(" (")[0].capitalize() + " per group")
        axes[-1].legend(title="group", fontsize="small")
        if self.estimator_name:
            figure.suptitle(self.estimator_name)
        self.ax_, self.figure_ = axes, figure
        return self


__all__ = ["TrainingCurvesDisplay"]
