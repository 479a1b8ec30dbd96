"""Several fitted models compared group by group: the group report drawn."""

import numpy as np
from sklearn.metrics import accuracy_score

from .._constants import DEFAULT_BOOTSTRAP_CONFIDENCE, DEFAULT_N_BOOTSTRAP
from .._report import group_report
from ._base import make_axes


class GroupReportDisplay:
    """One metric per group for several models: bars with bootstrap intervals.

    The groups are along the x axis (labelled with their sizes), one bar per
    model in each; the error bars are the reports' bootstrap confidence
    intervals, and each model's worst group is named in the legend. Use
    :meth:`from_estimators` (fitted models and data) or :meth:`from_reports`
    (frames of :func:`pergdro_sklearn.metrics.group_report`).

    Parameters
    ----------
    reports : dict
        Model name -> group report (a DataFrame with ``size``, ``<metric>``,
        ``<metric>_low`` and ``<metric>_high``).
    metric : str
        The metric column to draw.
    lower_is_better : bool, default=False
        Whether the worst group is the highest value.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    bars_ : dict
        Model name -> its BarContainer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.linear_model import LogisticRegression
    >>> from pergdro_sklearn.plotting import GroupReportDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> groups = np.where(X[:, 1] > 0, "upper", "lower")
    >>> models = {"logistic": LogisticRegression().fit(X, y),
    ...           "majority": DummyClassifier().fit(X, y)}
    >>> display = GroupReportDisplay.from_estimators(models, X, y, groups, n_bootstrap=100)
    >>> [t.get_text().split()[0] for t in display.ax_.get_xticklabels()]
    ['lower', 'upper']
    """

    def __init__(self, reports, metric, *, lower_is_better=False):
        self.reports = reports
        self.metric = metric
        self.lower_is_better = lower_is_better

    @classmethod
    def from_estimators(cls, estimators, X, y, groups, *, metric=accuracy_score,
                        metric_name=None, lower_is_better=False,
                        n_bootstrap=DEFAULT_N_BOOTSTRAP,
                        confidence=DEFAULT_BOOTSTRAP_CONFIDENCE, random_state=0, ax=None):
        """Report every model on ``(X, y, groups)`` and draw the reports.

        Parameters
        ----------
        estimators : dict or list
            Fitted models, ``{name: model}`` (a list is named by class).
        X, y : array-like
            Data to evaluate on, typically a test set.
        groups : array-like of shape (n_samples,)
        metric : callable, default=accuracy_score
            ``metric(y_true, y_pred)`` on the models' ``predict``.
        metric_name : str, default=None
            Its name in the labels (the function's name without ``_score``).
        lower_is_better : bool, default=False
        n_bootstrap, confidence, random_state
            As in :func:`~pergdro_sklearn.metrics.group_report`; every model is
            resampled with the same seed.
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : GroupReportDisplay
        """
        if not isinstance(estimators, dict):
            estimators = {f"{type(e).__name__} {i}" if len(estimators) > 1 else
                          type(e).__name__: e for i, e in enumerate(estimators)}
        if not estimators:
            raise ValueError("estimators is empty: give at least one fitted model.")
        name = metric_name or getattr(metric, "__name__", "metric").removesuffix("_score")
        reports = {
            label: group_report(y, model.predict(X), groups, {name: metric},
                                n_bootstrap=n_bootstrap, confidence=confidence,
                                lower_is_better=[name] if lower_is_better else (),
                                random_state=random_state)
            for label, model in estimators.items()}
        return cls(reports, name, lower_is_better=lower_is_better).plot(ax=ax)

    @classmethod
    def from_reports(cls, reports, metric, *, lower_is_better=False, ax=None):
        """Draw reports made by :func:`~pergdro_sklearn.metrics.group_report`.

        Parameters
        ----------
        reports : dict
            Model name -> report; every report has the same groups.
        metric : str
            A metric of the reports.
        lower_is_better : bool, default=False
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : GroupReportDisplay
        """
        reports = dict(reports)
        if not reports:
            raise ValueError("reports is empty.")
        for label, report in reports.items():
            if metric not in getattr(report, "columns", ()):
                raise ValueError(f"The report of {label!r} has no column {metric!r}.")
        return cls(reports, metric, lower_is_better=lower_is_better).plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` or on new axes.

        Returns
        -------
        display : GroupReportDisplay
        """
        first = next(iter(self.reports.values()))
        groups = list(first.index)
        for label, report in self.reports.items():
            if list(report.index) != groups:
                raise ValueError(f"The report of {label!r} has groups {list(report.index)}; "
                                 f"the first has {groups}.")
        axes, figure = make_axes(ax, 1, type(self).__name__,
                                 panel_size=(max(5.0, 1.1 * len(groups) + 2.5), 4.0))
        axis = axes[0]
        n_models = len(self.reports)
        width = 0.8 / n_models
        positions = np.arange(len(groups), dtype=float)
        self.bars_ = {}
        m = self.metric
        for k, (label, report) in enumerate(self.reports.items()):
            value = report[m].to_numpy(dtype=float)
            low = report.get(f"{m}_low", report[m]).to_numpy(dtype=float)
            high = report.get(f"{m}_high", report[m]).to_numpy(dtype=float)
            yerr = np.nan_to_num(np.vstack([value - low, high - value]))
            worst = int(np.argmax(value) if self.lower_is_better else np.argmin(value))
            self.bars_[label] = axis.bar(
                positions + (k - (n_models - 1) / 2) * width, value, width, yerr=yerr,
                capsize=2, color=f"C{k}",
                label=f"{label} (worst: {groups[worst]}, {value[worst]:.3f})")
        sizes = first["size"].tolist() if "size" in first else [None] * len(groups)
        axis.set_xticks(positions, [f"{g}\n(n={s})" if s is not None else str(g)
                                    for g, s in zip(groups, sizes)])
        axis.set_xlabel("group")
        axis.set_ylabel(m + (" (lower is better)" if self.lower_is_better else ""))
        axis.set_title(f"{m} per group")
        axis.legend(fontsize="small")
        self.ax_, self.figure_ = axis, figure
        return self


__all__ = ["GroupReportDisplay"]
