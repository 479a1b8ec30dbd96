"""``group_report``: one row per group with its size, metrics and bootstrap intervals.

The table a fairlearn ``MetricFrame`` user expects (``by_group``, ``group_min``,
``difference``), without fairlearn: numbers in numpy, pandas only for the frame
that comes back (imported when the report is made).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.metrics import accuracy_score
from sklearn.utils import check_random_state

from ._constants import DEFAULT_BOOTSTRAP_CONFIDENCE, DEFAULT_N_BOOTSTRAP
from ._scores import _check_groups, _weighted, group_parts


def _import_pandas():
    try:
        import pandas
    except ImportError:  # pragma: no cover - pandas is installed in the tests
        raise ImportError(
            "group_report returns a pandas DataFrame and needs pandas: "
            "pip install pandas."
        ) from None
    return pandas


def _resolve_metrics(metrics):
    """``{name: metric(y_true, y_pred)}`` from a callable, a list of them or a dict."""
    if metrics is None:
        return {"accuracy": accuracy_score}
    if callable(metrics):
        metrics = [metrics]
    if isinstance(metrics, dict):
        named = dict(metrics)
    else:
        named = {}
        for metric in metrics:
            name = getattr(metric, "__name__", None) or type(metric).__name__
            if name.endswith("_score"):
                name = name[: -len("_score")]
            named[name] = metric
    if not named:
        raise ValueError("metrics is empty: give at least one metric(y_true, y_pred).")
    for name, metric in named.items():
        if not callable(metric):
            raise ValueError(f"metrics[{name!r}] is {metric!r}, not a callable "
                             "metric(y_true, y_pred).")
        if name in ("size", "worst", "gap") or name.endswith(("_low", "_high")):
            raise ValueError(f"The metric name {name!r} is taken by the report's own "
                             "columns; name it otherwise in a dict.")
    return named


def _check_options(n_bootstrap, confidence, lower_is_better):
    if not isinstance(n_bootstrap, Integral) or isinstance(n_bootstrap, bool) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an int >= 0, got {n_bootstrap!r}.")
    if not isinstance(confidence, Real) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a float in (0, 1), got {confidence!r}.")
    if isinstance(lower_is_better, str):
        lower_is_better = (lower_is_better,)
    return set(lower_is_better or ())


def bootstrap_interval(y_true, y_pred, metric, n_bootstrap, confidence, random_state,
                       weights=None):
    """Percentile bootstrap interval of ``metric`` over the rows given.

    Rows are drawn with replacement ``n_bootstrap`` times (as many as given); the
    interval holds the central ``confidence`` share of the resampled values.
    :func:`sklearn.metrics.accuracy_score` on 1-D labels is computed for all the
    resamples at once. ``weights`` (soft memberships) go with their rows into each
    resample, as the metric's ``sample_weight``.
    ``(nan, nan)`` when ``n_bootstrap`` is 0.
    """
    if n_bootstrap == 0:
        return float("nan"), float("nan")
    rng = check_random_state(random_state)
    n = y_true.shape[0]
    rows = rng.randint(n, size=(n_bootstrap, n))  # the same draws as one resample at a time
    if weights is not None:
        values = np.array([_weighted(metric, y_true[r], y_pred[r], weights[r]) for r in rows],
                          dtype=float)
    elif metric is accuracy_score and y_true.ndim == 1 and y_pred.ndim == 1:
        # the default metric, vectorised over the resamples (the same numbers, faster)
        values = (y_true[rows] == y_pred[rows]).mean(axis=1)
    else:
        values = np.array([metric(y_true[r], y_pred[r]) for r in rows], dtype=float)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def group_report(y_true, y_pred, groups, metrics=None, *, n_bootstrap=DEFAULT_N_BOOTSTRAP,
                 confidence=DEFAULT_BOOTSTRAP_CONFIDENCE, lower_is_better=(),
                 random_state=0):
    """Per-group metrics as a table: size, each metric and its bootstrap interval.

    One row per group, in sorted label order, with the group's row count
    (``size``), each metric on the group's rows and a percentile bootstrap
    confidence interval of it (``<metric>_low``, ``<metric>_high``: the group's
    rows resampled with replacement ``n_bootstrap`` times). The frame's ``attrs``
    hold the summary a fairlearn ``MetricFrame`` gives (``group_min`` /
    ``group_max``, ``difference``): ``attrs["worst"]`` the worst group per metric
    (lowest value, or highest for metrics in ``lower_is_better``),
    ``attrs["worst_value"]`` its value and ``attrs["gap"]`` the largest difference
    between two groups. Needs pandas.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
    y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Predictions, or probabilities for metrics that take them.
    groups : array-like of shape (n_samples,) or (n_samples, n_attributes), or Memberships
        Group label of each row; several columns are intersected, as in ``fit``.
        With :class:`~pergdro_sklearn.Memberships` a group's rows are those of positive
        membership (``size``), weighted by it (soft memberships add a ``mass`` column
        and need metrics that take ``sample_weight``).
    metrics : callable, list of callables or dict, default=None
        ``metric(y_true, y_pred) -> float``; a list is named after the functions
        (``accuracy_score`` becomes ``accuracy``), a dict ``{name: metric}`` names
        them itself. ``None``: accuracy.
    n_bootstrap : int, default=1000
        Resamples per group and metric; 0 leaves the intervals NaN.
    confidence : float, default=0.95
        Coverage of the intervals.
    lower_is_better : str or list of str, default=()
        Names of the metrics where lower is better (errors, losses): their worst
        group is the highest.
    random_state : int, RandomState instance or None, default=0
        Seeds the resampling: the same seed gives the same intervals.

    Returns
    -------
    report : pandas.DataFrame
        Index: the group labels (named ``group``); columns ``size``, then per metric
        ``<metric>``, ``<metric>_low``, ``<metric>_high``.

    See Also
    --------
    group_scores : one metric per group, as a dict.
    pergdro_sklearn.plotting.GroupReportDisplay : the report drawn for several models.

    Examples
    --------
    >>> from sklearn.metrics import accuracy_score
    >>> from pergdro_sklearn.metrics import group_report
    >>> y = [0, 1, 1, 0, 1, 1, 0, 0]
    >>> pred = [0, 1, 0, 0, 1, 1, 1, 0]
    >>> g = ["a", "a", "a", "a", "b", "b", "b", "b"]
    >>> report = group_report(y, pred, g, [accuracy_score], n_bootstrap=200)
    >>> report[["size", "accuracy"]]
           size  accuracy
    group
    a         4      0.75
    b         4      0.75
    >>> report.attrs["gap"]
    {'accuracy': 0.0}
    """
    pandas = _import_pandas()
    named = _resolve_metrics(metrics)
    lower = _check_options(n_bootstrap, confidence, lower_is_better)
    unknown = sorted(lower - set(named))
    if unknown:
        raise ValueError(f"lower_is_better names {unknown}, which are not metrics of the "
                         f"report ({sorted(named)}).")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_pred.shape[0] != y_true.shape[0]:
        raise ValueError(f"y_pred has {y_pred.shape[0]} rows but y_true has "
                         f"{y_true.shape[0]}.")
    labels = _check_groups(y_true, groups)
    rng = check_random_state(random_state)
    parts = group_parts(labels)
    present = [label for label, _, _ in parts]
    rows = {"size": []}
    if any(weights is not None for _, _, weights in parts):
        rows["mass"] = []
    for name in named:
        rows[name], rows[f"{name}_low"], rows[f"{name}_high"] = [], [], []
    for _, mask, weights in parts:
        rows["size"].append(int(mask.shape[0]))
        if "mass" in rows:
            rows["mass"].append(float(mask.shape[0] if weights is None else weights.sum()))
        for name, metric in named.items():
            rows[name].append(_weighted(metric, y_true[mask], y_pred[mask], weights))
            low, high = bootstrap_interval(y_true[mask], y_pred[mask], metric, n_bootstrap,
                                           confidence, rng, weights)
            rows[f"{name}_low"].append(low)
            rows[f"{name}_high"].append(high)
    index = pandas.Index([v.item() if hasattr(v, "item") else v for v in present],
                         name="group")
    report = pandas.DataFrame(rows, index=index)
    worst, worst_value, gap = {}, {}, {}
    for name in named:
        column = report[name]
        label = column.idxmax() if name in lower else column.idxmin()
        worst[name] = label.item() if hasattr(label, "item") else label
        worst_value[name] = float(column[label])
        gap[name] = float(column.max() - column.min())
    report.attrs.update(worst=worst, worst_value=worst_value, gap=gap,
                        n_bootstrap=int(n_bootstrap), confidence=float(confidence))
    return report


__all__ = ["bootstrap_interval", "group_report"]
