"""PerGDROClassifier and PerGDRORegressor (the paper's Algorithm 1)."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._constants import (
    DEFAULT_EARLY_STOPPING_LOSS,
    DEFAULT_GROUP_STEP_SIZE,
    DEFAULT_HIDDEN_LAYER_SIZES,
    DEFAULT_N_ITER_NO_CHANGE,
    DEFAULT_TOL,
    DEFAULT_TRAINING_ATTACK_STEPS,
    DEFAULT_VALIDATION_FRACTION,
    DEFAULT_WASSERSTEIN_ORDER,
    DIVERGENCE_NAMES,
    EVAL_ATTACK_STEPS,
    PGD_STEP_MULTIPLIER,
)
from .._groups import check_radius, groups_or_alias, index_groups, resolve_epsilons
from .._memberships import expand_to_fitted, is_memberships, one_hot_labels
from .._train.data import as_float_tensor
from .._train.loop import AttackConfig
from .._train.network import MLP
from .._train.risk import (
    bound_report,
    certified_loss_lipschitz,
    empirical_loss_lipschitz,
    group_mean_losses,
    robust_objective,
)
from .._train.wasserstein import check_order, default_step_multiplier
from .._train.weighting import PhiDivergenceWeighting
from ..divergences import CressieRead, check_divergence
from .base import BaseGroupRobustMLP
from .docstrings import TRAINING_ATTRIBUTES_DOC, TRAINING_OPTIONS_DOC
from .outputs import ClassifierOutputs, RegressorOutputs


def resolve_attack_step_size(step_size, method):
    """The step multiplier the attack uses: ``"auto"`` is the method's own default."""
    return default_step_multiplier(method) if step_size == "auto" else float(step_size)


class PerGDROMixin:
    """Parameters and methods that Per-GDRO adds to the shared base."""

    # candidates differing only in these train together as one network
    _batchable_params = frozenset({"rho", "epsilon", "alpha"})

    _pergdro_constraints: dict = {
        "rho": [Interval(Real, 0, None, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="left"), "array-like", dict],
        "divergence": [StrOptions(set(DIVERGENCE_NAMES)), CressieRead],
        "wasserstein_order": [StrOptions({"inf", "infinity"}), Options(Real, {1, 2, math.inf})],
        "attack": [StrOptions({"pgd", "fgsm"})],
        "attack_steps": [Interval(Integral, 0, None, closed="left")],
        "attack_step_size": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "group_step_size": [Interval(Real, 0, 1, closed="both")],
        "group_weight_update": [StrOptions({"epoch", "batch"})],
        "generalization_adjustment": [Interval(Real, 0, None, closed="left")],
        "track_risk_bound": ["boolean"],
    }

    # ---- hooks used by BaseGroupRobustMLP --------------------------------------
    def _epsilons(self, labels):
        check_radius(self.rho, "rho")
        check_divergence(self.divergence)
        self._order()
        return resolve_epsilons(self.epsilon, labels)

    def _make_weighting(self, nominal, counts):
        adjustment = self.generalization_adjustment / np.sqrt(np.maximum(counts, 1))
        return PhiDivergenceWeighting(self.rho, check_divergence(self.divergence),
                                      self.group_step_size, self.group_weight_update,
                                      adjustment=adjustment)

    def _order(self):
        return check_order(self.wasserstein_order, "wasserstein_order")

    def _attack_config(self, radii):
        return AttackConfig(radii=radii, order=self._order(),
                            method=self.attack, steps=self.attack_steps,
                            step_size=resolve_attack_step_size(self.attack_step_size,
                                                               self.attack),
                            random_start=self.attack == "fgsm")

    def _eval_attack(self, radii):
        steps = max(self.attack_steps, EVAL_ATTACK_STEPS)
        return AttackConfig(radii=radii, order=self._order(),
                            method="pgd", steps=steps, step_size=PGD_STEP_MULTIPLIER)

    def _epoch_callback(self, X, y, group_index):
        if not self.track_risk_bound:
            self.risk_bound_history_ = None
            return None
        history = getattr(self, "risk_bound_history_", None)
        if not self.warm_start or not history:
            self.risk_bound_history_ = {}

        def record(trainer, epoch_record):
            terms = self._bound_terms(X, y, group_index, self.rho, self.epsilons_)
            terms["epoch"] = epoch_record.epoch
            for key, value in terms.items():
                self.risk_bound_history_.setdefault(key, []).append(value)

        return record

    # ---- robust evaluation -------------------------------------------------------
    def _tensors(self, X, y, groups):
        """``(X, y, group index, row weights or None)`` as tensors; memberships expanded
        into (row, group) pairs weighted by their memberships (None when all are 1)."""
        check_is_fitted(self)
        X, y = self._validate_X_y(X, y, reset=False)
        device = next(self.module_.parameters()).device
        weights = None
        if is_memberships(groups) and one_hot_labels(groups) is None:
            rows, group_index, weights = expand_to_fitted(groups, self.groups_, X.shape[0])
            X, y = X[rows], np.asarray(y)[rows]
            weights = None if np.all(weights == 1) else torch.as_tensor(
                weights, dtype=torch.float32, device=device)
        else:
            group_index = index_groups(groups, self.groups_, X.shape[0])
        return (as_float_tensor(X, device), self._known_target_tensor(y, device),
                torch.as_tensor(group_index, device=device), weights)

    def _group_losses(self, X_t, y_t, g_t, epsilons, weights=None):
        radii = torch.as_tensor(epsilons, dtype=torch.float32, device=X_t.device)
        return group_mean_losses(self.module_, self._loss_fn(), X_t, y_t, g_t,
                                 self.groups_.shape[0], self._eval_attack(radii),
                                 row_weights=weights)

    def _group_counts(self, g_t, weights=None):
        return np.bincount(g_t.cpu().numpy(), minlength=self.groups_.shape[0],
                           weights=None if weights is None else weights.cpu().numpy())

    def _bound_terms(self, X_t, y_t, g_t, rho, epsilons, w_t=None):
        if not isinstance(self.module_, MLP):
            raise ValueError("risk_bound and track_risk_bound need the default MLP "
                             "(module=None): the certified Lipschitz constant is computed "
                             "from its layers.")
        clean, robust = self._group_losses(X_t, y_t, g_t, epsilons, w_t)
        counts = self._group_counts(g_t, w_t)
        lip_certified = certified_loss_lipschitz(
            self.module_, self._loss_name, self._n_outputs,
            huber_delta=getattr(self, "huber_delta", 1.0), X=X_t, y=y_t,
            epsilons=epsilons, group_sizes=counts, order=self._order())
        lip_empirical = empirical_loss_lipschitz(self.module_, self._loss_fn(), X_t, y_t)
        return bound_report(clean, robust, counts / counts.sum(), rho,
                            check_divergence(self.divergence), epsilons, lip_certified,
                            lip_empirical)

    def robust_risk(self, X, y, groups=None, rho=None, epsilon=None, *,
                    sensitive_features=None):
        """The robust objective of Eq. (9) on ``(X, y, groups)``.

        Each group's rows are attacked within that group's Wasserstein budget
        (projected gradient ascent on the whole group), then the exact phi-divergence
        best response with radius ``rho`` around the proportions of ``groups``
        reweights the per-group robust losses.

        Parameters
        ----------
        X, y : array-like
            Data, typically a validation split.
        groups : array-like of shape (n_samples,), default=None
            Group labels, all seen in fit.
        rho : float, default=None
            Inter-group radius; the fitted ``rho`` by default.
        epsilon : float, array-like or dict, default=None
            Within-group radii; the fitted ``epsilons_`` by default.
        sensitive_features : array-like of shape (n_samples,), default=None
            Alias of ``groups`` (fairlearn's name); passing both is an error.

        Returns
        -------
        risk : float
        """
        X_t, y_t, g_t, w_t = self._tensors(X, y, groups_or_alias(groups, sensitive_features))
        rho = self.rho if rho is None else check_radius(rho, "rho")
        eps = self.epsilons_ if epsilon is None else resolve_epsilons(epsilon, self.groups_)
        _, robust = self._group_losses(X_t, y_t, g_t, eps, w_t)
        counts = self._group_counts(g_t, w_t)
        value, _ = robust_objective(robust, counts / counts.sum(), rho,
                                    check_divergence(self.divergence))
        return value

    def group_losses(self, X, y, groups=None, epsilon=None, *, sensitive_features=None):
        """Mean loss per group, clean and under the within-group attack.

        Returns
        -------
        losses : dict
            ``{"clean": ndarray (G,), "robust": ndarray (G,)}`` in ``groups_`` order;
            groups absent from ``groups`` get 0.
        """
        X_t, y_t, g_t, w_t = self._tensors(X, y, groups_or_alias(groups, sensitive_features))
        eps = self.epsilons_ if epsilon is None else resolve_epsilons(epsilon, self.groups_)
        clean, robust = self._group_losses(X_t, y_t, g_t, eps, w_t)
        return {"clean": clean, "robust": robust}

    def risk_bound(self, X, y, groups=None, *, sensitive_features=None):
        """Proposition 1 on ``(X, y, groups)``: its three terms and the robust risk.

        The within-group term needs Lip(l), the loss's Lipschitz constant in the
        features. Two are reported: ``*_certified`` uses a certified upper bound
        (the loss's constant in the output times the product of the layers' spectral
        norms and the activations' constants), so ``bound_certified`` is a true upper
        bound on ``robust_risk``; ``*_empirical`` uses the largest input-gradient norm
        at the data, which is not certified.

        Returns
        -------
        terms : dict
            ``robust_risk``, ``nominal_risk``, ``dispersion``,
            ``within_group_certified``, ``bound_certified``, ``within_group_empirical``,
            ``bound_empirical``, ``lipschitz_certified``, ``lipschitz_empirical``.
        """
        X_t, y_t, g_t, w_t = self._tensors(X, y, groups_or_alias(groups, sensitive_features))
        return self._bound_terms(X_t, y_t, g_t, self.rho, self.epsilons_, w_t)


_PERGDRO_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64, 64, 64)
        Hidden widths; the default with its output layer is the paper's 4-layer MLP.
    rho : float, default=0.1
        Radius of the phi-divergence ball around the training group proportions
        (inter-group adversary). ``0`` keeps the nominal proportions.
    epsilon : float, array-like of shape (n_groups,) or dict, default=0.1
        Wasserstein radius of each group (within-group adversary): one value for all
        groups, one per group in ``groups_`` order, or ``{label: radius}`` (groups not
        named get 0). Measured in the features' units: standardise them.
    divergence : {"kl", "burg", "chi2", "modified_chi2", "tv", "hellinger", \
"cressie_read"} or CressieRead, default="kl"
        The phi-divergence of the inter-group ball (the paper's Table 1).
    wasserstein_order : {1, 2, "inf"} or np.inf, default="inf"
        ``"inf"`` (or ``"infinity"``, ``np.inf``): each row moves at most ``epsilon_g``; ``2``: the
        group's rows share the budget ``mean ||delta||^2 <= epsilon_g^2``; ``1``:
        ``mean ||delta|| <= epsilon_g``. Budgets apply to a group's rows in each
        minibatch. Other values are refused. The per-sample ball is the default: its
        radius compares directly with the distances between classes (the search's
        data-scaled bounds), while a shared budget can be spent on a few rows and
        carry them across the classes (:ref:`search_bounds`).
    attack : {"pgd", "fgsm"}, default="pgd"
        ``"pgd"``: ``attack_steps`` steps of projected gradient ascent; ``"fgsm"``: one
        step from a random start (fast adversarial training).
    attack_steps : int, default=1
        PGD steps per minibatch. One step (the default) is as cheap as an adversary
        gets (a forward and a backward pass), which keeps a search within a few fits
        of a plain network; more steps find stronger perturbations at one pass each
        (the paper's Appendix E reproduction uses 5).
    attack_step_size : float or "auto", default="auto"
        Step multiplier ``m``: each PGD step is ``m * epsilon_g / attack_steps``, the
        FGSM step ``m * epsilon_g``. ``"auto"`` is 2.5 for PGD (Madry et al.) and 1.25
        for FGSM (Wong et al., 2020).
    group_step_size : float, default=0.5
        ``eta_p`` of Algorithm 1: ``p <- (1 - eta_p) p + eta_p p*``.
    group_weight_update : {"epoch", "batch"}, default="epoch"
        Move ``p`` once per epoch from the per-group losses accumulated during it
        (no extra pass over the data), or after every minibatch.
    generalization_adjustment : float, default=0.0
        ``C`` of GroupDRO's generalization adjustment (Sagawa et al., 2019) for the
        inter-group adversary: it sees each group's loss plus ``C / sqrt(n_g)``, so
        that small groups, whose few training rows are fitted fast, keep weight.
        The training objective is unchanged; 0 is the paper's Algorithm 1.
    track_risk_bound : bool, default=False
        Record Proposition 1's terms and the robust loss on the training data at
        the end of every epoch in ``risk_bound_history_`` (costs one attacked pass).
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
    solver : {"adam", "sgd"}, default="adam"
    learning_rate_init : float, default=1e-3
    batch_size : int or "auto", default="auto"
        ``"auto"``: about 100 minibatches per epoch, within 128 to 1,024 rows
        (128 up to 12,800 rows; never more than ``n_samples``).
    max_iter : int, default=100
        Epochs.
    alpha : float, default=1e-4
        L2 penalty as in ``MLPClassifier``: ``alpha / 2 * sum ||W||^2`` over the
        weight matrices (not the biases), divided by the minibatch's row count and
        added to the minibatch loss.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the minibatch order, the attack's random
        starts and the early-stopping holdout; a fixed value gives identical models
        on CPU.
    device : str or torch.device, default="cpu"
        Where the network trains: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, any
        other string ``torch.device`` accepts, or ``"auto"`` (CUDA when torch sees
        a GPU). A device torch cannot use is a ValueError in ``fit``.
    verbose : int, default=0
        ``1`` prints one line per epoch to stdout (``Iteration 3, loss = ...``, as
        ``MLPClassifier``); ``2`` shows a tqdm progress bar instead (when tqdm is
        installed: ``pip install tqdm``).
    warm_start : bool, default=False
        Continue from the previous fit (weights, optimiser and group weights); a
        changed ``hidden_layer_sizes``, ``activation``, ``module`` or number of
        features is an error. A loop of ``fit`` calls (``max_iter=1`` for one
        epoch per call) decides itself when training ends, so with
        ``warm_start=True`` reaching ``max_iter`` gives no ``ConvergenceWarning``
        (as ``partial_fit`` gives none); read ``loss_curve_``. A loss that blows
        up still warns.
""" + TRAINING_OPTIONS_DOC

_FITTED_DOC = """
    Attributes
    ----------
    groups_ : ndarray of shape (n_groups,)
        Sorted group labels.
    group_counts_ : ndarray of shape (n_groups,)
        Training rows per group.
    epsilons_ : ndarray of shape (n_groups,)
        The resolved per-group radii.
    group_weights_ : ndarray of shape (n_groups,)
        Final inter-group weights ``p``.
    group_weight_history_ : list of ndarray
        ``p`` after each epoch.
    loss_curve_ : list of float
        Mean robust training loss per epoch.
    group_loss_curve_ : list of ndarray
        Mean robust training loss per group per epoch.
    risk_bound_history_ : dict of lists or None
        Proposition 1 per epoch when ``track_risk_bound=True``.
    module_ : torch.nn.Module
        The trained network.
    n_iter_ : int
        Epochs run.
""" + TRAINING_ATTRIBUTES_DOC + """    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had feature names.
"""


class PerGDROClassifier(PerGDROMixin, ClassifierOutputs, ClassifierMixin, BaseGroupRobustMLP):
    __doc__ = (
        """Per-group distributionally robust MLP classifier (Per-GDRO, Algorithm 1).

    Trains a torch MLP with cross-entropy against two adversaries: a phi-divergence
    ball of radius ``rho`` that reweights whole groups, and a Wasserstein ball of
    radius ``epsilon_g`` per group that moves the features of that group's rows.
    ``rho = 0`` and ``epsilon = 0`` is ERM; ``epsilon = 0`` with a large ``rho``
    weights the worst group, as GroupDRO does. Group labels are needed in ``fit``
    only, never in ``predict``.
"""
        + _PERGDRO_PARAMS_DOC
        + _FITTED_DOC
        + """
    classes_ : ndarray of shape (n_classes,)

    See Also
    --------
    PerGDROSearchCV : learns ``rho`` and the per-group radii (Algorithm 2).
    GroupDROClassifier : the GroupDRO baseline.

    Examples
    --------
    >>> from pergdro_sklearn import PerGDROClassifier
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> data = make_shifted_groups(random_state=0)
    >>> clf = PerGDROClassifier(rho=0.5, epsilon={3: 1.0}, max_iter=5, random_state=0)
    >>> clf = clf.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> clf.epsilons_.tolist()
    [0.0, 0.0, 0.0, 1.0]
    >>> clf.predict(data.X_test[:3]).shape
    (3,)
"""
    )

    _parameter_constraints = {
        **BaseGroupRobustMLP._parameter_constraints,
        **PerGDROMixin._pergdro_constraints,
    }

    def __init__(self, hidden_layer_sizes=DEFAULT_HIDDEN_LAYER_SIZES, *, rho=0.1, epsilon=0.1,
                 divergence="kl", wasserstein_order=DEFAULT_WASSERSTEIN_ORDER, attack="pgd",
                 attack_steps=DEFAULT_TRAINING_ATTACK_STEPS, attack_step_size="auto",
                 group_step_size=DEFAULT_GROUP_STEP_SIZE, group_weight_update="epoch",
                 generalization_adjustment=0.0, track_risk_bound=False, activation="relu",
                 solver="adam",
                 learning_rate_init=1e-3, batch_size="auto", max_iter=100, alpha=1e-4,
                 random_state=None, device="cpu", verbose=0, warm_start=False, module=None,
                 early_stopping="auto",
                 early_stopping_loss=DEFAULT_EARLY_STOPPING_LOSS,
                 validation_fraction=DEFAULT_VALIDATION_FRACTION,
                 n_iter_no_change=DEFAULT_N_ITER_NO_CHANGE, tol=DEFAULT_TOL,
                 balanced_batches=False, callbacks=None,
                 unknown_groups="error", membership_estimator=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.rho = rho
        self.epsilon = epsilon
        self.divergence = divergence
        self.wasserstein_order = wasserstein_order
        self.attack = attack
        self.attack_steps = attack_steps
        self.attack_step_size = attack_step_size
        self.group_step_size = group_step_size
        self.group_weight_update = group_weight_update
        self.generalization_adjustment = generalization_adjustment
        self.track_risk_bound = track_risk_bound
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


class PerGDRORegressor(PerGDROMixin, RegressorOutputs, RegressorMixin, BaseGroupRobustMLP):
    __doc__ = (
        """Per-group distributionally robust MLP regressor (Per-GDRO, Algorithm 1).

    As :class:`PerGDROClassifier`, with a regression loss and one or several outputs.
"""
        + _PERGDRO_PARAMS_DOC
        + """    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
    huber_delta : float, default=1.0
        Where the Huber loss turns from quadratic to linear.
"""
        + _FITTED_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn import PerGDRORegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5]
    >>> groups = np.where(X[:, 0] > 0, "a", "b")
    >>> reg = PerGDRORegressor(epsilon={"b": 0.2}, max_iter=5, random_state=0)
    >>> reg.fit(X, y, groups=groups).predict(X[:2]).shape
    (2,)
"""
    )

    _parameter_constraints = {
        **BaseGroupRobustMLP._parameter_constraints,
        **PerGDROMixin._pergdro_constraints,
        "loss": [StrOptions({"squared_error", "absolute_error", "huber"})],
        "huber_delta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, hidden_layer_sizes=DEFAULT_HIDDEN_LAYER_SIZES, *, loss="squared_error",
                 huber_delta=1.0, rho=0.1, epsilon=0.1, divergence="kl",
                 wasserstein_order=DEFAULT_WASSERSTEIN_ORDER,
                 attack="pgd", attack_steps=DEFAULT_TRAINING_ATTACK_STEPS,
                 attack_step_size="auto", group_step_size=DEFAULT_GROUP_STEP_SIZE,
                 group_weight_update="epoch", generalization_adjustment=0.0,
                 track_risk_bound=False, activation="relu", solver="adam",
                 learning_rate_init=1e-3, batch_size="auto", max_iter=100,
                 alpha=1e-4, random_state=None, device="cpu", verbose=0, warm_start=False,
                 module=None, early_stopping="auto",
                 early_stopping_loss=DEFAULT_EARLY_STOPPING_LOSS,
                 validation_fraction=DEFAULT_VALIDATION_FRACTION,
                 n_iter_no_change=DEFAULT_N_ITER_NO_CHANGE, tol=DEFAULT_TOL,
                 balanced_batches=False, callbacks=None,
                 unknown_groups="error", membership_estimator=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.loss = loss
        self.huber_delta = huber_delta
        self.rho = rho
        self.epsilon = epsilon
        self.divergence = divergence
        self.wasserstein_order = wasserstein_order
        self.attack = attack
        self.attack_steps = attack_steps
        self.attack_step_size = attack_step_size
        self.group_step_size = group_step_size
        self.group_weight_update = group_weight_update
        self.generalization_adjustment = generalization_adjustment
        self.track_risk_bound = track_risk_bound
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


__all__ = ["PerGDROClassifier", "PerGDRORegressor"]
