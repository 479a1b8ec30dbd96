"""PerGDROSearchCV: learn ``rho`` and the per-group radii (the paper's Algorithm 2).

Gaussian-process Bayesian optimisation (scikit-optimize's ``Optimizer``, driven
directly with ask/tell) over the radii of a Per-GDRO estimator. Every candidate is
trained on the training part of each split and scored on the validation part; the
optimiser minimises the mean validation objective across splits.

Fitting and scoring are separate steps: :meth:`PerGDROSearchCV._fit_candidates`
trains a list of candidates on every split (the one place to change how training
is dispatched) and scoring happens afterwards in the calling process.
"""

import contextlib
import hashlib
import inspect
import itertools
import json
import logging
import os
import re
import tempfile
import time
import traceback
import warnings
from copy import deepcopy
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from scipy.stats import rankdata
from sklearn import config_context
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import get_scorer as sklearn_get_scorer
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import metrics as _metrics
from ._base import SEED_MAX, configure_progress_logging, encode_groups
from ._batched import can_batch, fit_candidates
from ._constants import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    DEFAULT_BATCH_CANDIDATES,
    DEFAULT_SEARCH_HOLDOUT,
    DEFAULT_SEARCH_OBJECTIVE,
    MAX_ENUMERATED_GRID_POINTS,
    MIN_ROWS_PER_GROUP,
    NONFINITE_SCORE_PENALTY,
)
from ._surrogate import KernelRefitSchedule, make_surrogate

logger = logging.getLogger("pergdro_sklearn")

BUILTIN_OBJECTIVES = ("robust", "worst_group_loss", "worst_group_error")
INITIAL_POINT_GENERATORS = ("grid", "lhs", "sobol", "halton", "hammersly", "random")


# --------------------------------------------------------------------------
# Bounds and the search space
# --------------------------------------------------------------------------
def _check_pair(value, name):
    """A ``(low, high)`` pair of finite, non-negative floats with ``low <= high``."""
    try:
        pair = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}.") from None
    if pair.size == 0:
        raise ValueError(f"{name} is empty; give a (low, high) pair.")
    if pair.shape != (2,):
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}.")
    low, high = float(pair[0]), float(pair[1])
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} must be finite, got ({low}, {high}).")
    if low < 0:
        raise ValueError(f"{name} must be non-negative (radii are >= 0), got ({low}, {high}).")
    if low > high:
        raise ValueError(f"{name} has its lower bound above its upper bound: ({low}, {high}).")
    return low, high


def _resolve_epsilon_bounds(epsilon_bounds, labels, groups_given):
    """Per-group ``(low, high)`` radii bounds, shape ``(n_groups, 2)``, ``labels`` order."""
    n_groups = labels.shape[0]
    if isinstance(epsilon_bounds, dict):
        if not epsilon_bounds:
            raise ValueError("epsilon_bounds is empty; give a (low, high) pair or one per group.")
        if not groups_given:
            raise ValueError(
                f"epsilon_bounds names groups {list(epsilon_bounds)} but fit got no groups "
                "(groups=None means one group); pass groups=... to fit."
            )
        known = set(labels.tolist())
        unknown = [key for key in epsilon_bounds if key not in known]
        if unknown:
            raise ValueError(
                f"epsilon_bounds names unknown groups {unknown}; the groups are {labels.tolist()}."
            )
        bounds = np.zeros((n_groups, 2))
        for position, label in enumerate(labels.tolist()):
            if label in epsilon_bounds:
                bounds[position] = _check_pair(epsilon_bounds[label],
                                               f"epsilon_bounds[{label!r}]")
        return bounds
    try:
        array = np.asarray(epsilon_bounds, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "epsilon_bounds must be a (low, high) pair, an array of pairs (one per group) or "
            f"a dict {{group: (low, high)}}, got {epsilon_bounds!r}."
        ) from None
    if array.size == 0:
        raise ValueError("epsilon_bounds is empty; give a (low, high) pair or one per group.")
    if array.ndim == 1:
        pair = _check_pair(array, "epsilon_bounds")
        return np.tile(pair, (n_groups, 1))
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(
            f"epsilon_bounds must be a (low, high) pair or an array of shape (n_groups, 2), "
            f"got shape {array.shape}."
        )
    if array.shape[0] != n_groups:
        if not groups_given:
            raise ValueError(
                f"epsilon_bounds gives bounds for {array.shape[0]} groups but fit got no "
                "groups (groups=None means one group); pass groups=... to fit."
            )
        raise ValueError(
            f"epsilon_bounds gives bounds for {array.shape[0]} groups but there are {n_groups} "
            f"groups {labels.tolist()}; give one pair per group in that order."
        )
    for position, label in enumerate(labels.tolist()):
        _check_pair(array[position], f"epsilon_bounds for group {label!r}")
    return array.copy()


class _SearchSpace:
    """Maps a point of the optimiser's space to ``{"rho": float, "epsilon": ndarray}``.

    A bound pair with ``low == high`` is a fixed value, not a dimension. With
    ``shared`` one dimension drives every varying group: ``"epsilon"`` itself when
    those groups share their bounds, else ``"epsilon_scale"`` in [0, 1] with
    ``epsilon_g = low_g + scale * (high_g - low_g)``.
    """

    def __init__(self, rho_bounds, epsilon_bounds, shared, labels):
        self.labels = labels
        self.names, self.bounds = [], []
        rho_low, rho_high = rho_bounds
        self.rho_fixed = rho_low
        self.rho_dim = None
        if rho_high > rho_low:
            self.rho_dim = self._add("rho", rho_low, rho_high)
        self.eps_low = epsilon_bounds[:, 0].copy()
        self.eps_high = epsilon_bounds[:, 1].copy()
        self.varying = self.eps_high > self.eps_low
        self.group_dims = {}
        self.shared_dim, self.shared_scale = None, False
        if shared and self.varying.any():
            lows, highs = self.eps_low[self.varying], self.eps_high[self.varying]
            if np.all(lows == lows[0]) and np.all(highs == highs[0]):
                self.shared_dim = self._add("epsilon", lows[0], highs[0])
            else:
                self.shared_dim = self._add("epsilon_scale", 0.0, 1.0)
                self.shared_scale = True
        elif not shared:
            for position in np.flatnonzero(self.varying):
                self.group_dims[int(position)] = self._add(
                    f"epsilon_{labels[position]}", self.eps_low[position],
                    self.eps_high[position])

    def _add(self, name, low, high):
        self.names.append(name)
        self.bounds.append((float(low), float(high)))
        return len(self.names) - 1

    @property
    def n_dims(self):
        return len(self.names)

    def dimensions(self):
        """Fresh skopt dimensions (skopt mutates the ones it is given)."""
        from skopt.space import Real as SkoptReal

        return [SkoptReal(low, high, prior="uniform", name=name)
                for name, (low, high) in zip(self.names, self.bounds)]

    def params(self, x):
        rho = float(x[self.rho_dim]) if self.rho_dim is not None else self.rho_fixed
        eps = self.eps_low.copy()
        if self.shared_dim is not None:
            value = float(x[self.shared_dim])
            if self.shared_scale:
                eps[self.varying] = (self.eps_low[self.varying] + value
                                     * (self.eps_high[self.varying] - self.eps_low[self.varying]))
            else:
                eps[self.varying] = value
        for position, dim in self.group_dims.items():
            eps[position] = float(x[dim])
        return {"rho": rho, "epsilon": np.clip(eps, self.eps_low, self.eps_high)}

    def describe(self):
        return {
            "names": list(self.names),
            "bounds": [list(b) for b in self.bounds],
            "rho_fixed": self.rho_fixed,
            "epsilon_low": self.eps_low.tolist(),
            "epsilon_high": self.eps_high.tolist(),
            "shared_scale": self.shared_scale,
        }


def _integer_levels(n_samples, n_dims):
    """The largest ``k >= 1`` with ``k ** n_dims <= n_samples``."""
    k = max(1, int(np.floor(n_samples ** (1.0 / n_dims))))
    while k > 1 and k ** n_dims > n_samples:
        k -= 1
    while (k + 1) ** n_dims <= n_samples:
        k += 1
    return k


def _levels(bounds, k):
    if k == 1:
        return [np.array([(low + high) / 2.0]) for low, high in bounds]
    return [np.linspace(low, high, k) for low, high in bounds]


def factorial_grid(bounds, n_samples, random_state=None):
    """A full factorial grid, borders included, topped up from the next finer grid.

    With ``k`` the largest number of levels such that ``k ** n_dims <= n_samples``
    (one level is the midpoint), all ``k ** n_dims`` points come first, in random
    order; the remaining points are drawn without repetition from the grid with
    ``k + 1`` levels. 243 points in 5 dimensions are the paper's 3-level grid.

    Parameters
    ----------
    bounds : list of (low, high)
    n_samples : int
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    points : ndarray of shape (n_samples, n_dims)

    Examples
    --------
    >>> from pergdro_sklearn._search import factorial_grid
    >>> sorted(factorial_grid([(0, 3), (0, 5)], 4, random_state=0).tolist())
    [[0.0, 0.0], [0.0, 5.0], [3.0, 0.0], [3.0, 5.0]]
    """
    rng = check_random_state(random_state)
    n_dims = len(bounds)
    k = _integer_levels(n_samples, n_dims)
    coarse = np.array(list(itertools.product(*_levels(bounds, k))), dtype=float)
    coarse = coarse[rng.permutation(coarse.shape[0])]
    missing = n_samples - coarse.shape[0]
    if missing <= 0:
        return coarse[:n_samples]
    fine_levels = _levels(bounds, k + 1)
    taken = {tuple(row) for row in coarse.tolist()}
    if (k + 1) ** n_dims <= MAX_ENUMERATED_GRID_POINTS:
        fine = [row for row in itertools.product(*fine_levels) if tuple(row) not in taken]
        fine = np.array(fine, dtype=float)
        extra = fine[rng.choice(fine.shape[0], size=missing, replace=False)]
    else:
        rows = []
        while len(rows) < missing:
            index = rng.randint(k + 1, size=n_dims)
            row = tuple(float(fine_levels[d][i]) for d, i in enumerate(index))
            if row not in taken:
                taken.add(row)
                rows.append(row)
        extra = np.array(rows, dtype=float)
    return np.vstack([coarse, extra])


def _initial_design(generator, space, n_samples, seed):
    """``n_samples`` initial points (lists of floats) from the named generator."""
    if generator == "grid":
        points = factorial_grid(space.bounds, n_samples, random_state=seed)
    elif generator == "random":
        from skopt.space import Space

        points = np.asarray(Space(space.dimensions()).rvs(n_samples=n_samples,
                                                          random_state=seed), dtype=float)
    else:
        from skopt.utils import cook_initial_point_generator

        sampler = cook_initial_point_generator(generator)
        with warnings.catch_warnings():
            # Sobol's balance warning for sample counts that are not powers of 2
            warnings.simplefilter("ignore", UserWarning)
            points = np.asarray(sampler.generate(space.dimensions(), n_samples,
                                                 random_state=seed), dtype=float)
    low = np.array([b[0] for b in space.bounds])
    high = np.array([b[1] for b in space.bounds])
    points = np.clip(points.reshape(n_samples, space.n_dims), low, high)
    return [[float(v) for v in row] for row in points]


# --------------------------------------------------------------------------
# Validation splits
# --------------------------------------------------------------------------
def _split_ok(group_index, n_groups, folds):
    """Labels of the groups missing from a validation part or short in a training part."""
    bad = set()
    for train, val in folds:
        train_counts = np.bincount(group_index[train], minlength=n_groups)
        val_counts = np.bincount(group_index[val], minlength=n_groups)
        bad.update(np.flatnonzero((train_counts < MIN_ROWS_PER_GROUP) | (val_counts < 1)).tolist())
    return sorted(bad)


def _holdout(strata, fraction, rng):
    n = strata.shape[0]
    is_val = np.zeros(n, dtype=bool)
    for stratum in np.unique(strata):
        rows = np.flatnonzero(strata == stratum)
        n_val = int(np.clip(round(fraction * rows.shape[0]), 1, max(rows.shape[0] - 1, 1)))
        is_val[rng.permutation(rows)[:n_val]] = True
    return [(np.flatnonzero(~is_val), np.flatnonzero(is_val))]


def make_group_folds(cv, group_index, labels, classes_index=None, random_state=None):
    """Stratified splits in which every group is in every training and validation part.

    Strata are (group, class) cells for classifiers when every cell is large enough,
    else the groups alone.

    Parameters
    ----------
    cv : int or float
        ``k >= 2`` folds, or the validation fraction of one holdout split.
    group_index : ndarray of shape (n_samples,)
        Position of each row's group in ``labels``.
    labels : ndarray of shape (n_groups,)
    classes_index : ndarray of shape (n_samples,), default=None
        Class of each row (classifiers).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    folds : list of (train, validation) index arrays

    Examples
    --------
    >>> import numpy as np
    >>> from pergdro_sklearn._search import make_group_folds
    >>> group_index = np.repeat([0, 1], [20, 5])
    >>> folds = make_group_folds(0.2, group_index, np.array(["a", "b"]), random_state=0)
    >>> np.bincount(group_index[folds[0][1]]).tolist()
    [4, 1]
    """
    n_groups = labels.shape[0]
    seed = check_random_state(random_state).randint(SEED_MAX)
    candidates = [group_index]
    if classes_index is not None:
        n_classes = int(classes_index.max()) + 1
        candidates.insert(0, group_index * n_classes + classes_index)
    holdout = isinstance(cv, Real) and not isinstance(cv, Integral)
    bad = []
    for strata in candidates:
        _, strata = np.unique(strata, return_inverse=True)
        counts = np.bincount(strata)
        if holdout:
            if counts.min() < 2:
                bad = np.flatnonzero(np.bincount(group_index, minlength=n_groups)
                                     < MIN_ROWS_PER_GROUP + 1).tolist()
                continue
            folds = _holdout(strata, float(cv), np.random.RandomState(seed))
        else:
            if counts.min() < cv:
                bad = np.flatnonzero(np.bincount(group_index, minlength=n_groups) < cv).tolist()
                continue
            splitter = StratifiedKFold(n_splits=int(cv), shuffle=True, random_state=seed)
            folds = [(np.sort(tr), np.sort(va))
                     for tr, va in splitter.split(np.zeros((strata.shape[0], 1)), strata)]
        bad = _split_ok(group_index, n_groups, folds)
        if not bad:
            return folds
    names = [labels[i].item() if hasattr(labels[i], "item") else labels[i] for i in bad]
    sizes = np.bincount(group_index, minlength=n_groups)[bad].tolist()
    need = (f"{MIN_ROWS_PER_GROUP + 1} rows for a holdout split (1 for validation, "
            f"{MIN_ROWS_PER_GROUP} for training)" if holdout
            else f"enough rows for {cv} folds (one validation row per fold and "
                 f"{MIN_ROWS_PER_GROUP} training rows)")
    raise ValueError(
        f"Group(s) {names} (rows {sizes}) are too small to appear in every split: each "
        f"group needs {need}. Merge small groups or use fewer folds."
    )


# --------------------------------------------------------------------------
# Fitting and scoring one candidate on one split
# --------------------------------------------------------------------------
class FitResult(NamedTuple):
    """A candidate trained on one split: the estimator (None if the fit failed)."""

    estimator: object
    fit_time: float
    error: object = None


def _fit_one(estimator, X, y, groups, train, params, error_score):
    est = clone(estimator).set_params(rho=params["rho"], epsilon=params["epsilon"])
    start = time.perf_counter()
    try:
        est.fit(X[train], y[train], groups=groups[train])
    except Exception:
        if error_score == "raise":
            raise
        return FitResult(None, time.perf_counter() - start, traceback.format_exc())
    return FitResult(est, time.perf_counter() - start, None)


def _fit_batch(estimator, X, y, groups, train, params_list, error_score):
    """Candidates trained together on one split; on failure, one at a time."""
    start = time.perf_counter()
    try:
        fitted = fit_candidates(estimator, params_list, X[train], y[train], groups[train])
    except Exception:
        # one diverging candidate stops the batch: retry each alone to isolate it
        return [_fit_one(estimator, X, y, groups, train, params, error_score)
                for params in params_list]
    share = (time.perf_counter() - start) / len(params_list)
    return [FitResult(est, share, None) for est in fitted]


def _scorer_takes_groups(scorer):
    func = getattr(scorer, "_score_func", None)
    try:
        parameters = inspect.signature(func if func is not None else scorer).parameters
    except (TypeError, ValueError):
        return False
    return "groups" in parameters


def _call_scorer(scorer, estimator, X, y, groups):
    if not _scorer_takes_groups(scorer):
        return scorer(estimator, X, y)
    if hasattr(scorer, "_score_func"):
        # scikit-learn's scorer objects take metadata only with routing enabled
        with config_context(enable_metadata_routing=True):
            return scorer(estimator, X, y, groups=groups)
    return scorer(estimator, X, y, groups=groups)


def _resolve_objective(objective):
    """``(name, scorer)``: a built-in objective name, or ``("scorer", callable)``."""
    if isinstance(objective, str):
        if objective in BUILTIN_OBJECTIVES:
            return objective, None
        with contextlib.suppress(ValueError):
            return "scorer", _metrics.get_scorer(objective)
        try:
            return "scorer", sklearn_get_scorer(objective)
        except ValueError:
            raise ValueError(
                f"Unknown objective {objective!r}: use one of {list(BUILTIN_OBJECTIVES)}, a "
                "scorer name of pergdro_sklearn.metrics.get_scorer or "
                "sklearn.metrics.get_scorer, or a callable scorer(estimator, X, y[, groups])."
            ) from None
    if callable(objective):
        return "scorer", objective
    raise ValueError(f"Unknown objective {objective!r}.")


def _nan_stat(func, values, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(values, axis=axis)


def _stable_repr(value):
    """A repr without memory addresses (for fingerprints)."""
    if inspect.isfunction(value) or inspect.isclass(value):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_stable_repr(v)}"
                               for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))) + "}"
    if isinstance(value, np.ndarray):
        return f"array({value.tolist()!r})"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def _hash_folds(folds):
    digest = hashlib.sha256()
    for train, val in folds:
        digest.update(np.asarray(train, dtype=np.int64).tobytes())
        digest.update(b"|")
        digest.update(np.asarray(val, dtype=np.int64).tobytes())
        digest.update(b"#")
    return digest.hexdigest()


def _write_json_atomic(path, payload):
    """Write ``payload`` as JSON to ``path`` atomically (temp file + ``os.replace``)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_checkpoint(path):
    try:
        with open(path) as handle:
            payload = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ValueError(f"checkpoint {os.fspath(path)!r} cannot be read as a "
                         f"PerGDROSearchCV checkpoint: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a PerGDROSearchCV checkpoint.")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint {os.fspath(path)!r} has version {payload.get('version')}; "
                         f"this version of pergdro_sklearn reads version {CHECKPOINT_VERSION}.")
    return payload


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


# --------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------
class PerGDROSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Learn ``rho`` and the per-group radii of a Per-GDRO estimator (Algorithm 2).

    Gaussian-process Bayesian optimisation with scikit-optimize: ``rho`` is searched
    in ``rho_bounds`` and each group's Wasserstein radius in that group's bounds. The
    first ``n_initial_points`` candidates come from ``initial_point_generator`` (the
    paper uses a grid); the rest are proposed by the GP's acquisition function,
    ``n_points`` at a time (constant liar). Each candidate is trained on the training
    part of every split and scored on the validation part; the optimiser minimises
    the mean validation objective across splits.

    Parameters
    ----------
    estimator : PerGDROClassifier or PerGDRORegressor
        The template; its ``rho`` and ``epsilon`` are replaced by each candidate's.
        Fix its ``random_state`` for reproducible searches.
    rho_bounds : (float, float), default=(0.0, 3.0)
        Search range of the inter-group radius. ``low == high`` fixes ``rho``.
    epsilon_bounds : (float, float), array-like of shape (n_groups, 2) or dict, \
default=(0.0, 3.0)
        Search ranges of the within-group radii: one pair for every group (one
        dimension per group), one pair per group in ``groups_`` order, or
        ``{label: (low, high)}`` (groups not named are fixed at 0). A pair with
        ``low == high`` fixes that group's radius. The paper gives minority groups
        wider ranges.
    shared_epsilon : bool, default=False
        Search one radius dimension for all groups instead of one per group. When
        the varying groups have different bounds the dimension is a scale ``s`` in
        [0, 1] with ``epsilon_g = low_g + s * (high_g - low_g)``.
    objective : str or callable, default="worst_group_loss"
        What the search minimises on the validation rows:

        - ``"worst_group_loss"`` (default): the largest per-group clean validation
          loss. Chosen from the benchmarks (README, "Choosing the objective"): on the
          data where groups matter it picked better radii than Eq. (9);
        - ``"robust"``: Eq. (9), the fitted model's ``robust_risk`` with the
          candidate's ``rho`` and radii, validation proportions as nominal. For a
          fixed model it grows with the radii, so it tends to favour small radii
          (in the benchmarks it nearly always returned ``rho = 0, epsilon = 0``);
        - ``"worst_group_error"``: one minus the worst group accuracy
          (classifiers), the worst group mean squared error (regressors);
        - a scorer: a name of :func:`pergdro_sklearn.metrics.get_scorer` (e.g.
          ``"worst_group_accuracy"``) or of :func:`sklearn.metrics.get_scorer`, or a
          callable ``scorer(estimator, X, y)`` or ``scorer(estimator, X, y,
          groups=...)``. Scorers are maximised (their negative is minimised).

        A non-finite objective is handed to the optimiser as
        ``NONFINITE_SCORE_PENALTY`` (1e6); ``cv_results_`` shows the true value.
    n_iter : int, default=50
        Number of candidates evaluated (initial points included).
    n_initial_points : int, default=10
        Candidates from ``initial_point_generator`` before the GP takes over.
    initial_point_generator : {"grid", "lhs", "sobol", "halton", "hammersly", \
"random"}, default="grid"
        ``"grid"`` is a full factorial grid with borders (see
        :func:`factorial_grid`): 243 points in 5 dimensions are the paper's
        3-level grid; with few points in many dimensions it is mostly corners, and
        ``"lhs"`` or ``"sobol"`` cover the space better.
    acq_func : {"EI", "PI", "LCB", "gp_hedge"}, default="EI"
        Acquisition function of the GP.
    acq_optimizer : {"auto", "lbfgs", "sampling"}, default="auto"
        How the acquisition function is optimised (skopt's ``acq_optimizer``);
        ``"sampling"`` is cheaper than ``"lbfgs"`` when many points are told.
    acq_func_kwargs : dict, default=None
        Options of the acquisition function, e.g. ``{"xi": 0.01, "kappa": 1.96}``.
    acq_optimizer_kwargs : dict, default=None
        Options of skopt's acquisition optimiser, e.g. ``{"n_points": 2000,
        "n_restarts_optimizer": 5}``. Every tell (and every provisional tell of
        the constant liar) scores ``n_points`` random points (default 10,000);
        with hundreds of evaluations that prediction dominates the GP's cost.
    cv : int, float, cross-validation splitter or iterable, default=0.2
        A float in (0, 1): one holdout split with that fraction of the rows for
        validation (the paper tunes on one train/validation split). An int ``k``:
        ``k`` folds. Both default splits are stratified on the group (and on the
        class for classifiers, when every (group, class) cell is large enough) so
        that every group appears in every training and validation part; a group
        too small for that is an error naming it. A splitter is called as
        ``cv.split(X, y, groups)``. ``None`` means the default holdout.
    n_points : int, default=1
        Candidates proposed per round (constant liar, ``"cl_min"``) and trained
        together; raise it with ``n_jobs``.
    n_jobs : int, default=None
        Parallel jobs over (candidate, split) fits through joblib; a
        ``joblib.parallel_backend("dask")`` context runs them on a Dask cluster.
    checkpoint : str or path-like, default=None
        JSON file where every finished evaluation is saved atomically. Fitting again
        with the same arguments and data resumes: saved evaluations are replayed to
        the optimiser and not recomputed. A checkpoint of a different search (another
        fingerprint of the arguments and data) is an error. ``n_iter``, ``n_points``,
        ``n_jobs``, ``verbose``, ``callbacks``, ``max_time`` and ``refit`` may change
        between runs, so a finished search can be extended with a larger ``n_iter``.
    refit : bool, default=True
        Refit the best candidate on all the data as ``best_estimator_``.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits, the initial points and the optimiser. With a checkpoint,
        a resumed search reuses the seed saved in it.
    verbose : int, default=0
        Log each evaluation and the best objective so far to the
        ``pergdro_sklearn`` logger.
    callbacks : callable or list of callables, default=None
        skopt-style callbacks, called with the optimiser's ``OptimizeResult`` after
        each round; one returning True stops the search.
    max_time : float, default=None
        Time budget in seconds for this call of ``fit``, checked after each round.
    error_score : "raise" or float, default=np.nan
        Objective value recorded for a (candidate, split) whose fit or scoring fails,
        with a ``FitFailedWarning``; ``"raise"`` raises instead.
    batch_candidates : int, default=16
        Up to this many candidates of a round are trained together on one split as
        one batched network (stacked weights, batched matmuls): at these sizes
        per-call overhead dominates, so this is several times faster than fitting
        them one after another, with the same results up to float rounding. The
        initial design is evaluated in rounds of ``max(n_points, batch_candidates *
        n_jobs)``, split into one batch per job. ``1`` trains every candidate
        separately.
    gp_refit_every : int, default=1
        Re-optimise the GP kernel's hyperparameters every this many rounds; in
        between the kernel stays fixed and refitting the GP is one Cholesky
        factorisation. The constant liar's provisional fits always use the fixed
        kernel. Raise it for long searches, where hyperparameter fits dominate.

    Attributes
    ----------
    best_params_ : dict
        ``{"rho": float, "epsilon": ndarray of shape (n_groups,)}``, radii in
        ``groups_`` order.
    best_index_ : int
        Row of ``cv_results_`` of the best candidate.
    best_objective_ : float
        Its mean validation objective (lower is better).
    best_score_ : float
        ``-best_objective_``: greater is better, as in scikit-learn. For a scorer
        objective this is the scorer's mean value; for the loss objectives it is the
        negated loss.
    best_estimator_ : estimator
        The best candidate refit on all the data (``refit=True`` only).
    refit_time_ : float
    cv_results_ : dict of ndarray
        One row per evaluated candidate, in evaluation order; ``pandas.DataFrame``
        reads it. Keys: ``params``, ``param_rho``, ``param_epsilon_<label>``,
        ``split<k>_test_objective``, ``mean_test_objective``, ``std_test_objective``,
        ``rank_test_objective`` (1 = lowest), ``mean_test_score`` (the negated
        objective), ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time``, ``mean_val_loss_<label>`` (clean validation loss per
        group), ``mean_val_accuracy_<label>`` (classifiers) or ``mean_val_mse_<label>``
        (regressors), and ``is_initial_point``.
    optimizer_result_ : scipy.optimize.OptimizeResult
        skopt's result (``x_iters``, ``func_vals``, ``space``, ``models``), usable with
        ``skopt.plots``. ``func_vals`` hold the penalised objective.
    dimension_names_ : list of str
        The searched dimensions.
    groups_ : ndarray of shape (n_groups,)
        Sorted group labels (``[0]`` when ``fit`` got ``groups=None``).
    n_splits_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had feature names.

    See Also
    --------
    PerGDROClassifier, PerGDRORegressor : the estimators searched.

    Notes
    -----
    ``groups=None`` means one group, as for the estimators (so scikit-learn's
    estimator checks can call ``fit(X, y)``); then ``epsilon_bounds`` naming groups
    (a dict, or several pairs) is an error that asks for ``groups``.

    Examples
    --------
    >>> from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> data = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
    >>> search = PerGDROSearchCV(
    ...     PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    ...     epsilon_bounds={0: (0, 1), 1: (0, 1), 2: (0, 2), 3: (0, 2)},
    ...     n_iter=5, n_initial_points=3, random_state=0)
    >>> search = search.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> search.dimension_names_
    ['rho', 'epsilon_0', 'epsilon_1', 'epsilon_2', 'epsilon_3']
    >>> search.best_params_["epsilon"].shape
    (4,)
    >>> len(search.cv_results_["mean_test_objective"])
    5
    >>> search.predict(data.X_test[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "rho_bounds": ["array-like"],
        "epsilon_bounds": ["array-like", dict],
        "shared_epsilon": ["boolean"],
        "objective": [str, callable],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "n_initial_points": [Interval(Integral, 1, None, closed="left")],
        "initial_point_generator": [StrOptions(set(INITIAL_POINT_GENERATORS))],
        "acq_func": [StrOptions({"EI", "PI", "LCB", "gp_hedge"})],
        "acq_optimizer": [StrOptions({"auto", "lbfgs", "sampling"})],
        "acq_func_kwargs": [dict, None],
        "acq_optimizer_kwargs": [dict, None],
        "cv": ["cv_object", Interval(RealNotInt, 0, 1, closed="neither")],
        "n_points": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "checkpoint": [str, os.PathLike, None],
        "refit": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [callable, list, tuple, None],
        "max_time": [Interval(Real, 0, None, closed="neither"), None],
        "error_score": [StrOptions({"raise"}), Real],
        "batch_candidates": [Interval(Integral, 1, None, closed="left")],
        "gp_refit_every": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, *, rho_bounds=(0.0, 3.0), epsilon_bounds=(0.0, 3.0),
                 shared_epsilon=False, objective=DEFAULT_SEARCH_OBJECTIVE, n_iter=50,
                 n_initial_points=10,
                 initial_point_generator="grid", acq_func="EI", acq_optimizer="auto",
                 acq_func_kwargs=None, acq_optimizer_kwargs=None, cv=DEFAULT_SEARCH_HOLDOUT,
                 n_points=1, n_jobs=None,
                 checkpoint=None, refit=True, random_state=None, verbose=0, callbacks=None,
                 max_time=None, error_score=np.nan, batch_candidates=DEFAULT_BATCH_CANDIDATES,
                 gp_refit_every=1):
        self.estimator = estimator
        self.batch_candidates = batch_candidates
        self.gp_refit_every = gp_refit_every
        self.rho_bounds = rho_bounds
        self.epsilon_bounds = epsilon_bounds
        self.shared_epsilon = shared_epsilon
        self.objective = objective
        self.n_iter = n_iter
        self.n_initial_points = n_initial_points
        self.initial_point_generator = initial_point_generator
        self.acq_func = acq_func
        self.acq_optimizer = acq_optimizer
        self.acq_func_kwargs = acq_func_kwargs
        self.acq_optimizer_kwargs = acq_optimizer_kwargs
        self.cv = cv
        self.n_points = n_points
        self.n_jobs = n_jobs
        self.checkpoint = checkpoint
        self.refit = refit
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.max_time = max_time
        self.error_score = error_score

    # ---- extension point -------------------------------------------------------
    def _fit_candidates(self, params_list, X, y, groups, folds):
        """Train every candidate on the training part of every split.

        The one place where training is dispatched; override it to train many
        candidates at once. Scoring happens afterwards, in the calling process.

        Parameters
        ----------
        params_list : list of dict
            ``{"rho": float, "epsilon": ndarray of shape (n_groups,)}`` per candidate.
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        groups : ndarray of shape (n_samples,)
            Group label of each row.
        folds : list of (train, validation) index arrays

        Returns
        -------
        fits : list of list of FitResult
            ``fits[i][k]`` is candidate ``i`` trained on ``X[folds[k][0]]``: a
            ``FitResult(estimator, fit_time, error)``, ``estimator`` None and
            ``error`` a traceback string when the fit failed.
        """
        if self.batch_candidates > 1 and can_batch(self.estimator, params_list):
            return self._fit_candidates_batched(params_list, X, y, groups, folds)
        tasks = [(i, k) for i in range(len(params_list)) for k in range(len(folds))]
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(self.estimator, X, y, groups, folds[k][0], params_list[i],
                              self.error_score)
            for i, k in tasks
        )
        fits = [[None] * len(folds) for _ in params_list]
        for (i, k), result in zip(tasks, results):
            fits[i][k] = result
        return fits

    def _fit_candidates_batched(self, params_list, X, y, groups, folds):
        """:meth:`_fit_candidates` with chunks of candidates trained as one network."""
        workers = max(1, effective_n_jobs(self.n_jobs))
        size = min(self.batch_candidates, -(-len(params_list) // workers))
        chunks = [list(range(i, min(i + size, len(params_list))))
                  for i in range(0, len(params_list), size)]
        tasks = [(chunk, k) for chunk in chunks for k in range(len(folds))]
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_batch)(self.estimator, X, y, groups, folds[k][0],
                                [params_list[i] for i in chunk], self.error_score)
            for chunk, k in tasks
        )
        fits = [[None] * len(folds) for _ in params_list]
        for (chunk, k), chunk_results in zip(tasks, results):
            for i, result in zip(chunk, chunk_results):
                fits[i][k] = result
        return fits

    # ---- scoring -----------------------------------------------------------------
    def _score_fold(self, est, params, X_val, y_val, g_val, val_index, scorer):
        n_groups = est.groups_.shape[0]
        present = np.bincount(val_index, minlength=n_groups) > 0
        clean = np.asarray(est.group_losses(X_val, y_val, g_val, epsilon=0.0)["clean"],
                           dtype=float).copy()
        clean[~present] = np.nan
        pred = est.predict(X_val)
        metric = np.full(n_groups, np.nan)
        for g in np.flatnonzero(present):
            rows = val_index == g
            if self._is_classifier:
                metric[g] = float(np.mean(pred[rows] == y_val[rows]))
            else:
                diff = np.asarray(pred[rows], dtype=float) - np.asarray(y_val[rows], dtype=float)
                metric[g] = float(np.mean(diff ** 2))
        if self._objective_name == "robust":
            value = est.robust_risk(X_val, y_val, g_val, rho=params["rho"],
                                    epsilon=params["epsilon"])
        elif self._objective_name == "worst_group_loss":
            value = np.nanmax(clean)
        elif self._objective_name == "worst_group_error":
            value = 1.0 - np.nanmin(metric) if self._is_classifier else np.nanmax(metric)
        else:
            value = -float(_call_scorer(scorer, est, X_val, y_val, g_val))
        return float(value), clean, metric

    def _score_candidates(self, fits, params_list, X, y, groups, group_index, folds, scorer):
        """One record (the checkpoint's format) per candidate."""
        n_groups = int(group_index.max()) + 1
        records = []
        for params, candidate_fits in zip(params_list, fits):
            record = {"rho": float(params["rho"]),
                      "epsilon": [float(v) for v in params["epsilon"]],
                      "test_objective": [], "fit_time": [], "score_time": [],
                      "val_loss": [], "val_metric": [], "error": None}
            for (_, val), fit in zip(folds, candidate_fits):
                start = time.perf_counter()
                clean = metric = np.full(n_groups, np.nan)
                error = fit.error
                value = self.error_score
                if fit.estimator is not None:
                    try:
                        value, clean, metric = self._score_fold(
                            fit.estimator, params, X[val], y[val], groups[val],
                            group_index[val], scorer)
                    except Exception:
                        if self.error_score == "raise":
                            raise
                        error = traceback.format_exc()
                if error is not None:
                    value = float(self.error_score)
                    record["error"] = record["error"] or error
                    warnings.warn(
                        f"A candidate (rho={params['rho']:.4g}, epsilon="
                        f"{np.round(params['epsilon'], 4).tolist()}) failed on a split; its "
                        f"objective is set to error_score={self.error_score}. Details:\n{error}",
                        FitFailedWarning, stacklevel=3)
                record["test_objective"].append(float(value))
                record["fit_time"].append(float(fit.fit_time))
                record["score_time"].append(time.perf_counter() - start)
                record["val_loss"].append([float(v) for v in clean])
                record["val_metric"].append([float(v) for v in metric])
            records.append(record)
        return records

    # ---- helpers -----------------------------------------------------------------
    def _check_estimator(self):
        params = self.estimator.get_params(deep=False)
        if not ({"rho", "epsilon"} <= set(params) and hasattr(self.estimator, "robust_risk")
                and hasattr(self.estimator, "group_losses")):
            raise ValueError(
                "estimator must be a Per-GDRO estimator (PerGDROClassifier or "
                f"PerGDRORegressor), got {type(self.estimator).__name__}."
            )

    def _callbacks(self):
        if self.callbacks is None:
            return []
        callbacks = list(self.callbacks) if isinstance(self.callbacks, (list, tuple)) else [
            self.callbacks]
        for callback in callbacks:
            if not callable(callback):
                raise ValueError(f"callbacks must be callables, got {callback!r}.")
        return callbacks

    def _folds(self, X, y, groups, labels, group_index, classes_index, seed):
        cv = DEFAULT_SEARCH_HOLDOUT if self.cv is None else self.cv
        if isinstance(cv, Real) and not isinstance(cv, Integral):
            if not 0 < cv < 1:
                raise ValueError(f"A float cv is a validation fraction in (0, 1), got {cv}.")
            return make_group_folds(cv, group_index, labels, classes_index, seed)
        if isinstance(cv, Integral):
            return make_group_folds(int(cv), group_index, labels, classes_index, seed)
        splitter = check_cv(cv)
        with warnings.catch_warnings():
            # the search always hands groups over; splitters that ignore them may say so
            warnings.filterwarnings("ignore", message="The groups parameter is ignored",
                                    category=UserWarning)
            folds = [(np.asarray(tr), np.asarray(va)) for tr, va in splitter.split(X, y, groups)]
        if not folds:
            raise ValueError("cv produced no splits.")
        n_groups = labels.shape[0]
        for k, (train, val) in enumerate(folds):
            counts = np.bincount(group_index[train], minlength=n_groups)
            short = labels[counts < MIN_ROWS_PER_GROUP].tolist()
            if short:
                raise ValueError(
                    f"Training part {k} of cv has fewer than {MIN_ROWS_PER_GROUP} rows of "
                    f"group(s) {short}; every group must be in every training part."
                )
            if val.size == 0:
                raise ValueError(f"Validation part {k} of cv is empty.")
        return folds

    def _fingerprint(self, X, y, labels, group_index, space):
        digest = hashlib.sha256()
        digest.update(repr(X.shape).encode())
        digest.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
        if self._is_classifier:
            classes, y_index = np.unique(y, return_inverse=True)
            digest.update(repr(classes.tolist()).encode())
            digest.update(np.asarray(y_index, dtype=np.int64).tobytes())
        else:
            digest.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
        digest.update(repr(labels.tolist()).encode())
        digest.update(np.asarray(group_index, dtype=np.int64).tobytes())
        estimator_params = {
            k: _stable_repr(v) for k, v in self.estimator.get_params(deep=False).items()
            if k not in ("rho", "epsilon", "verbose")
        }
        cv = self.cv
        if not (cv is None or isinstance(cv, (Real, Integral)) or hasattr(cv, "split")):
            cv = "iterable"
        arguments = {
            "estimator": _stable_repr(type(self.estimator)),
            "estimator_params": estimator_params,
            "space": space.describe(),
            "objective": _stable_repr(self.objective),
            "n_initial_points": int(self.n_initial_points),
            "initial_point_generator": self.initial_point_generator,
            "acq_func": self.acq_func,
            "acq_optimizer": self.acq_optimizer,
            "acq_func_kwargs": _stable_repr(self.acq_func_kwargs),
            "acq_optimizer_kwargs": _stable_repr(self.acq_optimizer_kwargs),
            "cv": _stable_repr(cv),
            "random_state": _stable_repr(self.random_state),
            "error_score": _stable_repr(self.error_score),
        }
        digest.update(json.dumps(arguments, sort_keys=True).encode())
        return digest.hexdigest()

    def _load_state(self, fingerprint):
        if self.checkpoint is None:
            return None
        directory = os.path.dirname(os.path.abspath(self.checkpoint))
        if not os.path.isdir(directory):
            raise ValueError(f"The directory of checkpoint {os.fspath(self.checkpoint)!r} "
                             "does not exist.")
        if not os.path.exists(self.checkpoint):
            return None
        payload = _read_checkpoint(self.checkpoint)
        if payload.get("fingerprint") != fingerprint:
            raise ValueError(
                f"checkpoint {os.fspath(self.checkpoint)!r} belongs to a different search (its "
                "arguments or data differ from this one's); delete it or pass another path "
                "to start a new search."
            )
        return payload

    def _save_state(self, payload):
        if self.checkpoint is not None:
            _write_json_atomic(self.checkpoint, payload)

    def _build_results(self, records, labels, n_splits):
        n = len(records)
        labels = [str(label) for label in labels.tolist()]
        results = {}
        params = np.empty(n, dtype=object)
        for i, record in enumerate(records):
            params[i] = {"rho": record["rho"], "epsilon": np.array(record["epsilon"])}
        results["params"] = params
        results["param_rho"] = np.array([r["rho"] for r in records], dtype=float)
        eps = np.array([r["epsilon"] for r in records], dtype=float).reshape(n, -1)
        for g, label in enumerate(labels):
            results[f"param_epsilon_{label}"] = eps[:, g]
        objective = np.array([r["test_objective"] for r in records], dtype=float)
        objective = objective.reshape(n, n_splits)
        for k in range(n_splits):
            results[f"split{k}_test_objective"] = objective[:, k]
        mean = objective.mean(axis=1)
        results["mean_test_objective"] = mean
        results["std_test_objective"] = objective.std(axis=1)
        ranked = np.where(np.isfinite(mean), mean, np.inf)
        results["rank_test_objective"] = rankdata(ranked, method="min").astype(np.int32)
        results["mean_test_score"] = -mean
        for key in ("fit_time", "score_time"):
            values = np.array([r[key] for r in records], dtype=float).reshape(n, n_splits)
            results[f"mean_{key}"] = values.mean(axis=1)
            results[f"std_{key}"] = values.std(axis=1)
        loss = np.array([r["val_loss"] for r in records], dtype=float)
        metric = np.array([r["val_metric"] for r in records], dtype=float)
        metric_name = "accuracy" if self._is_classifier else "mse"
        mean_loss = _nan_stat(np.nanmean, loss, axis=1).reshape(n, -1)
        mean_metric = _nan_stat(np.nanmean, metric, axis=1).reshape(n, -1)
        for g, label in enumerate(labels):
            results[f"mean_val_loss_{label}"] = mean_loss[:, g]
            results[f"mean_val_{metric_name}_{label}"] = mean_metric[:, g]
        results["is_initial_point"] = np.array([r["origin"] is not None for r in records])
        return results

    def _validate_X(self, X):
        return validate_data(self, X, reset=False, dtype=np.float64)

    # ---- fit ---------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None):
        """Search the radii, then refit the best candidate on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        groups : array-like of shape (n_samples,), default=None
            Group label of each row; ``None`` means one group. Every inner fit gets
            its rows' labels whether metadata routing is on or off.

        Returns
        -------
        self : object
        """
        from skopt import Optimizer

        self._check_estimator()
        self._is_classifier = is_classifier(self.estimator)
        configure_progress_logging(self.verbose)
        callbacks = self._callbacks()
        self._objective_name, scorer = _resolve_objective(self.objective)
        X, y = validate_data(self, X, y, dtype=np.float64,
                             multi_output=not self._is_classifier,
                             y_numeric=not self._is_classifier)
        if X.shape[0] < MIN_ROWS_PER_GROUP + 1:
            raise ValueError(
                f"Found n_samples = {X.shape[0]}: too few rows to split into training and "
                "validation parts."
            )
        classes_index = None
        if self._is_classifier:
            check_classification_targets(y)
            classes, classes_index = np.unique(y, return_inverse=True)
            if classes.shape[0] < 2:
                raise ValueError(
                    f"The target has only one class ({classes.tolist()}); a classifier needs "
                    "at least two."
                )
        groups_given = groups is not None
        labels, group_index, _ = encode_groups(groups, X.shape[0])
        groups = labels[group_index]
        rho_bounds = _check_pair(self.rho_bounds, "rho_bounds")
        eps_bounds = _resolve_epsilon_bounds(self.epsilon_bounds, labels, groups_given)
        space = _SearchSpace(rho_bounds, eps_bounds, self.shared_epsilon, labels)
        if space.n_dims == 0:
            raise ValueError("Nothing to search: every bound pair has low == high. Fit the "
                             "estimator with those radii instead.")

        fingerprint = self._fingerprint(X, y, labels, group_index, space)
        state = self._load_state(fingerprint)
        if state is None:
            seed = int(check_random_state(self.random_state).randint(SEED_MAX))
            records = []
        else:
            seed = int(state["seed"])
            records = list(state["evaluations"])
        split_seed, design_seed, optimizer_seed = np.random.RandomState(seed).randint(
            SEED_MAX, size=3)
        folds = self._folds(X, y, groups, labels, group_index, classes_index,
                            int(split_seed))
        folds_hash = _hash_folds(folds)
        if state is not None and state.get("folds") != folds_hash:
            raise ValueError(
                f"checkpoint {os.fspath(self.checkpoint)!r} was written with other splits "
                "(a cv splitter without a fixed random_state?); it cannot be resumed."
            )
        payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                   "fingerprint": fingerprint, "seed": seed, "folds": folds_hash,
                   "dimensions": space.names,
                   "groups": [str(label) for label in labels.tolist()],
                   "evaluations": records}

        optimizer = Optimizer(
            space.dimensions(),
            base_estimator=make_surrogate(space.dimensions(), int(optimizer_seed)),
            n_initial_points=self.n_initial_points,
            initial_point_generator="random", acq_func=self.acq_func,
            acq_optimizer=self.acq_optimizer, acq_func_kwargs=self.acq_func_kwargs,
            acq_optimizer_kwargs=self.acq_optimizer_kwargs,
            random_state=int(optimizer_seed), model_queue_size=1,
        )
        gp = KernelRefitSchedule(optimizer, self.gp_refit_every)
        design = _initial_design(self.initial_point_generator, space, self.n_initial_points,
                                 int(design_seed))
        if records:
            optimizer.tell([r["x"] for r in records], [_penalised(r) for r in records])
            logger.info("Resumed %d evaluations from %s.", len(records), self.checkpoint)
        done = {r["origin"] for r in records if r["origin"] is not None}
        pending = [i for i in range(len(design)) if i not in done]

        start = time.monotonic()
        stop = False
        while len(records) < self.n_iter and not stop:
            round_size = self.n_points
            if pending and self.batch_candidates > 1:
                workers = max(1, effective_n_jobs(self.n_jobs))
                round_size = max(self.n_points, self.batch_candidates * workers)
            n_new = min(round_size, self.n_iter - len(records))
            if pending:
                origins, pending = pending[:n_new], pending[n_new:]
                xs = [design[i] for i in origins]
            else:
                asked = optimizer.ask() if n_new == 1 else optimizer.ask(
                    n_points=n_new, strategy="cl_min")
                xs = [asked] if n_new == 1 else asked
                xs = [[float(v) for v in x] for x in xs]
                origins = [None] * len(xs)
            params_list = [space.params(x) for x in xs]
            fits = self._fit_candidates(params_list, X, y, groups, folds)
            new = self._score_candidates(fits, params_list, X, y, groups, group_index, folds,
                                         scorer)
            for x, origin, record in zip(xs, origins, new):
                record["x"] = x
                record["origin"] = origin
            records.extend(new)
            self._save_state(payload)
            result = gp.tell(optimizer, xs, [_penalised(r) for r in new])
            self._log_progress(records, new)
            for callback in callbacks:
                if callback(result):
                    stop = True
            if self.max_time is not None and time.monotonic() - start >= self.max_time:
                logger.info("Stopping: max_time=%s s reached.", self.max_time)
                stop = True

        results = self._build_results(records, labels, len(folds))
        means = results["mean_test_objective"]
        if not np.any(np.isfinite(means)):
            first_error = next((r["error"] for r in records if r["error"]), None)
            raise ValueError(
                f"All {len(records)} evaluated candidates have a non-finite objective."
                + (f" First error:\n{first_error}" if first_error else "")
            )
        self.cv_results_ = results
        self.best_index_ = int(np.nanargmin(np.where(np.isfinite(means), means, np.nan)))
        self.best_objective_ = float(means[self.best_index_])
        self.best_score_ = -self.best_objective_
        best = self.cv_results_["params"][self.best_index_]
        self.best_params_ = {"rho": float(best["rho"]), "epsilon": best["epsilon"].copy()}
        self.optimizer_result_ = optimizer.get_result()
        self.dimension_names_ = list(space.names)
        self.groups_ = labels
        self.n_splits_ = len(folds)
        for stale in ("best_estimator_", "refit_time_"):
            self.__dict__.pop(stale, None)
        if self.refit:
            start = time.perf_counter()
            self.best_estimator_ = clone(self.estimator).set_params(
                rho=self.best_params_["rho"], epsilon=self.best_params_["epsilon"]).fit(
                X, y, groups=groups)
            self.refit_time_ = time.perf_counter() - start
        return self

    def _log_progress(self, records, new):
        if not self.verbose:
            return
        means = np.array([np.mean(r["test_objective"]) for r in records])
        finite = means[np.isfinite(means)]
        best = float(finite.min()) if finite.size else float("nan")
        for offset, record in enumerate(new):
            number = len(records) - len(new) + offset + 1
            logger.info(
                "evaluation %d/%d: rho=%.4g epsilon=%s objective=%.5g (best so far %.5g)",
                number, self.n_iter, record["rho"], np.round(record["epsilon"], 4).tolist(),
                float(np.mean(record["test_objective"])), best)

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
        tags.input_tags.sparse = False
        return tags


def _penalised(record):
    value = float(np.mean(record["test_objective"]))
    return value if np.isfinite(value) else NONFINITE_SCORE_PENALTY


__all__ = ["FitResult", "PerGDROSearchCV", "factorial_grid", "make_group_folds"]
