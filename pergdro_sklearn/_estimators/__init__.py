"""The scikit-learn estimators: the shared base, Per-GDRO, GroupDRO, batched fits."""

from .callbacks import StopTraining
from .groupdro import GroupDROClassifier, GroupDRORegressor
from .pergdro import PerGDROClassifier, PerGDRORegressor

__all__ = ["GroupDROClassifier", "GroupDRORegressor", "PerGDROClassifier", "PerGDRORegressor",
           "StopTraining"]
