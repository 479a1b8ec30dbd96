"""Target handling of the network estimators: classifiers and regressors."""

import functools

import numpy as np
import torch
from sklearn.utils.multiclass import check_classification_targets

from .._groups import positions_in
from .._train.data import as_float_tensor
from .._train.losses import LOSSES


class ClassifierOutputs:
    """Target handling for classifiers: labels, cross-entropy, probabilities."""

    _is_classifier_flag = True
    _loss_name = "cross_entropy"

    def _loss_fn(self):
        return LOSSES["cross_entropy"]

    def _target_tensor(self, y, device):
        try:
            present = np.unique(y)
        except TypeError:  # numpy cannot sort, e.g., ints mixed with strings
            kinds = sorted({type(label).__name__ for label in np.ravel(y)})
            raise ValueError(
                f"y mixes class labels of different types ({', '.join(kinds)}); give every "
                "label as a string, or every label as a number."
            ) from None
        check_classification_targets(y)
        if hasattr(self, "classes_") and self.warm_start and hasattr(self, "module_"):
            classes = self.classes_
            if not np.all(np.isin(present, classes)):
                raise ValueError("warm_start fit got classes not seen in the first fit.")
        else:
            classes = present
            if classes.shape[0] < 2:
                raise ValueError(
                    f"The target has only one class ({classes.tolist()}); a classifier "
                    "needs at least two."
                )
            self.classes_ = classes
            self._n_outputs = classes.shape[0]
        return torch.as_tensor(np.searchsorted(self.classes_, y), device=device)

    def _known_target_tensor(self, y, device):
        """Class indices of ``y`` for a fitted model; unseen classes are errors."""
        return torch.as_tensor(positions_in(self.classes_, y, "y"), device=device)

    def decision_function(self, X):
        """Raw network outputs (logits).

        Returns
        -------
        scores : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
        """
        logits = self._decision(X)
        if logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Class probabilities (softmax of the logits), columns in ``classes_`` order."""
        logits = self._decision(X)
        logits = logits - logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        logits = self._decision(X)
        shifted = logits - logits.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    def predict(self, X):
        """Most probable class of each row."""
        scores = self._decision(X)
        return self.classes_[np.argmax(scores, axis=1)]


class RegressorOutputs:
    """Target handling for regressors: float targets, one or several outputs."""

    _is_classifier_flag = False

    @property
    def _loss_name(self):
        return self.loss

    def _loss_fn(self):
        if self.loss == "huber":
            return functools.partial(LOSSES["huber"], delta=self.huber_delta)
        return LOSSES[self.loss]

    def _target_tensor(self, y, device):
        y = np.asarray(y, dtype=np.float64)
        self._y_is_1d = y.ndim == 1
        y2 = y.reshape(-1, 1) if y.ndim == 1 else y
        if hasattr(self, "module_") and self.warm_start and y2.shape[1] != self._n_outputs:
            raise ValueError("warm_start fit got a different number of outputs.")
        self._n_outputs = y2.shape[1]
        return as_float_tensor(y2, device)

    def _known_target_tensor(self, y, device):
        """Targets of a fitted model as a float tensor of shape ``(n, n_outputs)``."""
        y2 = np.asarray(y, dtype=np.float64).reshape(np.shape(y)[0], -1)
        if y2.shape[1] != self._n_outputs:
            raise ValueError(f"y has {y2.shape[1]} outputs; the model has {self._n_outputs}.")
        return as_float_tensor(y2, device)

    def predict(self, X):
        """Predicted targets, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``."""
        out = self._decision(X)
        return out.ravel() if self._y_is_1d else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


__all__ = [
    "ClassifierOutputs",
    "RegressorOutputs",
]
