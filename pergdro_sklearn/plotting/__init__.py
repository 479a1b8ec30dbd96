"""Figures in the style of scikit-learn's Display objects.

Each figure is a class with a ``from_estimator`` (or ``from_search``,
``from_estimators``, ``from_report``, ``from_reports``) constructor that computes what it needs
and draws, and a ``plot(ax=...)`` method; a drawn display holds its axes as
``ax_`` and its figure as ``figure_``. matplotlib is imported only when a figure
is drawn (``pip install matplotlib``), so this module imports
without it.
"""

from ._bound import RiskBoundDisplay
from ._candidates import SearchCandidatesDisplay
from ._report import GroupReportDisplay
from ._shift import GroupShiftDisplay
from ._training import TrainingCurvesDisplay

__all__ = [
    "GroupReportDisplay",
    "GroupShiftDisplay",
    "RiskBoundDisplay",
    "SearchCandidatesDisplay",
    "TrainingCurvesDisplay",
]
