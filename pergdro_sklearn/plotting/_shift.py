"""The shift report drawn: one curve per group of its metric against the radius."""

import math

import numpy as np

from .._constants import (
    DEFAULT_BOOTSTRAP_CONFIDENCE,
    DEFAULT_N_BOOTSTRAP,
    DEFAULT_SHIFT_POINTS,
    DEFAULT_SHIFT_QUERIES,
    DEFAULT_SHIFT_RADII,
    EVAL_ATTACK_STEPS,
)
from .._shift import group_shift_report, radius_name
from ._base import group_color, make_axes

KINDS = ("metric", "loss")


class GroupShiftDisplay:
    """Each group's metric under a within-group shift: one curve per group.

    The x axis is the radius of the attack on the group's own rows, the y axis
    the group's metric there (``kind="metric"``: accuracy or MSE) or its mean
    loss (``kind="loss"``, with Proposition 1's certified bound dashed for the
    package's networks). The clean value sits at radius 0 with its bootstrap
    interval as an error bar; the legend gives each group's size. Use
    :meth:`from_estimator` (a fitted model and data) or :meth:`from_report`
    (a frame of :func:`pergdro_sklearn.metrics.group_shift_report`).

    Parameters
    ----------
    report : pandas.DataFrame
        A frame of :func:`~pergdro_sklearn.metrics.group_shift_report`.
    kind : {"metric", "loss"}, default="metric"
    name : str, default=None
        The model's name, for the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    lines_ : dict
        Group label -> its Line2D.
    bounds_ : dict
        Group label -> the Line2D of its certified bound (``kind="loss"``, networks).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.linear_model import LogisticRegression
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> from pergdro_sklearn.plotting import GroupShiftDisplay
    >>> data = make_shifted_groups(random_state=0)
    >>> model = LogisticRegression().fit(data.X_train, data.y_train)
    >>> display = GroupShiftDisplay.from_estimator(
    ...     model, data.X_test, data.y_test, data.groups_test, radii=[0, 0.5, 1],
    ...     n_queries=10, n_bootstrap=50)
    >>> sorted(display.lines_)
    [0, 1, 2, 3]
    """

    def __init__(self, report, *, kind="metric", name=None):
        self.report = report
        self.kind = kind
        self.name = name

    @classmethod
    def from_estimator(cls, estimator, X, y, groups, *, radii=DEFAULT_SHIFT_RADII,
                       order="inf", points=DEFAULT_SHIFT_POINTS, attack="auto",
                       attack_steps=EVAL_ATTACK_STEPS, n_queries=DEFAULT_SHIFT_QUERIES,
                       n_bootstrap=DEFAULT_N_BOOTSTRAP,
                       confidence=DEFAULT_BOOTSTRAP_CONFIDENCE, random_state=0,
                       kind="metric", name=None, ax=None):
        """Report ``estimator`` on ``(X, y, groups)`` and draw the report.

        The parameters up to ``random_state`` are those of
        :func:`~pergdro_sklearn.metrics.group_shift_report`; ``kind``, ``name`` and
        ``ax`` those of :meth:`from_report`. The report is kept as ``report``.

        Returns
        -------
        display : GroupShiftDisplay
        """
        _check_kind(kind)
        report = group_shift_report(
            estimator, X, y, groups, radii=radii, order=order, points=points,
            attack=attack, attack_steps=attack_steps, n_queries=n_queries,
            n_bootstrap=n_bootstrap, confidence=confidence, random_state=random_state)
        if name is None:
            name = type(estimator).__name__
        return cls(report, kind=kind, name=name).plot(ax=ax)

    @classmethod
    def from_report(cls, report, *, kind="metric", name=None, ax=None):
        """Draw a frame of :func:`~pergdro_sklearn.metrics.group_shift_report`.

        Parameters
        ----------
        report : pandas.DataFrame
        kind : {"metric", "loss"}, default="metric"
            The group's metric, or its mean loss and certified bound.
        name : str, default=None
            The model's name, for the title.
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : GroupShiftDisplay
        """
        return cls(report, kind=kind, name=name).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` or on new axes.

        Returns
        -------
        display : GroupShiftDisplay
        """
        kind = _check_kind(self.kind)
        report = self.report
        radii = _check_report(report, kind)
        axes, figure = make_axes(ax, 1, type(self).__name__, panel_size=(6.0, 4.0))
        axis = axes[0]
        x = np.asarray(radii, dtype=float)
        self.lines_, self.bounds_ = {}, {}
        for position, (label, row) in enumerate(report.iterrows()):
            values = np.array([row[f"{kind}_at_{radius_name(r)}"] for r in radii], dtype=float)
            xs = x
            if radii[0] != 0:  # the clean value is the value at radius 0
                xs, values = np.r_[0.0, x], np.r_[row[kind], values]
            color = group_color(position)
            self.lines_[label] = axis.plot(xs, values, marker="o", color=color,
                                           label=f"{label} (n={int(row['n'])})")[0]
            if kind == "metric" and not math.isnan(row["metric_low"]):
                axis.errorbar([0.0], [row["metric"]], color=color, capsize=3,
                              yerr=[[row["metric"] - row["metric_low"]],
                                    [row["metric_high"] - row["metric"]]])
            if kind == "loss":
                bound = np.array([row[f"certified_bound_at_{radius_name(r)}"] for r in radii],
                                 dtype=float)
                if not np.all(np.isnan(bound)):
                    self.bounds_[label] = axis.plot(x, bound, linestyle="--", color=color)[0]
        ticks = np.r_[0.0, x] if radii[0] != 0 else x
        axis.set_xticks(ticks, [f"{t:g}" for t in ticks])
        axis.minorticks_off()
        attrs = report.attrs
        metric = attrs.get("metric", "metric")
        if kind == "metric":
            better = "lower" if attrs.get("lower_is_better") else "higher"
            axis.set_ylabel(f"{metric} ({better} is better)")
        else:
            axis.set_ylabel("mean loss" + (" (dashed: certified bound)" if self.bounds_
                                           else ""))
        axis.set_xlabel(f"radius of the within-group shift (order {attrs.get('order')})")
        title = f"{attrs.get('attack', '')} attack".strip()
        axis.set_title(f"{self.name}: {title}" if self.name else title)
        axis.legend(fontsize="small", title="group")
        self.ax_, self.figure_ = axis, figure
        return self


def _check_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
    return kind


def _check_report(report, kind):
    """The report's radii, or a ValueError saying it is not a shift report."""
    radii = getattr(report, "attrs", {}).get("radii")
    needed = ["n", kind] + ([] if radii is None else
                            [f"{kind}_at_{radius_name(r)}" for r in radii])
    columns = getattr(report, "columns", [])
    missing = [c for c in needed if c not in columns]
    if radii is None or missing:
        raise ValueError("GroupShiftDisplay draws a frame of group_shift_report (its "
                         f"attrs['radii'] and columns {missing or needed} are missing).")
    return list(radii)


__all__ = ["GroupShiftDisplay"]
