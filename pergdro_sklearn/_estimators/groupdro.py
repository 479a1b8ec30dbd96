"""GroupDROClassifier and GroupDRORegressor: the baseline of Sagawa et al. (2019)."""

from numbers import Real

from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions

from .._constants import (
    DEFAULT_EARLY_STOPPING_LOSS,
    DEFAULT_GROUPDRO_STEP_SIZE,
    DEFAULT_HIDDEN_LAYER_SIZES,
    DEFAULT_N_ITER_NO_CHANGE,
    DEFAULT_TOL,
    DEFAULT_VALIDATION_FRACTION,
)
from .._train.weighting import GroupDROWeighting
from .base import BaseGroupRobustMLP
from .docstrings import TRAINING_ATTRIBUTES_DOC, TRAINING_OPTIONS_DOC
from .outputs import ClassifierOutputs, RegressorOutputs


class GroupDROMixin:
    """Online group reweighting by exponentiated gradient, no within-group attack."""

    _groupdro_constraints: dict = {
        "step_size": [Interval(Real, 0, None, closed="left")],
        "generalization_adjustment": [Interval(Real, 0, None, closed="left")],
    }

    def _make_weighting(self, nominal, counts):
        return GroupDROWeighting(self.step_size, self.generalization_adjustment, counts)


_GROUPDRO_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64, 64, 64)
    step_size : float, default=0.01
        ``eta_q`` of the exponentiated-gradient update of the group weights, made
        after every minibatch: ``q <- q * exp(eta_q * (L_g + C / sqrt(n_g)))``.
    generalization_adjustment : float, default=0.0
        ``C`` above: favours small groups, whose losses generalise worse.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    solver : {"adam", "sgd"}, default="adam"
    learning_rate_init : float, default=1e-3
    batch_size : int or "auto", default="auto"
    max_iter : int, default=100
        Epochs.
    alpha : float, default=1e-4
        L2 penalty as in ``MLPClassifier`` (see :class:`PerGDROClassifier`).
    random_state : int, RandomState instance or None, default=None
    device : str or torch.device, default="cpu"
        Where the network trains: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, any
        other string ``torch.device`` accepts, or ``"auto"`` (CUDA when torch sees
        a GPU). A device torch cannot use is a ValueError in ``fit``.
    verbose : int, default=0
        As in :class:`PerGDROClassifier`.
    warm_start : bool, default=False
""" + TRAINING_OPTIONS_DOC

_GROUPDRO_ATTRIBUTES_DOC = """
    Attributes
    ----------
    groups_, group_counts_, group_weights_, group_weight_history_, loss_curve_,
    group_loss_curve_, module_, n_iter_, n_features_in_, feature_names_in_
        As in :class:`PerGDROClassifier`; ``group_weights_`` is GroupDRO's ``q``.
""" + TRAINING_ATTRIBUTES_DOC

_GROUPDRO_DOC = _GROUPDRO_PARAMS_DOC + _GROUPDRO_ATTRIBUTES_DOC


class GroupDROClassifier(GroupDROMixin, ClassifierOutputs, ClassifierMixin, BaseGroupRobustMLP):
    __doc__ = (
        """GroupDRO MLP classifier (Sagawa et al., 2019), the baseline of Per-GDRO.

    Minimises ``sum_g q_g L_g`` over minibatches, where ``L_g`` is the batch's mean
    cross-entropy on group ``g`` and ``q`` follows online exponentiated-gradient
    ascent on the group losses. Shares the training loop of
    :class:`PerGDROClassifier`.
"""
        + _GROUPDRO_DOC
        + """    classes_ : ndarray of shape (n_classes,)

    Examples
    --------
    >>> from pergdro_sklearn import GroupDROClassifier
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> data = make_shifted_groups(random_state=0)
    >>> clf = GroupDROClassifier(max_iter=5, random_state=0)
    >>> clf = clf.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> clf.group_weights_.shape
    (4,)
"""
    )

    _parameter_constraints = {
        **BaseGroupRobustMLP._parameter_constraints,
        **GroupDROMixin._groupdro_constraints,
    }

    def __init__(self, hidden_layer_sizes=DEFAULT_HIDDEN_LAYER_SIZES, *,
                 step_size=DEFAULT_GROUPDRO_STEP_SIZE, generalization_adjustment=0.0,
                 activation="relu", solver="adam", learning_rate_init=1e-3, batch_size="auto",
                 max_iter=100, alpha=1e-4, random_state=None, device="cpu", verbose=0,
                 warm_start=False, module=None, early_stopping="auto",
                 early_stopping_loss=DEFAULT_EARLY_STOPPING_LOSS,
                 validation_fraction=DEFAULT_VALIDATION_FRACTION,
                 n_iter_no_change=DEFAULT_N_ITER_NO_CHANGE, tol=DEFAULT_TOL,
                 balanced_batches=False, callbacks=None,
                 unknown_groups="error", membership_estimator=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.step_size = step_size
        self.generalization_adjustment = generalization_adjustment
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.module = module
        self.early_stopping = early_stopping
        self.early_stopping_loss = early_stopping_loss
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.balanced_batches = balanced_batches
        self.callbacks = callbacks
        self.unknown_groups = unknown_groups
        self.membership_estimator = membership_estimator


class GroupDRORegressor(GroupDROMixin, RegressorOutputs, RegressorMixin, BaseGroupRobustMLP):
    __doc__ = (
        """GroupDRO MLP regressor (Sagawa et al., 2019).

    As :class:`GroupDROClassifier` with a regression loss.
"""
        + _GROUPDRO_PARAMS_DOC
        + """    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear.
"""
        + _GROUPDRO_ATTRIBUTES_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn import GroupDRORegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = X.sum(axis=1)
    >>> reg = GroupDRORegressor(max_iter=3, random_state=0)
    >>> reg.fit(X, y, groups=X[:, 0] > 0).predict(X[:2]).shape
    (2,)
"""
    )

    _parameter_constraints = {
        **BaseGroupRobustMLP._parameter_constraints,
        **GroupDROMixin._groupdro_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, hidden_layer_sizes=DEFAULT_HIDDEN_LAYER_SIZES, *, loss="squared_error",
                 huber_delta=1.0, step_size=DEFAULT_GROUPDRO_STEP_SIZE,
                 generalization_adjustment=0.0, activation="relu", solver="adam",
                 learning_rate_init=1e-3, batch_size="auto", max_iter=100, alpha=1e-4,
                 random_state=None, device="cpu", verbose=0, warm_start=False, module=None,
                 early_stopping="auto",
                 early_stopping_loss=DEFAULT_EARLY_STOPPING_LOSS,
                 validation_fraction=DEFAULT_VALIDATION_FRACTION,
                 n_iter_no_change=DEFAULT_N_ITER_NO_CHANGE, tol=DEFAULT_TOL,
                 balanced_batches=False, callbacks=None,
                 unknown_groups="error", membership_estimator=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.loss = loss
        self.huber_delta = huber_delta
        self.step_size = step_size
        self.generalization_adjustment = generalization_adjustment
        self.activation = activation
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.module = module
        self.early_stopping = early_stopping
        self.early_stopping_loss = early_stopping_loss
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.balanced_batches = balanced_batches
        self.callbacks = callbacks
        self.unknown_groups = unknown_groups
        self.membership_estimator = membership_estimator


__all__ = ["GroupDROClassifier", "GroupDRORegressor"]
