"""The members of an ensemble: fitting them (groups where they take them), checking
what they predict, stacking their predictions, their names."""

import inspect

import numpy as np
from sklearn import get_config
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.metadata_routing import get_routing_for_object
from sklearn.utils.validation import _num_samples

from .._constants import (
    ENSEMBLE_PROBA_TOLERANCE,
)
from .._groups import (
    label_kind,
)
from .._warnings import BLEW_UP, NOT_SETTLED, convergence_note, warn_user


def fit_takes_groups(estimator):
    """Whether ``estimator.fit`` should receive ``groups``.

    Yes when ``fit`` names a ``groups`` parameter, or, with metadata routing enabled,
    when the estimator (e.g. a Pipeline whose step requested groups) consumes them.
    """
    try:
        parameters = inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):
        parameters = {}
    if "groups" in parameters:
        return True
    if get_config().get("enable_metadata_routing", False):
        try:
            return "groups" in get_routing_for_object(estimator).consumes("fit", ["groups"])
        except Exception:  # objects without routing information consume nothing
            return False
    return False


def fit_member(estimator, X, y, groups, name=None):
    """Fit one member; an error it raises names it (same type where possible)."""
    try:
        if groups is not None and fit_takes_groups(estimator):
            return estimator.fit(X, y, groups=groups)
        return estimator.fit(X, y)
    except Exception as exc:
        if name is None:
            raise
        message = f"Ensemble member {name!r} ({type(estimator).__name__}) failed to fit: {exc}"
        try:
            renamed = type(exc)(message)
        except Exception:  # an exception type that takes other arguments
            exc.add_note(message)
            raise exc from None
        raise renamed from exc


def warn_unsettled(name, candidates, fitted):
    """One ConvergenceWarning for the package's networks among the fits, or none."""
    parts, advice = [], set()
    for what, fits in (("candidates fitted on the training part", candidates),
                       ("members refit on all rows", fitted)):
        notes = [convergence_note(est) for est in fits]
        for note, trouble, fix in (
                (NOT_SETTLED, "reached max_iter with the loss still improving",
                 "raise max_iter or set early_stopping=True"),
                (BLEW_UP, "had their training loss blow up", "lower learning_rate_init")):
            if notes.count(note):
                parts.append(f"{notes.count(note)} of the {len(fits)} {what} {trouble}")
                advice.add(fix)
    if parts:
        warn_user(f"{name}: " + "; ".join(parts) + f" ({'; '.join(sorted(advice))}).",
                  ConvergenceWarning)


def member_name(names, k, est):
    return f"{names[k]!r} ({type(est).__name__})" if names is not None else type(est).__name__


def checked_proba(est, X, n_samples, where):
    """``est.predict_proba(X)``, unless it is not a probability table for its classes."""
    proba = np.asarray(est.predict_proba(X), dtype=float)
    n_classes = len(est.classes_)
    if proba.shape != (n_samples, n_classes):
        raise ValueError(
            f"Ensemble member {where} returned predict_proba of shape {proba.shape}; "
            f"expected ({n_samples}, {n_classes}), one column per class of its classes_.")
    # non-finite values are left to the selection, which never picks such a member
    tol = ENSEMBLE_PROBA_TOLERANCE
    finite = np.isfinite(proba)
    outside = finite & ((proba < -tol) | (proba > 1 + tol))
    if outside.any():
        raise ValueError(
            f"Ensemble member {where} returned predict_proba values outside [0, 1] (e.g. "
            f"{float(proba[outside][0])!r}); an ensemble averages probabilities.")
    rows = finite.all(axis=1)
    sums = proba[rows].sum(axis=1)
    if sums.size and np.max(np.abs(sums - 1)) > tol:
        raise ValueError(
            f"Ensemble member {where} returned predict_proba rows that do not sum to 1 (e.g. "
            f"{sums[np.argmax(np.abs(sums - 1))]:.6g}, tolerance {tol:g}).")
    return proba


def stack_predictions(estimators, X, classes=None, names=None):
    """Fitted estimators' predictions on ``X``, stacked for the greedy selection.

    Parameters
    ----------
    estimators : list of fitted estimators
    X : array-like of shape (n_samples, n_features)
    classes : array-like of shape (n_classes,), default=None
        Sorted class labels: stack the classifiers' ``predict_proba``, each member's
        columns placed by its ``classes_`` (a class it never saw gets probability 0).
        ``None``: stack the regressors' ``predict``.
    names : list of str, default=None
        The members' names, for error messages.

    Returns
    -------
    predictions : ndarray of shape (n_estimators, n_samples, n_columns)
        ``n_columns`` is ``n_classes``, or the number of outputs for regressors.

    Each member's output is checked: probabilities in [0, 1] whose rows sum to 1
    (within ``ENSEMBLE_PROBA_TOLERANCE``), one column per class of its ``classes_``,
    classes of the ensemble's label type; regressors' predictions one row per sample,
    all with the same number of outputs. A ValueError names the member that fails.

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> from pergdro_sklearn._ensemble.members import stack_predictions
    >>> member = DummyClassifier().fit([[0], [0]], ["b", "c"])
    >>> stack_predictions([member], [[0]], classes=["a", "b", "c"]).tolist()
    [[[0.0, 0.5, 0.5]]]
    """
    n_samples = _num_samples(X)
    if classes is None:
        stacked = []
        for k, est in enumerate(estimators):
            prediction = np.asarray(est.predict(X), dtype=float)
            if prediction.ndim > 2 or prediction.shape[:1] != (n_samples,) or (
                    stacked and prediction.reshape(n_samples, -1).shape != stacked[0].shape):
                raise ValueError(
                    f"Ensemble member {member_name(names, k, est)} predicted an array of "
                    f"shape {prediction.shape}; expected ({n_samples},) or ({n_samples}, "
                    "n_outputs), with as many outputs as the other members.")
            stacked.append(prediction.reshape(n_samples, -1))
        return np.stack(stacked)
    classes = np.asarray(classes)
    kinds = {label_kind(label) for label in classes.tolist()}
    out = np.zeros((len(estimators), n_samples, classes.shape[0]))
    for k, est in enumerate(estimators):
        where = member_name(names, k, est)
        member_classes = np.asarray(est.classes_)
        other = {label_kind(label) for label in member_classes.tolist()} - kinds
        if other:
            raise ValueError(
                f"Ensemble member {where} has classes {member_classes.tolist()} ({other.pop()} "
                f"labels) but the ensemble's classes are {classes.tolist()}; use one label "
                "type throughout.")
        columns = np.searchsorted(classes, member_classes)
        if np.any(columns >= classes.shape[0]) or np.any(classes[columns] != member_classes):
            raise ValueError(
                f"Ensemble member {where} has classes {member_classes.tolist()} outside "
                f"{classes.tolist()}."
            )
        out[k][:, columns] = checked_proba(est, X, n_samples, where)
    return out


def default_names(estimators):
    """``make_pipeline``-style names: the lower-case class name, numbered if repeated."""
    names = [type(est).__name__.lower() for est in estimators]
    totals = {name: names.count(name) for name in names}
    seen = {}
    out = []
    for name in names:
        if totals[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name}-{seen[name]}"
        out.append(name)
    return out


def feature_attribute(members, attr):
    """The members' common ``n_features_in_`` / ``feature_names_in_`` (None if absent)."""
    values = [getattr(est, attr) for est in members if hasattr(est, attr)]
    if not values:
        return None
    first = values[0]
    if any(not np.array_equal(np.asarray(v), np.asarray(first)) for v in values[1:]):
        raise ValueError(f"The members disagree on {attr}; they must see the same features.")
    return first


__all__ = [
    "checked_proba",
    "default_names",
    "feature_attribute",
    "fit_member",
    "fit_takes_groups",
    "member_name",
    "stack_predictions",
    "warn_unsettled",
]
