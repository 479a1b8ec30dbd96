"""Ensembles chosen by greedy selection on a group-stratified validation split.

:class:`EnsembleSelectionClassifier` and :class:`EnsembleSelectionRegressor` fit a
list of candidate estimators on a training part, choose a weighted ensemble of them
by greedy selection with replacement on the validation part (Caruana et al., 2004;
:func:`_ensemble.selection.greedy_ensemble_selection`), then refit
the chosen members on all rows. ``from_fitted`` wraps members that are already
fitted (chosen elsewhere, e.g. by a search) into a fitted ensemble.
"""

from numbers import Integral

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, _fit_context, clone
from sklearn.utils import Bunch, _safe_indexing, get_tags
from sklearn.utils._param_validation import Interval, RealNotInt, StrOptions
from sklearn.utils.metaestimators import _BaseComposition
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._constants import (
    DEFAULT_ENSEMBLE_MAX_MEMBERS,
    DEFAULT_ENSEMBLE_VALIDATION_FRACTION,
    MIN_ROWS_PER_GROUP,
    PROBA_CLIP,
)
from .._groups import (
    encode_groups,
    groups_from_fit_kwargs,
    groups_or_alias,
    index_groups,
    label_kind,
    positions_in,
    unique_labels,
)
from .._memberships import (
    check_memberships,
    expand,
    expand_to_fitted,
    is_memberships,
    one_hot_labels,
)
from .._splits import make_group_folds
from .._warnings import deferred_convergence
from .members import (
    default_names,
    feature_attribute,
    fit_member,
    stack_predictions,
    warn_unsettled,
)
from .selection import (
    SELECTION_OBJECTIVES,
    candidate_group_losses,
    candidate_objectives,
    ensemble_objective,
    greedy_ensemble_selection,
)


class _BaseEnsembleSelection(_BaseComposition):
    """Shared parameters, fitting and validation of the two ensemble estimators."""


    _parameter_constraints: dict = {
        "estimators": [list],
        "max_members": [Interval(Integral, 1, None, closed="left")],
        "objective": [StrOptions(set(SELECTION_OBJECTIVES))],
        "validation_fraction": [Interval(RealNotInt, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimators, *, max_members=DEFAULT_ENSEMBLE_MAX_MEMBERS,
                 objective="worst_group_loss",
                 validation_fraction=DEFAULT_ENSEMBLE_VALIDATION_FRACTION, random_state=None):
        self.estimators = estimators
        self.max_members = max_members
        self.objective = objective
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    # ---- parameters of the named members -------------------------------------------
    def get_params(self, deep=True):
        """Parameters of the ensemble and, with ``deep=True``, of its members.

        Parameters
        ----------
        deep : bool, default=True
            Also return ``name`` and ``name__param`` entries for each member.

        Returns
        -------
        params : dict
        """
        return self._get_params("estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters; ``name=estimator`` replaces a member, ``name__param`` sets one.

        Parameters
        ----------
        **params : dict
            Ensemble parameters, member replacements or member parameters.

        Returns
        -------
        self : object
        """
        self._set_params("estimators", **params)
        return self

    # ---- hooks of the two subclasses -------------------------------------------------
    _task = None

    def _check_member(self, name, estimator):
        raise NotImplementedError

    def _validate_targets(self, y):
        """``(y for the members, y for the selection, class index or None)``."""
        raise NotImplementedError

    def _member_predictions(self, members, X, names=None):
        """Stacked predictions of ``members``: (n_members, n_rows, n_columns)."""
        raise NotImplementedError

    # ---- validation ---------------------------------------------------------------
    def _validate_estimators(self):
        estimators = self.estimators
        if (not isinstance(estimators, list) or not estimators
                or any(not isinstance(item, tuple) or len(item) != 2 for item in estimators)):
            raise ValueError(
                "estimators must be a non-empty list of (name, estimator) tuples, as in "
                "VotingClassifier."
            )
        names, members = zip(*estimators)
        if any(not isinstance(name, str) for name in names):
            raise ValueError(f"Estimator names must be strings, got {list(names)!r}.")
        self._validate_names(names)
        for name, estimator in estimators:
            if not hasattr(estimator, "fit"):
                raise ValueError(f"Estimator {name!r} ({estimator!r}) has no fit method.")
            self._check_member(name, estimator)
        return list(names), list(members)

    def _members(self):
        try:
            return [est for _, est in self.estimators]
        except (TypeError, ValueError):
            return []

    def _members_allow(self, tag):
        """Whether every member's input tag ``tag`` (``allow_nan``, ``sparse``) is set."""
        members = self._members()
        try:
            return bool(members) and all(getattr(get_tags(est).input_tags, tag)
                                         for est in members)
        except Exception:  # invalid members: validation in fit reports them
            return False

    def _allow_nan(self):
        return self._members_allow("allow_nan")

    def _sparse(self):
        """``accept_sparse`` for the checks: CSR when every member takes sparse input."""
        return "csr" if self._members_allow("sparse") else False

    def _validate_X(self, X):
        """Validate ``X``; return what the members take (the frame if fitted on one).

        A frame goes to members fitted on frames as it is (its columns may be
        strings for a Pipeline's encoders); only its columns are checked here.
        """
        if hasattr(self, "feature_names_in_") and hasattr(X, "columns"):
            validate_data(self, X, reset=False, skip_check_array=True)
            return X
        return validate_data(self, X, reset=False, ensure_all_finite=not self._allow_nan(),
                             accept_sparse=self._sparse())

    # ---- fit ---------------------------------------------------------------------------
    def _fit(self, X, y, groups):
        names, members = self._validate_estimators()
        X_original = X
        X, y = validate_data(self, X, y, ensure_all_finite=not self._allow_nan(),
                             accept_sparse=self._sparse(),
                             multi_output=self._task == "regression" and self._multi_output(),
                             y_numeric=self._task == "regression")
        n_samples = X.shape[0]
        if n_samples < MIN_ROWS_PER_GROUP + 1:
            raise ValueError(
                f"Found n_samples = {n_samples}: too few rows to split into training and "
                "validation parts."
            )
        y_member, y_select, classes_index = self._validate_targets(y)
        groups_given = groups is not None
        memberships = None
        if is_memberships(groups) and one_hot_labels(groups) is None:
            # the split stratified by each row's set of groups; the selection on the
            # validation part's (row, group) pairs
            memberships = check_memberships(groups, n_samples)
            labels = memberships.names
            strata_labels, strata = np.unique(memberships.strata(), return_inverse=True)
            train, val = make_group_folds(self.validation_fraction, strata.reshape(-1),
                                          strata_labels, classes_index,
                                          random_state=self.random_state)[0]
            pair_rows, pair_index, _ = expand(memberships.matrix[val])
            val_members = val  # the members are scored on each validation row once
        else:
            labels, group_index, _ = encode_groups(groups, n_samples)
            groups = labels[group_index] if groups_given else None
            train, val = make_group_folds(self.validation_fraction, group_index, labels,
                                          classes_index, random_state=self.random_state)[0]
        X_member = X_original if hasattr(self, "feature_names_in_") else X

        def rows(values, index):
            return None if values is None else _safe_indexing(values, index)

        with deferred_convergence():  # one warning for all the fits, below
            candidates = [
                fit_member(clone(est), rows(X_member, train), y_member[train],
                            rows(groups, train), name)
                for name, est in zip(names, members)
            ]
        if memberships is None:
            predictions = self._member_predictions(candidates, rows(X_member, val), names)
            val_index = group_index[val]
        else:  # each validation row once per group it is in
            predictions = self._member_predictions(candidates, rows(X_member, val_members),
                                                   names)[:, pair_rows]
            val, val_index = val_members[pair_rows], pair_index
        n_groups = labels.shape[0]
        counts = greedy_ensemble_selection(
            predictions, y_select[val], val_index, n_groups, objective=self.objective,
            max_members=self.max_members, task=self._task)
        self.candidate_objectives_ = candidate_objectives(
            predictions, y_select[val], val_index, n_groups, objective=self.objective,
            task=self._task)
        self.validation_objective_ = ensemble_objective(
            predictions, y_select[val], val_index, n_groups, counts,
            objective=self.objective, task=self._task)
        selected = np.flatnonzero(counts)
        with deferred_convergence():
            fitted = [fit_member(clone(members[i]), X_member, y_member, groups, names[i])
                      for i in selected]
        warn_unsettled(type(self).__name__, candidates, fitted)
        self._set_members([names[i] for i in selected], fitted, counts[selected])
        self.selection_counts_ = counts
        self.groups_ = labels
        return self

    def _set_members(self, names, fitted, weights):
        weights = np.asarray(weights, dtype=float)
        self.estimators_ = list(fitted)
        self.weights_ = weights / weights.sum()
        self.named_estimators_ = Bunch(**dict(zip(names, fitted)))

    def _multi_output(self):
        members = self._members()
        try:
            return bool(members) and all(get_tags(e).target_tags.multi_output for e in members)
        except Exception:
            return False

    # ---- pre-fitted members --------------------------------------------------------------
    @classmethod
    def _from_fitted(cls, estimators, weights, groups, params):
        estimators = list(estimators)
        if not estimators:
            raise ValueError("estimators must be a non-empty list.")
        is_pair = [isinstance(item, tuple) for item in estimators]
        if all(is_pair):
            pairs = estimators
        elif not any(is_pair):
            pairs = list(zip(default_names(estimators), estimators))
        else:
            raise ValueError("estimators must be all (name, estimator) tuples or all "
                             "estimators, not a mix.")
        ensemble = cls(estimators=pairs, **params)
        ensemble._validate_params()
        names, members = ensemble._validate_estimators()
        for est in members:
            check_is_fitted(est)
        weights = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=float)
        if (weights.shape != (len(members),) or not np.all(np.isfinite(weights))
                or np.any(weights < 0) or weights.sum() <= 0):
            raise ValueError(
                f"weights must be {len(members)} finite non-negative numbers with a positive "
                "sum (one per estimator)."
            )
        selected = np.flatnonzero(weights > 0)
        fitted = [members[i] for i in selected]
        n_features = feature_attribute(fitted, "n_features_in_")
        if n_features is not None:
            ensemble.n_features_in_ = int(n_features)
        feature_names = feature_attribute(fitted, "feature_names_in_")
        if feature_names is not None:
            ensemble.feature_names_in_ = np.asarray(feature_names, dtype=object)
        if is_memberships(groups):
            ensemble.groups_ = np.sort(groups.names)
        elif groups is not None:
            ensemble.groups_ = encode_groups(groups, np.asarray(groups).reshape(-1).shape[0],
                                             min_rows=1)[0]
        elif hasattr(fitted[0], "groups_"):
            ensemble.groups_ = np.asarray(fitted[0].groups_)
        else:
            ensemble.groups_ = np.array([0])
        ensemble._prefitted_classes(fitted, [names[i] for i in selected])
        ensemble._set_members([names[i] for i in selected], fitted, weights[selected])
        ensemble.selection_counts_ = None
        ensemble.candidate_objectives_ = None
        ensemble.validation_objective_ = None
        return ensemble

    def _prefitted_classes(self, members, names):
        """Set ``classes_`` from pre-fitted members (classifiers)."""

    # ---- prediction ----------------------------------------------------------------
    def _average(self, X):
        """The weighted average of the members' predictions: (n_rows, n_columns)."""
        stacked = self._member_predictions(self.estimators_, X, list(self.named_estimators_))
        return np.tensordot(self.weights_, stacked, axes=1)

    def group_losses(self, X, y, groups=None, *, sensitive_features=None):
        """Mean loss per group of the ensemble's averaged prediction.

        The loss is the log loss of the averaged probabilities (classifier) or the
        squared error of the averaged prediction, averaged over outputs (regressor):
        the losses that the greedy selection minimises.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        groups : array-like of shape (n_samples,), default=None
            Group labels, all among ``groups_``; may be omitted when the ensemble
            knows a single group.
        sensitive_features : array-like of shape (n_samples,), default=None
            Alias of ``groups`` (fairlearn's name); passing both is an error.

        Returns
        -------
        losses : dict
            ``{"clean": ndarray of shape (n_groups,)}`` in ``groups_`` order (the key
            of the Per-GDRO estimators' clean losses; an ensemble has no within-group
            attack); groups absent from ``groups`` get 0.
        """
        check_is_fitted(self)
        groups = groups_or_alias(groups, sensitive_features)
        X = self._validate_X(X)
        n_samples = X.shape[0]
        y_select = self._encode_y(y, n_samples)
        if is_memberships(groups) and one_hot_labels(groups) is None:
            # each row's loss, then the membership-weighted mean of every group
            row_losses = candidate_group_losses(
                self._average(X)[None], y_select, np.arange(n_samples), n_samples,
                kind="loss", task=self._task)[0]
            rows, index, weights = expand_to_fitted(groups, self.groups_, n_samples)
            n_groups = self.groups_.shape[0]
            mass = np.bincount(index, weights=weights, minlength=n_groups)
            sums = np.bincount(index, weights=weights * row_losses[rows], minlength=n_groups)
            return {"clean": np.where(mass > 0, sums / np.where(mass > 0, mass, 1), 0.0)}
        group_index = index_groups(groups, self.groups_, n_samples)
        losses = candidate_group_losses(self._average(X)[None], y_select, group_index,
                                        self.groups_.shape[0], kind="loss", task=self._task)
        return {"clean": np.nan_to_num(losses[0], nan=0.0)}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self._allow_nan()
        tags.input_tags.sparse = bool(self._sparse())
        return tags


_PARAMS_DOC = """
    Parameters
    ----------
    estimators : list of (str, estimator) tuples
        The candidates, as in scikit-learn's ``VotingClassifier``. Each is cloned and
        fitted; ``fit`` passes ``groups`` to a candidate whose ``fit`` takes a
        ``groups`` argument (with metadata routing enabled, also to one that requests
        them, such as a Pipeline whose step called ``set_fit_request(groups=True)``).
    max_members : int, default=20
        Largest ensemble size, counting a candidate once per selection.
    objective : {{"worst_group_loss", "worst_group_error", "loss"}}, \
default="worst_group_loss"
        What the selection minimises on the validation part, for the averaged
        prediction: the largest per-group mean loss ({loss}), the largest per-group
        {error}, or the mean loss over all rows.
    validation_fraction : float, default=0.2
        Fraction of each group's rows held out to choose the ensemble (stratified by
        group{strata}, as :class:`PerGDROSearchCV`'s holdout split).
    random_state : int, RandomState instance or None, default=None
        Seeds the validation split (not the candidates: set their own
        ``random_state``).

    Attributes
    ----------
    estimators_ : list of estimators
        The selected members, refitted on all rows, in ``estimators`` order.
    named_estimators_ : Bunch
        The selected members by name.
    weights_ : ndarray of shape (n_members,)
        Weight of each member in the average (selection counts / ensemble size).
    selection_counts_ : ndarray of int of shape (n_estimators,) or None
        How often each candidate of ``estimators`` was selected; ``None`` for an
        ensemble built by ``from_fitted``.
    candidate_objectives_ : ndarray of shape (n_estimators,) or None
        The validation objective of each candidate alone (``inf`` where its
        predictions were not finite); ``None`` after ``from_fitted``.
    validation_objective_ : float or None
        The validation objective of the selected ensemble (its members fitted on the
        training part), never above the best single candidate's; ``None`` after
        ``from_fitted``.
    groups_ : ndarray of shape (n_groups,)
        Sorted group labels (``[0]`` when fitted without groups).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had feature names.
"""


class EnsembleSelectionClassifier(ClassifierMixin, _BaseEnsembleSelection):
    __doc__ = (
        """Weighted average of classifiers chosen by greedy ensemble selection.

    ``fit`` holds out a validation part of every group, fits a clone of each candidate
    on the rest, and selects, with replacement, the candidates whose averaged
    probabilities minimise ``objective`` on the validation part (Caruana et al., 2004):
    starting from the best single candidate, a candidate joins only if it lowers the
    objective. The selected members are then refitted on all rows; ``predict_proba``
    is the weighted average of their probabilities. Group labels are needed in
    ``fit`` only. Candidates need ``predict_proba``.
"""
        + _PARAMS_DOC.format(loss="log loss", error="error rate (1 - accuracy)",
                             strata=" and class when every cell is large enough")
        + """    classes_ : ndarray of shape (n_classes,)

    See Also
    --------
    EnsembleSelectionRegressor : the same for regressors.
    pergdro_sklearn.metrics.get_scorer : worst-group scorers that work on the ensemble.

    References
    ----------
    Caruana, Niculescu-Mizil, Crew and Ksikes (2004), "Ensemble selection from
    libraries of models", ICML.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> from pergdro_sklearn import EnsembleSelectionClassifier
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> data = make_shifted_groups(random_state=0)
    >>> ensemble = EnsembleSelectionClassifier(
    ...     [("logistic", LogisticRegression()),
    ...      ("tree", DecisionTreeClassifier(max_depth=3, random_state=0))],
    ...     random_state=6)
    >>> ensemble = ensemble.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> ensemble.selection_counts_.tolist()  # the logistic model was selected twice
    [2, 1]
    >>> ensemble.weights_.round(3).tolist()
    [0.667, 0.333]
    >>> ensemble.candidate_objectives_.round(3).tolist()  # worst-group log loss alone
    [0.369, 0.489]
    >>> round(ensemble.validation_objective_, 3)  # the mix beats both members
    0.36
    >>> ensemble.predict_proba(data.X_test[:2]).shape
    (2, 2)
"""
    )

    _task = "classification"

    def __init__(self, estimators, *, max_members=DEFAULT_ENSEMBLE_MAX_MEMBERS,
                 objective="worst_group_loss",
                 validation_fraction=DEFAULT_ENSEMBLE_VALIDATION_FRACTION, random_state=None):
        super().__init__(estimators, max_members=max_members, objective=objective,
                         validation_fraction=validation_fraction, random_state=random_state)

    def _check_member(self, name, estimator):
        if not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"Estimator {name!r} ({type(estimator).__name__}) has no predict_proba; the "
                "ensemble averages class probabilities."
            )

    def _validate_targets(self, y):
        self.classes_, classes_index = unique_labels(y, "y")
        check_classification_targets(y)
        if self.classes_.shape[0] < 2:
            raise ValueError(
                f"The target has only one class ({self.classes_.tolist()}); a classifier "
                "needs at least two."
            )
        return y, classes_index, classes_index

    def _prefitted_classes(self, members, names):
        for est in members:
            if not hasattr(est, "classes_") or not hasattr(est, "predict_proba"):
                raise ValueError(
                    f"{type(est).__name__} has no classes_ or predict_proba; the members "
                    "must be fitted classifiers."
                )
        kinds = {label_kind(label): name for name, est in zip(names, members)
                 for label in np.asarray(est.classes_).tolist()}
        if len(kinds) > 1:
            raise ValueError(
                f"The members' classes mix label types (strings in member "
                f"{kinds['string']!r}, numbers in member {kinds['number']!r}); use one label "
                "type throughout.")
        self.classes_ = unique_labels(
            np.concatenate([np.asarray(est.classes_) for est in members]),
            "the members' classes")[0]

    def _member_predictions(self, members, X, names=None):
        return stack_predictions(members, X, classes=self.classes_, names=names)

    def _encode_y(self, y, n_samples):
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=False)
        if y.ndim != 1 or y.shape[0] != n_samples:
            raise ValueError(f"y must have shape ({n_samples},), got {y.shape}.")
        return positions_in(self.classes_, y, "y")

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, **kwargs):
        """Fit the candidates, select the ensemble on validation, refit its members.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse input is accepted (as CSR) when every candidate accepts it.
        y : array-like of shape (n_samples,)
        groups : array-like of shape (n_samples,), default=None
            Group label of each row; ``None`` means one group. Used for the stratified
            split, the objective and the candidates whose ``fit`` takes ``groups``.
        **kwargs : dict
            Only ``sensitive_features`` (array-like of shape (n_samples,)): an alias of
            ``groups`` (fairlearn's name) for direct calls; passing both is an error.
            Metadata routing knows the name ``groups`` only.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups_from_fit_kwargs(groups, kwargs, type(self).__name__))

    @classmethod
    def from_fitted(cls, estimators, weights=None, *, groups=None, sensitive_features=None,
                    **params):
        """A fitted ensemble of already fitted classifiers; nothing is refitted.

        For members selected elsewhere, e.g. by a search on its own validation
        predictions: pass them with their selection counts (or any non-negative
        weights). ``predict_proba`` averages their probabilities with ``weights``
        normalised to sum to 1; members with weight 0 are left out. ``classes_`` is the
        union of the members' classes. Members receive ``X`` as a NumPy array unless
        they were fitted on a DataFrame (then they get the DataFrame). Calling ``fit``
        on the result refits from scratch (clones of the members).

        Parameters
        ----------
        estimators : list of estimators or of (str, estimator) tuples
            Fitted classifiers with ``predict_proba`` and ``classes_``; bare estimators
            are named after their class, as ``make_pipeline`` does.
        weights : array-like of shape (n_estimators,), default=None
            Non-negative weights or selection counts; equal weights by default.
        groups : array-like, default=None
            The group labels (of the training rows, or the labels themselves) for
            :meth:`group_losses`; by default the first member's ``groups_``, or one
            group.
        sensitive_features : array-like, default=None
            Alias of ``groups`` (fairlearn's name); passing both is an error.
        **params
            Other constructor parameters of the ensemble (``max_members``,
            ``objective``, ...), used only if it is refitted.

        Returns
        -------
        ensemble : EnsembleSelectionClassifier
            Fitted; ``selection_counts_``, ``candidate_objectives_`` and
            ``validation_objective_`` are ``None``.

        Examples
        --------
        >>> from sklearn.linear_model import LogisticRegression
        >>> from pergdro_sklearn import EnsembleSelectionClassifier
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
        >>> strong = LogisticRegression(C=100.0).fit(X, y)
        >>> weak = LogisticRegression(C=0.01).fit(X, y)
        >>> ensemble = EnsembleSelectionClassifier.from_fitted([strong, weak], [3, 1])
        >>> ensemble.weights_.tolist()
        [0.75, 0.25]
        >>> list(ensemble.named_estimators_)
        ['logisticregression-1', 'logisticregression-2']
        >>> ensemble.predict([[0.5], [2.5]]).tolist()
        [0, 1]
        """
        return cls._from_fitted(estimators, weights,
                                groups_or_alias(groups, sensitive_features), params)

    def predict_proba(self, X):
        """Weighted average of the members' class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in ``classes_`` order.
        """
        check_is_fitted(self)
        return self._average(self._validate_X(X))

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (``-inf`` where a probability is 0).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def decision_function(self, X):
        """Log-odds of the averaged probabilities, so that it ranks as they do.

        Probabilities are clipped at ``1e-15`` before the logarithm.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
            ``log p_1 - log p_0`` for two classes, ``log p`` otherwise.
        """
        check_is_fitted(self)
        log_proba = np.log(np.clip(self.predict_proba(X), PROBA_CLIP, None))
        if log_proba.shape[1] == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    def predict(self, X):
        """The class with the highest averaged probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class EnsembleSelectionRegressor(RegressorMixin, _BaseEnsembleSelection):
    __doc__ = (
        """Weighted average of regressors chosen by greedy ensemble selection.

    As :class:`EnsembleSelectionClassifier`, averaging the members' predictions and
    selecting on squared errors. Several outputs are supported when every candidate
    supports them.
"""
        + _PARAMS_DOC.format(loss="squared error, averaged over outputs",
                             error="mean squared error", strata="")
        + """
    See Also
    --------
    EnsembleSelectionClassifier : the same for classifiers.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from pergdro_sklearn import EnsembleSelectionRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=200)
    >>> groups = np.where(X[:, 0] > 0, "a", "b")
    >>> ensemble = EnsembleSelectionRegressor(
    ...     [("ridge", Ridge()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))],
    ...     random_state=0).fit(X, y, groups=groups)
    >>> ensemble.selection_counts_.tolist()
    [1, 0]
    >>> ensemble.predict(X[:2]).shape
    (2,)
"""
    )

    _task = "regression"

    def __init__(self, estimators, *, max_members=DEFAULT_ENSEMBLE_MAX_MEMBERS,
                 objective="worst_group_loss",
                 validation_fraction=DEFAULT_ENSEMBLE_VALIDATION_FRACTION, random_state=None):
        super().__init__(estimators, max_members=max_members, objective=objective,
                         validation_fraction=validation_fraction, random_state=random_state)

    def _check_member(self, name, estimator):
        if not hasattr(estimator, "predict"):
            raise ValueError(f"Estimator {name!r} ({type(estimator).__name__}) has no predict.")

    def _validate_targets(self, y):
        return y, np.asarray(y, dtype=float).reshape(y.shape[0], -1), None

    def _member_predictions(self, members, X, names=None):
        return stack_predictions(members, X, names=names)

    def _encode_y(self, y, n_samples):
        y = check_array(y, ensure_2d=False, dtype=np.float64)
        if y.shape[0] != n_samples:
            raise ValueError(f"y has {y.shape[0]} rows but X has {n_samples}.")
        return y.reshape(n_samples, -1)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, **kwargs):
        """Fit the candidates, select the ensemble on validation, refit its members.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Sparse input is accepted (as CSR) when every candidate accepts it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        groups : array-like of shape (n_samples,), default=None
            Group label of each row; ``None`` means one group. Used for the stratified
            split, the objective and the candidates whose ``fit`` takes ``groups``.
        **kwargs : dict
            Only ``sensitive_features`` (array-like of shape (n_samples,)): an alias of
            ``groups`` (fairlearn's name) for direct calls; passing both is an error.
            Metadata routing knows the name ``groups`` only.

        Returns
        -------
        self : object
        """
        return self._fit(X, y, groups_from_fit_kwargs(groups, kwargs, type(self).__name__))

    @classmethod
    def from_fitted(cls, estimators, weights=None, *, groups=None, sensitive_features=None,
                    **params):
        """A fitted ensemble of already fitted regressors; nothing is refitted.

        As :meth:`EnsembleSelectionClassifier.from_fitted`: ``predict`` is the average
        of the members' predictions weighted by ``weights`` (normalised).

        Parameters
        ----------
        estimators : list of estimators or of (str, estimator) tuples
            Fitted regressors; bare estimators are named after their class.
        weights : array-like of shape (n_estimators,), default=None
            Non-negative weights or selection counts; equal weights by default.
        groups : array-like, default=None
            The group labels for :meth:`group_losses`; by default the first member's
            ``groups_``, or one group.
        **params
            Other constructor parameters of the ensemble, used only if it is refitted.

        Returns
        -------
        ensemble : EnsembleSelectionRegressor

        Examples
        --------
        >>> from sklearn.dummy import DummyRegressor
        >>> from pergdro_sklearn import EnsembleSelectionRegressor
        >>> X, y = [[0.0], [1.0]], [0.0, 4.0]
        >>> low = DummyRegressor(strategy="constant", constant=0.0).fit(X, y)
        >>> high = DummyRegressor(strategy="constant", constant=4.0).fit(X, y)
        >>> EnsembleSelectionRegressor.from_fitted([low, high], [1, 3]).predict(X).tolist()
        [3.0, 3.0]
        """
        return cls._from_fitted(estimators, weights,
                                groups_or_alias(groups, sensitive_features), params)

    def predict(self, X):
        """Weighted average of the members' predictions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        X = self._validate_X(X)
        raw = [np.asarray(est.predict(X), dtype=float) for est in self.estimators_]
        stacked = np.stack([values.reshape(X.shape[0], -1) for values in raw])
        average = np.tensordot(self.weights_, stacked, axes=1)
        return average[:, 0] if all(values.ndim == 1 for values in raw) else average

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = self._multi_output()
        return tags


__all__ = ["EnsembleSelectionClassifier", "EnsembleSelectionRegressor"]
