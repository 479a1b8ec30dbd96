"""Per-group distributionally robust learning (Per-GDRO) for scikit-learn."""

import logging

from . import datasets, divergences, metrics
from ._base import GroupsMissingWarning
from ._groupdro import GroupDROClassifier, GroupDRORegressor
from ._pergdro import PerGDROClassifier, PerGDRORegressor
from ._search import PerGDROSearchCV
from ._version import __version__

logging.getLogger("pergdro_sklearn").addHandler(logging.NullHandler())

__all__ = [
    "GroupDROClassifier",
    "GroupDRORegressor",
    "GroupsMissingWarning",
    "PerGDROClassifier",
    "PerGDRORegressor",
    "PerGDROSearchCV",
    "datasets",
    "divergences",
    "metrics",
    "__version__",
]
