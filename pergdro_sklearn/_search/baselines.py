"""The models a user would pick instead, evaluated beside the searched radii.

``PerGDROSearchCV(baselines=...)`` fits each reference model (gradient-boosted
trees, with and without group-balanced sample weights, a linear model, GroupDRO)
on the training part of every split and scores it on the validation part, like a
candidate. The records join ``cv_results_`` after the candidates (``param_model``
names them; their radii are NaN), the optimiser never sees them, and the
selection rule may pick one: then ``best_estimator_`` is that model refit on all
the rows. A search whose radii cannot beat these models on validation says so by
returning one of them.
"""

import time
import traceback

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone, is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.utils.parallel import Parallel, delayed

from .._constants import SEARCHED_MODEL
from .._estimators.base import BaseGroupRobustMLP
from .._estimators.groupdro import GroupDROClassifier, GroupDRORegressor
from .._memberships import is_memberships
from .._warnings import deferred_convergence, warn_user
from .evaluate import FitResult, _score_fit
from .records import EvaluationRecord
from .template import take

AUTO_BASELINES = ("group_dro", "hist_gradient_boosting", "hist_gradient_boosting_balanced",
                  "linear")
# Parameters GroupDRO shares with the searched network (the same architecture and training).
_SHARED_NETWORK_PARAMS = (
    "hidden_layer_sizes", "activation", "solver", "learning_rate_init", "batch_size",
    "max_iter", "alpha", "random_state", "device", "early_stopping",
    "early_stopping_loss", "validation_fraction",
    "n_iter_no_change", "tol", "module", "loss", "huber_delta", "generalization_adjustment")


class Baseline:
    """One reference model: its name, an unfitted estimator and how it is fitted.

    ``balanced``: fitted with ``sample_weight`` that give every group the same total
    weight; ``takes_groups``: fitted with ``groups=`` (the package's estimators).
    """

    def __init__(self, name, estimator, balanced=False, takes_groups=False, dense=False):
        self.dense = dense  # needs dense rows: left out where the rows it sees are sparse
        self.name = name
        self.estimator = estimator
        self.balanced = balanced
        self.takes_groups = takes_groups

    @property
    def network(self):
        """Whether the model is one of the package's seeded networks (GroupDRO, or a
        user's PerGDRO / GroupDRO estimator): the refit averages its seeds."""
        return isinstance(self.estimator, BaseGroupRobustMLP)

    def with_seed(self, random_state):
        """The same baseline with the estimator's ``random_state`` replaced."""
        return Baseline(self.name, clone(self.estimator).set_params(random_state=random_state),
                        balanced=self.balanced, takes_groups=self.takes_groups,
                        dense=self.dense)

    def fit(self, X, y, groups):
        """A clone fitted on ``X, y`` (``groups`` used as the options say)."""
        model = clone(self.estimator)
        kwargs = {}
        if self.takes_groups:
            kwargs["groups"] = groups
        if self.balanced:
            kwargs["sample_weight"] = group_balanced_weights(groups)
        return model.fit(X, y, **kwargs)


def group_balanced_weights(groups):
    """Row weights giving every group the same total weight (mean weight 1).

    Examples
    --------
    >>> group_balanced_weights(np.array(["a", "a", "a", "b"])).tolist()
    [0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 2.0]

    With :class:`~pergdro_sklearn.Memberships`, row ``i`` weighs
    ``sum_g m_ig * n / (G * M_g)``, ``M_g`` the membership mass of group ``g`` (the
    same weights as the labels for one-hot memberships).
    """
    if is_memberships(groups):
        matrix = np.nan_to_num(np.asarray(groups.matrix, dtype=float))
        mass = matrix.sum(axis=0)
        share = np.where(mass > 0, 1.0 / np.where(mass > 0, mass, 1.0), 0.0)
        return matrix @ share * matrix.shape[0] / np.count_nonzero(mass)
    _, index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    return (groups.shape[0] / (counts.shape[0] * counts))[index]


def _group_dro(final):
    kind = GroupDROClassifier if is_classifier(final) else GroupDRORegressor
    accepted = kind().get_params(deep=False)
    own = final.get_params(deep=False)
    return kind(**{k: own[k] for k in _SHARED_NETWORK_PARAMS if k in own and k in accepted})


def resolve_baselines(baselines, final, sparse=False):
    """The :class:`Baseline` list of the ``baselines`` parameter.

    Parameters
    ----------
    baselines : "auto", None or list
        ``"auto"``: :data:`AUTO_BASELINES`; ``None`` or ``[]``: none; a list of those
        names and of ``(name, estimator)`` pairs (the estimator is fitted with
        ``fit(X, y)``, or with ``groups=`` when it is one of the package's).
    final : the searched Per-GDRO estimator (unfitted)
        Gives the task, the seed of the trees and GroupDRO's network.
    sparse : bool
        The rows the models see are sparse: the trees, which need dense input, are
        left out of ``"auto"``.
    """
    if baselines is None:
        return []
    names = list(AUTO_BASELINES) if isinstance(baselines, str) and baselines == "auto" \
        else list(baselines)
    if isinstance(baselines, str) and baselines == "auto" and sparse:
        names = [n for n in names if not n.startswith("hist_gradient_boosting")]
    classifier = is_classifier(final)
    seed = final.random_state if isinstance(final.random_state, (int, np.integer)) else None
    out, seen = [], set()
    for entry in names:
        if isinstance(entry, str):
            out.append(_named(entry, final, classifier, seed))
        elif (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)
              and hasattr(entry[1], "fit")):
            name, estimator = entry
            if name == SEARCHED_MODEL or name in AUTO_BASELINES:
                raise ValueError(f"baselines: the name {name!r} is taken; choose another "
                                 "for your model.")
            if is_classifier(estimator) != classifier:
                kinds = ("regressor", "classifier")
                raise ValueError(
                    f"baselines: {name!r} is a {kinds[is_classifier(estimator)]} but the "
                    f"searched estimator is a {kinds[classifier]}.")
            out.append(Baseline(name, estimator,
                                takes_groups=isinstance(estimator, BaseGroupRobustMLP)))
        else:
            raise ValueError(
                "baselines must be 'auto', None, or a list of names among "
                f"{list(AUTO_BASELINES)} and (name, estimator) pairs; got {entry!r}.")
        if out[-1].name in seen:
            raise ValueError(f"baselines: {out[-1].name!r} is given twice.")
        seen.add(out[-1].name)
    return out


def _named(name, final, classifier, seed):
    if name == "group_dro":
        return Baseline(name, _group_dro(final), takes_groups=True)
    if name in ("hist_gradient_boosting", "hist_gradient_boosting_balanced"):
        trees = (HistGradientBoostingClassifier if classifier
                 else HistGradientBoostingRegressor)(random_state=seed)
        return Baseline(name, trees, balanced=name.endswith("_balanced"), dense=True)
    if name == "linear":
        return Baseline(name, LogisticRegression(max_iter=1000) if classifier
                        else Ridge(alpha=1.0))
    raise ValueError(f"Unknown baseline {name!r}: use one of {list(AUTO_BASELINES)} or a "
                     "(name, estimator) pair.")


def _fit_baseline(template, baseline, X, y, groups, train):
    start = time.perf_counter()
    try:
        X_train = take(X, train)
        prefix, Xt = (template.fit_transformers(X_train, y[train]) if template.is_pipeline
                      else (None, X_train))
        if baseline.dense and sp.issparse(Xt):
            return FitResult(None, time.perf_counter() - start, _SPARSE)
        model = baseline.fit(Xt, y[train], groups[train])
        return FitResult(template.with_final(prefix, model), time.perf_counter() - start)
    except Exception:
        return FitResult(None, time.perf_counter() - start, traceback.format_exc())


def _evaluate_baseline(template, baseline, X, y, groups, fold, scoring):
    train, val = fold
    with deferred_convergence():
        fit = _fit_baseline(template, baseline, X, y, groups, train)
        return _score_fit(fit, X, y, groups, val, scoring)


def evaluate_baselines(template, baselines, X, y, groups, folds, scoring, n_jobs=None):
    """One :class:`EvaluationRecord` per baseline, scored on every split.

    A baseline whose fit or scoring fails on a split is recorded as failed (never
    picked) and a ``UserWarning`` names it; the search goes on.
    """
    if not baselines:
        return []
    n_groups = scoring.labels.shape[0]
    tasks = [(b, k) for b in range(len(baselines)) for k in range(len(folds))]
    scores = Parallel(n_jobs=n_jobs)(
        delayed(_evaluate_baseline)(template, baselines[b], X, y, groups, folds[k], scoring)
        for b, k in tasks)
    records = []
    for b, baseline in enumerate(baselines):
        splits = [scores[t] for t, (bb, _) in enumerate(tasks) if bb == b]
        if any(s.error == _SPARSE for s in splits):  # the trees on sparse rows: left out
            continue
        record = EvaluationRecord.from_splits(
            {"rho": np.nan, "epsilon": np.full(n_groups, np.nan)}, splits)
        record.model = baseline.name
        if record.failed:
            warn_user(f"The baseline {baseline.name!r} failed on a split and is left out of "
                      f"the pick. Details:\n{record.error}", UserWarning)
        records.append(record)
    return records


_SPARSE = "sparse rows: this baseline needs dense ones"


def refit_baseline(template, baseline, X, y, groups):
    """The baseline fitted on all the rows, inside the template's Pipeline if any."""
    prefix, Xt = template.fit_transformers(X, y) if template.is_pipeline else (None, X)
    with deferred_convergence():
        model = baseline.fit(Xt, y, groups)
    return template.with_final(prefix, model)


__all__ = ["AUTO_BASELINES", "Baseline", "SEARCHED_MODEL", "evaluate_baselines",
           "group_balanced_weights", "refit_baseline", "resolve_baselines"]
