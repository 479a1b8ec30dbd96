"""Ensembles by greedy selection: the selection itself (numpy) and its two estimators."""

from .estimators import EnsembleSelectionClassifier, EnsembleSelectionRegressor

__all__ = ["EnsembleSelectionClassifier", "EnsembleSelectionRegressor"]
