"""Per-group distributionally robust learning (Per-GDRO) for scikit-learn."""

import logging

from . import datasets, divergences, metrics, plotting
from ._ensemble import EnsembleSelectionClassifier, EnsembleSelectionRegressor
from ._estimators import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
    StopTraining,
)
from ._groups import GroupsMissingWarning
from ._memberships import Memberships
from ._search import PerGDROSearchCV
from ._version import __version__

logging.getLogger("pergdro_sklearn").addHandler(logging.NullHandler())

__all__ = [
    "EnsembleSelectionClassifier",
    "EnsembleSelectionRegressor",
    "GroupDROClassifier",
    "GroupDRORegressor",
    "GroupsMissingWarning",
    "Memberships",
    "PerGDROClassifier",
    "PerGDRORegressor",
    "PerGDROSearchCV",
    "StopTraining",
    "datasets",
    "divergences",
    "metrics",
    "plotting",
    "__version__",
]
