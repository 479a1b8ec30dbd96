"""Per-group and worst-group metrics, scorers that receive groups, group reports.

Every metric takes ``groups`` positionally or as a keyword, so that
scikit-learn's metadata routing can deliver it to the scorers of
:func:`get_scorer`. The module holds only its public names (the implementation
lives in private modules), so ``dir(pergdro_sklearn.metrics)`` and tab
completion show what there is to use.
"""

from ._report import group_report
from ._scores import (
    GROUP_METRICS,
    GroupMetric,
    get_scorer,
    group_loss_scores,
    group_scores,
    score_group_metric,
    worst_group_accuracy,
    worst_group_error,
    worst_group_log_loss,
    worst_group_mse,
)
from ._shift import group_shift_report

__all__ = [
    "GROUP_METRICS",
    "GroupMetric",
    "get_scorer",
    "group_loss_scores",
    "group_report",
    "group_scores",
    "group_shift_report",
    "score_group_metric",
    "worst_group_accuracy",
    "worst_group_error",
    "worst_group_log_loss",
    "worst_group_mse",
]
