"""Prediction methods of PerGDROSearchCV, delegated to the refitted best estimator."""

from copy import deepcopy

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data


def _search_estimator_has(attr):
    """Delegate ``attr`` to the refitted best estimator (or the unfitted template)."""

    def check(self):
        if not self.refit:
            raise AttributeError(
                f"This {type(self).__name__} was initialised with refit=False: {attr} is "
                "available only after refitting on the best parameters."
            )
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
            return True
        getattr(self.estimator, attr)
        return True

    return check



class BestEstimatorMixin:
    """``predict``, ``predict_proba``, ... and tags of ``best_estimator_``."""

    def _validate_X(self, X):
        if isinstance(self.estimator, Pipeline):  # its steps validate X
            return validate_data(self, X, reset=False, skip_check_array=True)
        return validate_data(self, X, reset=False, dtype=np.float64, accept_sparse="csr")

    # ---- delegation ----------------------------------------------------------------
    @available_if(_search_estimator_has("predict"))
    def predict(self, X):
        """Predict with the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray
        """
        check_is_fitted(self)
        return self.best_estimator_.predict(self._validate_X(X))

    @available_if(_search_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_proba(self._validate_X(X))

    @available_if(_search_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Log class probabilities of the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        return self.best_estimator_.predict_log_proba(self._validate_X(X))

    @available_if(_search_estimator_has("decision_function"))
    def decision_function(self, X):
        """Decision function of the best estimator.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray
        """
        check_is_fitted(self)
        return self.best_estimator_.decision_function(self._validate_X(X))

    @available_if(_search_estimator_has("score"))
    def score(self, X, y):
        """The best estimator's ``score`` (accuracy or R^2).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        return self.best_estimator_.score(self._validate_X(X), y)

    @property
    def classes_(self):
        """Class labels of the best estimator (classifiers)."""
        _search_estimator_has("classes_")(self)
        check_is_fitted(self)
        return self.best_estimator_.classes_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        sub = get_tags(self.estimator)
        tags.estimator_type = sub.estimator_type
        tags.classifier_tags = deepcopy(sub.classifier_tags)
        tags.regressor_tags = deepcopy(sub.regressor_tags)
        tags.target_tags = deepcopy(sub.target_tags)
        tags.input_tags.allow_nan = sub.input_tags.allow_nan
        tags.input_tags.sparse = sub.input_tags.sparse
        return tags



__all__ = ["BestEstimatorMixin"]
