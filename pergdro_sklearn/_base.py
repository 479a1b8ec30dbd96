"""The scikit-learn surface shared by every estimator of the package.

Public methods validate and then delegate to private ones; the training itself
lives in :mod:`._training` and knows nothing about scikit-learn.
"""

import copy
import functools
import logging
import warnings
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._constants import (
    GROUP_LABEL_SEPARATOR,
    LOSS_BLOWUP_FACTOR,
    MIN_ROWS_PER_GROUP,
    PREDICT_CHUNK_ROWS,
)
from ._losses import LOSSES
from ._network import MLP, BatchedMLP, StackedModule, penalized_parameters
from ._setup import (
    TrainingData,
    check_group_weights,
    check_hidden_layer_sizes,
    features_to_device,
    group_row_scale,
    stratified_holdout,
)
from ._training import Trainer, ValidationMonitor, default_batch_size, make_optimizer

logger = logging.getLogger("pergdro_sklearn")

SEED_MAX = 2**31 - 1


# --------------------------------------------------------------------------
# Validation helpers (numpy only)
# --------------------------------------------------------------------------
def _missing_labels(column):
    """Boolean mask of the missing entries (NaN, None, NaT, pandas NA) of a 1-D array."""
    kind = column.dtype.kind
    if kind == "f":
        return ~np.isfinite(column)
    if kind in "mM":
        return np.isnat(column)
    if kind != "O":
        return np.zeros(column.shape[0], dtype=bool)
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is installed with the test extras
        pd = None
    if pd is not None:
        return np.asarray(pd.isna(column), dtype=bool)

    def missing(value):  # pragma: no cover - only without pandas
        try:
            return value is None or bool(value != value)
        except (TypeError, ValueError):  # pandas.NA cannot be compared
            return True

    return np.fromiter((missing(value) for value in column), dtype=bool, count=column.size)


def _group_labels(groups, n_samples):
    """One label per row from 1-D groups or from several columns of attributes.

    ``groups`` may be 1-D (a list, an array, a pandas Series) or 2-D (a pandas
    DataFrame, or an array with one column per attribute). Several columns are
    intersected: a row's label is its labels joined with ``GROUP_LABEL_SEPARATOR``,
    e.g. ``"African-American|Male"``. Missing labels (NaN, None, NaT, pandas NA) are
    errors. Returns ``(labels, columns)``: the 1-D labels and a description of the
    columns for messages (``None`` for 1-D groups).
    """
    names = None
    if hasattr(groups, "columns") and getattr(groups, "ndim", 1) == 2:  # a DataFrame
        names = [str(name) for name in groups.columns]
        columns = [groups.iloc[:, j].to_numpy() for j in range(groups.shape[1])]
        typed_columns = columns
    elif hasattr(groups, "to_numpy") and getattr(groups, "ndim", 1) == 1:  # a Series
        columns = typed_columns = [groups.to_numpy()]
    else:
        # Lists keep each label's type for the missing-label check (numpy would turn a
        # float NaN among strings into the string "nan").
        typed = np.asarray(groups, dtype=object) if isinstance(groups, (list, tuple)) else None
        array = np.asarray(groups)
        if array.ndim == 2 and (array.shape[1] == 1 or array.shape == (1, n_samples)):
            array = array.reshape(-1)
            typed = None if typed is None else typed.reshape(-1)
        if array.ndim not in (1, 2):
            raise ValueError(f"groups must be 1-D or 2-D, got shape {array.shape}.")
        if array.ndim == 1:
            columns = [array]
            typed_columns = [array if typed is None else typed]
        else:
            columns = list(array.T)
            typed_columns = columns if typed is None else list(typed.T)
    if columns[0].shape[0] != n_samples:
        raise ValueError(
            f"groups has {columns[0].shape[0]} entries but X has {n_samples} rows; pass one "
            "group label per row."
        )
    for column in typed_columns:
        _check_no_missing(column)
    if len(columns) == 1:
        return columns[0], None
    if names is None:
        names = [f"column {j}" for j in range(len(columns))]
    texts = [column.astype(str) for column in columns]
    for name, text in zip(names, texts):
        joined = text[np.char.find(text, GROUP_LABEL_SEPARATOR) >= 0]
        if joined.size:
            raise ValueError(
                f"groups {name} has labels containing {GROUP_LABEL_SEPARATOR!r} (e.g. "
                f"{joined[0]!r}), which joins the columns' labels; rename them."
            )
    labels = texts[0]
    for text in texts[1:]:
        labels = np.char.add(np.char.add(labels, GROUP_LABEL_SEPARATOR), text)
    return labels, GROUP_LABEL_SEPARATOR.join(names)


def _check_no_missing(column):
    """Missing group labels are errors: a row without a group cannot be weighted."""
    missing = _missing_labels(column)
    if np.any(missing):
        rows = np.flatnonzero(missing)
        what = "missing or infinite" if column.dtype.kind == "f" else "missing"
        raise ValueError(
            f"groups has {rows.size} {what} label(s) (NaN, None, NaT, NA"
            f"{', inf' if column.dtype.kind == 'f' else ''}), first at row(s) "
            f"{rows[:5].tolist()}; give every row a group, or drop those rows."
        )


def encode_groups(groups, n_samples, min_rows=MIN_ROWS_PER_GROUP):
    """Validate group labels; return ``(labels, group_index, counts)``.

    ``groups=None`` means one group. Labels may be ints or strings; ``labels`` are
    sorted and ``group_index`` maps each row to its position in ``labels``. 2-D groups
    (a DataFrame, or one column per attribute) are intersected into labels such as
    ``"African-American|Male"`` (see :func:`_group_labels`).
    """
    if groups is None:
        return np.array([0]), np.zeros(n_samples, dtype=np.int64), np.array([n_samples])
    groups, columns = _group_labels(groups, n_samples)
    try:
        labels, group_index, counts = np.unique(groups, return_inverse=True, return_counts=True)
    except TypeError as exc:
        raise ValueError(f"groups labels must be mutually comparable: {exc}") from None
    small = labels[counts < min_rows]
    if small.size:
        cells = "" if columns is None else f" (intersections of {columns})"
        raise ValueError(
            f"Group(s) {small.tolist()}{cells} have fewer than {min_rows} rows "
            f"(counts {counts[counts < min_rows].tolist()}); merge or drop them."
        )
    return labels, group_index.astype(np.int64).reshape(-1), counts


def index_groups(groups, labels, n_samples):
    """Map labels of new data onto the fitted ``labels``; unknown labels are errors."""
    if groups is None:
        if labels.shape[0] != 1:
            raise ValueError(
                f"groups is required: the model was fitted on {labels.shape[0]} groups."
            )
        return np.zeros(n_samples, dtype=np.int64)
    if np.ndim(groups) == 1 and np.shape(groups)[0] != n_samples:
        raise ValueError(f"groups has {np.shape(groups)[0]} entries but X has {n_samples} rows.")
    groups = _group_labels(groups, n_samples)[0]
    try:
        position = np.searchsorted(labels, groups)
    except TypeError:
        raise ValueError(
            f"groups labels ({groups.dtype}) cannot be compared with the fitted groups "
            f"{labels.tolist()}."
        ) from None
    position = np.clip(position, 0, labels.shape[0] - 1)
    unknown = labels[position] != groups
    if np.any(unknown):
        raise ValueError(
            f"groups contains labels not seen in fit: {np.unique(groups[unknown]).tolist()}; "
            f"fitted groups are {labels.tolist()}."
        )
    return position.astype(np.int64)


def resolve_epsilons(epsilon, labels):
    """Per-group radii in ``labels`` order from a float, an array, a dict or a Series.

    A dict names groups (the others get 0); a pandas Series is matched by its index,
    which must name every group once; a tuple key names an intersection of 2-D groups.
    """
    n_groups = labels.shape[0]
    if hasattr(epsilon, "index") and hasattr(epsilon, "to_numpy") and np.ndim(epsilon) == 1:
        index = list(epsilon.index)
        if len(set(index)) != len(index) or set(index) != set(labels.tolist()):
            raise ValueError(
                f"epsilon is a Series indexed by {index}; its index must name each of the "
                f"fitted groups {labels.tolist()} once (a Series is matched by label)."
            )
        epsilon = dict(zip(index, epsilon.to_numpy()))
    if isinstance(epsilon, dict):
        epsilon = {
            GROUP_LABEL_SEPARATOR.join(map(str, key)) if isinstance(key, tuple) else key: value
            for key, value in epsilon.items()
        }
        unknown = [k for k in epsilon if k not in set(labels.tolist())]
        if unknown:
            raise ValueError(
                f"epsilon names unknown groups {unknown}; fitted groups are {labels.tolist()}."
            )
        eps = np.array([float(epsilon.get(label, 0.0)) for label in labels.tolist()])
    elif np.ndim(epsilon) == 0:
        eps = np.full(n_groups, float(epsilon))
    elif np.ndim(epsilon) > 1:
        raise ValueError(
            f"epsilon must be a number, a 1-D array with one radius per group, or a dict; "
            f"got an array of shape {np.shape(epsilon)}."
        )
    else:
        eps = np.asarray(epsilon, dtype=float).reshape(-1)
        if eps.shape[0] != n_groups:
            raise ValueError(
                f"epsilon has {eps.shape[0]} values but there are {n_groups} groups "
                f"{labels.tolist()}; give one radius per group in that order."
            )
    if not np.all(np.isfinite(eps)) or np.any(eps < 0):
        raise ValueError(f"epsilon must be finite and non-negative, got {eps.tolist()}.")
    return eps


def check_radius(value, name):
    """A finite, non-negative scalar radius."""
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and non-negative, got {value}.")
    return value


def resolve_device(device):
    """``"auto"`` picks CUDA when torch sees a GPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch sees no CUDA device.")
    return torch.device(device)


def make_generators(random_state, device):
    """Seeded generators: (init on CPU, shuffling on CPU, attack on ``device``)."""
    rng = check_random_state(random_state)
    seeds = rng.randint(SEED_MAX, size=3)
    init = torch.Generator().manual_seed(int(seeds[0]))
    shuffle = torch.Generator().manual_seed(int(seeds[1]))
    attack = torch.Generator(device=device).manual_seed(int(seeds[2]))
    return init, shuffle, attack


def as_float_tensor(array, device):
    """A float32 tensor on ``device`` (a fresh, writable copy; sparse input made dense)."""
    if sp.issparse(array):
        array = array.toarray()
    return torch.from_numpy(np.array(array, dtype=np.float32)).to(device)


def configure_progress_logging(verbose):
    """Kept for compatibility; does nothing.

    The package attaches no logging handlers and never changes logger levels:
    ``verbose`` prints progress to stdout as scikit-learn does, and details go to
    the ``pergdro_sklearn`` logger for the application to configure.
    """
    return None


def _copy_generator(gen):
    """An independent generator in the same state (so a failed fit leaves the old one)."""
    new = torch.Generator(device=gen.device)
    new.set_state(gen.get_state())
    return new


def _no_improvement_count(values, tol):
    """scikit-learn's counter: epochs in a row without an improvement of more than tol."""
    best, count = np.inf, 0
    for value in values:
        count = count + 1 if value > best - tol else 0
        best = min(best, value)
    return count


def _progress_bar(total, desc):
    """A tqdm bar, or None (with a warning) when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("verbose >= 2 shows a progress bar when tqdm is installed "
                      "(pip install pergdro_sklearn[progress]); printing one line per epoch.",
                      UserWarning, stacklevel=3)
        return None
    return tqdm(total=total, desc=desc, unit="epoch", leave=False)


# Attributes that validating the data sets (copied onto every candidate of a round).
_VALIDATION_ATTRIBUTES = ("n_features_in_", "feature_names_in_", "classes_", "_n_outputs",
                          "_y_is_1d")


# Docstring pieces shared by the four estimators.
_TRAINING_OPTIONS_DOC = """    module : callable or None, default=None
        A factory ``module(n_features, n_outputs) -> torch.nn.Module`` mapping
        ``(n, n_features)`` rows to ``(n, n_outputs)`` outputs (logits or
        predictions), called under a seed drawn from ``random_state``; ``None`` builds
        the MLP of ``hidden_layer_sizes`` and ``activation`` (then ignored). Use a
        top-level function or class so that the estimator pickles. The certified
        bound (``risk_bound``, ``track_risk_bound``) needs the default MLP.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of each group's rows (stratified by group
        and class, every group on both sides), measure the worst-group validation
        loss after every epoch, stop when it has not improved by more than ``tol``
        for more than ``n_iter_no_change`` epochs, and keep the best epoch's model
        (``group_counts_`` then counts the rows trained on).
    validation_fraction : float, default=0.1
        Share of each group's rows held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of more than ``tol`` before early stopping
        stops; also how long the loss must have settled to avoid a
        ``ConvergenceWarning`` when ``max_iter`` ends the fit.
    tol : float, default=1e-4
        Least improvement of the monitored loss that counts.
    balanced_batches : bool, default=False
        Draw each minibatch group by group with equal probability (rows with
        replacement, ``n_samples`` draws per epoch), as the GroupDRO reference
        code's ``--reweight_groups``; the importance weights are adjusted so that
        the training objective is unchanged.
"""

_TRAINING_ATTRIBUTES_DOC = """    best_loss_ : float
        The best worst-group validation loss with ``early_stopping=True``, else the
        smallest ``loss_curve_`` value.
    best_epoch_ : int
        The epoch whose model is kept (the last one without early stopping).
    validation_scores_ : list of float or None
        Worst-group validation loss per epoch (lower is better, unlike
        ``MLPClassifier``'s accuracy); ``None`` without early stopping.
    validation_group_loss_curve_ : list of ndarray or None
        Validation loss of every group per epoch.
"""


class GroupsMissingWarning(UserWarning):
    """A group-robust estimator was fitted without ``groups`` while a setting needs them.

    Without groups the estimator trains on one group, so the inter-group radius
    ``rho``, per-group radii and GroupDRO's reweighting have no effect.
    """


GROUPS_MISSING_FIX = (
    "Likely cause: it was fitted inside a Pipeline, cross_validate or a search with "
    "metadata routing off (groups then go to the splitter only), or with routing on but "
    "without set_fit_request(groups=True). Fix: sklearn.set_config("
    "enable_metadata_routing=True) and estimator.set_fit_request(groups=True), then pass "
    "groups=... to the outer fit (or pass groups=... to fit directly)."
)


def settings_needing_groups(estimator):
    """The settings of ``estimator`` that have no effect without groups (descriptions)."""
    params = estimator.get_params(deep=False)
    if "rho" not in params:  # GroupDRO: reweighting groups is the whole method
        return [f"{type(estimator).__name__}'s group reweighting"]
    needs = [f"rho={params['rho']!r}"] if params["rho"] > 0 else []
    epsilon = params.get("epsilon")
    if isinstance(epsilon, dict) or np.ndim(epsilon) > 0:
        needs.append("a per-group epsilon")
    return needs


def warn_if_groups_missing(estimator, groups, stacklevel=2):
    """Warn (:class:`GroupsMissingWarning`) when ``groups`` is None but needed.

    Needed means ``rho > 0``, a per-group ``epsilon`` (array or dict), or any
    GroupDRO estimator. ``rho=0`` with a scalar ``epsilon`` trains without groups
    on purpose and stays silent.
    """
    if groups is not None:
        return
    needs = settings_needing_groups(estimator)
    if needs:
        warnings.warn(
            f"{type(estimator).__name__} was fitted without groups: it trains on one group, "
            f"so {' and '.join(needs)} has no effect. {GROUPS_MISSING_FIX}",
            GroupsMissingWarning, stacklevel=stacklevel + 1)


# --------------------------------------------------------------------------
# Base estimator
# --------------------------------------------------------------------------
class BaseGroupRobustMLP(BaseEstimator):
    """Shared parameters, validation, training call and prediction.

    Subclasses provide ``_make_weighting(nominal, counts)`` (the inter-group
    strategy), ``_epsilons(labels)`` (within-group radii) and the target handling
    of classifiers or regressors.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions({"identity", "logistic", "tanh", "relu"})],
        "solver": [StrOptions({"adam", "sgd"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "module": [None, callable],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "balanced_batches": ["boolean"],
    }

    # ---- hooks for subclasses ------------------------------------------------
    def _make_weighting(self, nominal, counts):  # pragma: no cover - abstract
        raise NotImplementedError

    def _epsilons(self, labels):
        return np.zeros(labels.shape[0])

    def _attack_config(self, radii):
        return None

    def _epoch_callback(self, X, y, group_index):
        return None

    # ---- fit -----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None, sample_weight=None):
        """Train the network.

        A fit that fails (bad input, a bad parameter, training that diverges)
        leaves the estimator as it was: unfitted, or with its previous model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Features; standardise them, since the Wasserstein ball is measured in
            the features' own units. Sparse input is used as CSR and each minibatch
            is made dense on the fly.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group label of each row (ints or strings). ``None`` means one group.
            Route it through Pipeline or GridSearchCV with
            ``set_fit_request(groups=True)``.
            Without groups, ``rho > 0``, a per-group ``epsilon`` or GroupDRO has no
            effect, and ``fit`` warns (:class:`GroupsMissingWarning`).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. They weight rows within their group, and a
            group's nominal weight (the centre of the inter-group ball, and ERM's
            weight) is its share of the total weight. Rows of zero weight are
            dropped. Route it with ``set_fit_request(sample_weight=True)``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warn_if_groups_missing(self, groups, stacklevel=3)
        warm = bool(self.warm_start) and hasattr(self, "module_")
        saved = self.__dict__.copy()
        try:
            if warm:
                self._check_warm_start()
            else:
                self._architecture_params()  # hidden_layer_sizes errors before any work
            data = self._prepare_data(X, y, groups, sample_weight, warm)
            self._train_one(data, self._start_candidate(data, warm))
        except BaseException:
            # never half-trained: back to the state before this call
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise
        return self

    def _architecture_params(self):
        """What fixes the network's shape: checked again by a warm start."""
        if self.module is None:
            return (check_hidden_layer_sizes(self.hidden_layer_sizes), self.activation, None)
        return (None, None, self.module)

    def _check_warm_start(self):
        before = getattr(self, "_architecture", None)
        now = self._architecture_params()
        if before is None:
            return
        names = ("hidden_layer_sizes", "activation", "module")
        for i in (2, 0, 1):  # a changed module first: it makes the other two moot
            name, old, new = names[i], before[i], now[i]
            changed = (old is not new) if name == "module" else (old != new)
            if changed:
                raise ValueError(
                    f"warm_start=True continues the fitted network, but {name} changed "
                    f"from {old!r} to {new!r}; set warm_start=False to train a new network."
                )

    def _prepare_data(self, X, y, groups, sample_weight, warm):
        """Validate and convert the data once; shared by every candidate of a round.

        Sets only what :func:`validate_data` and the target checks set
        (``n_features_in_``, ``classes_``...), which :meth:`fit` restores on failure.
        """
        X, y = self._validate_X_y(X, y, reset=not warm)
        n_samples = X.shape[0]
        labels, group_index, _ = encode_groups(groups, n_samples)
        if warm and not np.array_equal(labels, self.groups_):
            raise ValueError(
                f"warm_start needs the same groups as the first fit: {self.groups_.tolist()}, "
                f"got {labels.tolist()}."
            )
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                           ensure_non_negative=True)
            check_group_weights(weights, group_index, labels)
        device = resolve_device(self.device)
        y_t = self._target_tensor(y, device)
        fitted = {k: getattr(self, k) for k in _VALIDATION_ATTRIBUTES if hasattr(self, k)}

        rows = np.arange(n_samples) if weights is None else np.flatnonzero(weights > 0)
        validation = None
        if self.early_stopping:
            strata = (y_t.cpu().numpy()[rows] if self._is_classifier_flag
                      else np.zeros(rows.shape[0]))
            seed = check_random_state(self.random_state).randint(SEED_MAX, size=4)[3]
            holdout = stratified_holdout(group_index[rows], strata, self.validation_fraction,
                                         np.random.RandomState(seed))
            validation = self._data_part(X, y_t, group_index, weights, rows[holdout], labels,
                                         device, None, 1)
            rows = rows[~holdout]
        data = self._data_part(X, y_t, group_index, weights, rows, labels, device, validation,
                               self.batch_size)
        data.fitted = fitted
        return data

    def _data_part(self, X, y_t, group_index, weights, rows, labels, device, validation,
                   batch_size):
        """:class:`TrainingData` for ``rows`` of the validated data."""
        n_groups = labels.shape[0]
        whole = rows.shape[0] == X.shape[0]
        part_index = group_index if whole else group_index[rows]
        counts = np.bincount(part_index, minlength=n_groups)
        part_weights = None if weights is None else weights[rows]
        scale = group_row_scale(part_index, part_weights, n_groups)
        if part_weights is None:
            nominal = counts / counts.sum()
        else:
            totals = np.bincount(part_index, weights=part_weights, minlength=n_groups)
            nominal = totals / totals.sum()
        sampling = (np.full(n_groups, 1.0 / n_groups) if self.balanced_batches
                    else counts / counts.sum())
        rows_t = None if whole else torch.as_tensor(rows, device=y_t.device)
        return TrainingData(
            X=features_to_device(X if whole else X[rows], device),
            y=y_t if whole else y_t[rows_t],
            group_index=torch.as_tensor(part_index, device=device),
            labels=labels, counts=counts, nominal=nominal, sampling=sampling,
            row_scale=None if scale is None else torch.as_tensor(
                scale, dtype=torch.float32, device=device),
            batch_size=default_batch_size(batch_size, rows.shape[0]),
            device=device, validation=validation,
        )

    def _new_module(self, n_features, n_outputs, generator, device):
        """The network of a first fit: the default MLP, or ``module(n_features, n_outputs)``."""
        sizes, activation, factory = self._architecture_params()
        if factory is None:
            return MLP(n_features, n_outputs, sizes, activation, generator=generator).to(device)
        seed = int(torch.randint(SEED_MAX, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = factory(n_features, n_outputs)
        if not isinstance(module, torch.nn.Module):
            raise TypeError(f"module(n_features, n_outputs) must return a torch.nn.Module, "
                            f"got {type(module).__name__}.")
        module = module.to(device)
        training = module.training
        module.eval()
        with torch.no_grad():
            out = module(torch.zeros(2, n_features, device=device))
        module.train(training)
        if tuple(out.shape) != (2, n_outputs):
            raise ValueError(
                f"module({n_features}, {n_outputs}) maps 2 rows to outputs of shape "
                f"{tuple(out.shape)}; expected (2, {n_outputs})."
            )
        return module

    def _start_candidate(self, data, warm):
        """The per-candidate part: radii, generators, network, optimiser, weighting."""
        epsilons = self._epsilons(data.labels)
        device = data.device
        if warm:
            gens = tuple(_copy_generator(g) for g in
                         (self._init_gen, self._shuffle_gen, self._attack_gen))
            module = copy.deepcopy(self.module_).to(device)
            optimizer = make_optimizer(self.solver, module.parameters(),
                                       self.learning_rate_init, 0.0)
            if type(optimizer) is type(self._optimizer):  # same solver: keep its moments
                optimizer.load_state_dict(copy.deepcopy(self._optimizer.state_dict()))
                for group in optimizer.param_groups:
                    group["lr"] = self.learning_rate_init
            previous = dict(loss_curve_=list(self.loss_curve_),
                            group_loss_curve_=list(self.group_loss_curve_),
                            group_weight_history_=list(self.group_weight_history_),
                            validation_scores_=list(getattr(self, "validation_scores_", None)
                                                    or []),
                            validation_group_loss_curve_=list(
                                getattr(self, "validation_group_loss_curve_", None) or []),
                            n_iter_=self.n_iter_)
        else:
            gens = make_generators(self.random_state, device)
            module = self._new_module(data.n_features, data.fitted["_n_outputs"], gens[0],
                                      device)
            optimizer = make_optimizer(self.solver, module.parameters(),
                                       self.learning_rate_init, 0.0)
            previous = dict(loss_curve_=[], group_loss_curve_=[], group_weight_history_=[],
                            validation_scores_=[], validation_group_loss_curve_=[], n_iter_=0)
        weighting = self._make_weighting(data.nominal, data.counts)
        weighting.start(data.nominal, sampling=data.sampling)
        if warm:
            weighting.set_weights(self.group_weights_)
        radii = torch.as_tensor(epsilons, dtype=torch.float32, device=device)
        return SimpleNamespace(epsilons=epsilons, radii=radii, generators=gens, module=module,
                               optimizer=optimizer, weighting=weighting, previous=previous)

    def _make_trainer(self, data, start, module, optimizer, weighting, attack,
                      candidate_shape=(), epoch_callback=None):
        monitor = None
        if self.early_stopping:
            v = data.validation
            monitor = ValidationMonitor(v.X, v.y, v.group_index, v.row_scale,
                                        data.labels.shape[0], self.tol, self.n_iter_no_change,
                                        candidate_shape)
        return Trainer(
            module, self._loss_fn(), weighting, optimizer, data.batch_size,
            data.labels.shape[0], attack=attack, candidate_shape=candidate_shape,
            shuffle_generator=start.generators[1], attack_generator=start.generators[2],
            epoch_callback=epoch_callback, verbose=self.verbose, row_scale=data.row_scale,
            balanced=self.balanced_batches, alpha=self.alpha,
            penalized=penalized_parameters(module, len(candidate_shape)), monitor=monitor,
        )

    def _progress(self, n_candidates):
        """``(callback, close)`` printing progress when ``verbose`` is set."""
        if not self.verbose:
            return None, lambda: None
        bar = _progress_bar(self.max_iter, type(self).__name__) if self.verbose >= 2 else None

        def report(trainer, record):
            loss = np.asarray(record.loss, dtype=float)
            val = record.validation_group_losses
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.mean():.5f}")
                return
            if n_candidates is None:
                print(f"Iteration {record.epoch}, loss = {float(loss):.8f}")
                if val is not None:
                    print(f"Validation worst-group loss: {float(val.max()):.8f}")
            else:
                print(f"Iteration {record.epoch}, loss = {loss.min():.8f} to "
                      f"{loss.max():.8f} ({n_candidates} candidates)")

        return report, (bar.close if bar is not None else (lambda: None))

    def _train_one(self, data, start):
        """Train one candidate from its start and set its fitted attributes."""
        # the risk-bound callback reads these while training; fit restores on failure
        self.module_, self.groups_, self.epsilons_ = start.module, data.labels, start.epsilons
        X_cb = data.dense_X() if getattr(self, "track_risk_bound", False) else data.X
        bound_cb = self._epoch_callback(X_cb, data.y, data.group_index)
        report, close = self._progress(None)
        callbacks = [cb for cb in (bound_cb, report) if cb is not None]

        def epoch_callback(trainer, record):
            for cb in callbacks:
                cb(trainer, record)

        trainer = self._make_trainer(data, start, start.module, start.optimizer,
                                     start.weighting, self._attack_config(start.radii),
                                     epoch_callback=epoch_callback if callbacks else None)
        try:
            history = trainer.fit(data.X, data.y, data.group_index, self.max_iter,
                                  start_epoch=start.previous["n_iter_"])
        finally:
            close()
        if trainer.monitor is not None:
            trainer.monitor.restore_best(start.module)
        self._commit(data, start, trainer, history, start.module, start.optimizer)

    def _commit(self, data, start, trainer, history, module, optimizer, candidate=None):
        """Set the fitted attributes from a finished training (one candidate of it)."""
        pick = (lambda a: a) if candidate is None else (lambda a: a[candidate])
        monitor = trainer.monitor
        first_epoch = start.previous["n_iter_"]
        if monitor is not None and int(pick(monitor.stop_epoch)) > 0:
            history = history[:int(pick(monitor.stop_epoch)) - first_epoch]
        kept = len(history) - 1
        if monitor is not None:
            kept = int(pick(monitor.best_epoch)) - first_epoch - 1
        losses = [float(pick(r.loss)) for r in history]
        previous = start.previous
        self.__dict__.update(data.fitted)
        self.groups_ = data.labels
        self.group_counts_ = data.counts
        self.epsilons_ = start.epsilons
        self.module_ = module
        self._optimizer = optimizer
        self._init_gen, self._shuffle_gen, self._attack_gen = (
            _copy_generator(g) for g in start.generators)
        self.loss_curve_ = previous["loss_curve_"] + losses
        self.group_loss_curve_ = previous["group_loss_curve_"] + [
            pick(r.group_losses) for r in history]
        self.group_weight_history_ = previous["group_weight_history_"] + [
            pick(r.group_weights) for r in history]
        self.group_weights_ = np.array(pick(history[kept].group_weights), dtype=float)
        self.n_iter_ = first_epoch + len(history)
        self._architecture = self._architecture_params()
        if monitor is not None:
            curves = [pick(r.validation_group_losses) for r in history]
            self.validation_group_loss_curve_ = previous["validation_group_loss_curve_"] + curves
            self.validation_scores_ = previous["validation_scores_"] + [
                float(np.max(c)) for c in curves]
            self.best_loss_ = float(pick(monitor.best_loss))
            self.best_epoch_ = int(pick(monitor.best_epoch))
        else:
            self.validation_group_loss_curve_ = None
            self.validation_scores_ = None
            self.best_loss_ = float(np.min(self.loss_curve_))
            self.best_epoch_ = self.n_iter_
        self._warn_if_unsettled(trainer, losses, kept, pick)

    def _warn_if_unsettled(self, trainer, losses, kept, pick):
        name = type(self).__name__
        first = trainer.first_batch_loss
        if first is not None and losses:
            first = float(pick(first))
            if losses[kept] > LOSS_BLOWUP_FACTOR * max(first, np.finfo(np.float32).tiny):
                warnings.warn(
                    f"{name}: the training loss blew up from {first:.4g} (first minibatch) "
                    f"to {losses[kept]:.4g} (epoch {self.n_iter_ - len(losses) + kept + 1}); "
                    "lower learning_rate_init or standardise the features.",
                    ConvergenceWarning, stacklevel=4)
                return
        if len(losses) < self.max_iter:
            return  # early stopping ended the fit
        if trainer.monitor is not None:
            settled = False
            what = "worst-group validation loss"
        else:
            settled = _no_improvement_count(losses, self.tol) > self.n_iter_no_change
            what = "training loss"
        if not settled:
            warnings.warn(
                f"{name}: maximum iterations ({self.max_iter}) reached and the {what} has "
                f"not settled (it improved by more than tol={self.tol} within the last "
                f"n_iter_no_change={self.n_iter_no_change} epochs).",
                ConvergenceWarning, stacklevel=4)

    # ---- many candidates at once ---------------------------------------------------
    # parameters that may differ between candidates trained as one network
    _batchable_params = frozenset()

    def _can_fit_batched(self, params_list):
        """Whether :meth:`_fit_batched` can train ``params_list`` as one network."""
        batchable = self._batchable_params
        if len(params_list) < 2 or not batchable:
            return False
        if type(self).fit is not BaseGroupRobustMLP.fit:
            return False  # a subclass that customises fit must be fitted as written
        if self.warm_start or getattr(self, "track_risk_bound", False):
            return False
        return all(set(params) <= batchable for params in params_list)

    def _stack(self, modules, n_features):
        """The candidates' networks as one batched module, or None to fit one by one."""
        if self.module is None:
            return BatchedMLP(modules)
        try:
            stacked = StackedModule(modules)
            stacked.check(n_features)
        except Exception as exc:  # vmap cannot run this module
            warnings.warn(
                f"module cannot be batched with torch.func.vmap ({type(exc).__name__}: "
                f"{exc}); training the {len(modules)} candidates one after another.",
                UserWarning, stacklevel=3)
            return None
        return stacked

    def _fit_batched(self, params_list, X, y, groups=None, sample_weight=None):
        """Fit ``clone(self).set_params(**p)`` for every ``p`` as one batched network.

        The data are validated and converted once and shared by all candidates;
        each candidate starts from the weights, and sees the minibatches in the
        order, that its own fit would use. Returns the fitted estimators.
        """
        run = self._start_batched(params_list, X, y, groups, sample_weight)
        if isinstance(run, list):  # the module cannot be batched: fitted one by one
            return run
        run.train_to(self.max_iter)
        return run.estimators(final=True)

    def _start_batched(self, params_list, X, y, groups=None, sample_weight=None):
        """A :class:`~._batched.BatchedRun` of the candidates ``params_list``, untrained.

        The run trains all candidates as one network for as many epochs as asked,
        can drop candidates between calls (successive halving) and gives the kept
        ones back as fitted estimators. When the module cannot be batched, the
        candidates are fitted one after another and the list of them is returned.
        """
        from ._batched import BatchedRun

        lead = clone(self)
        data = lead._prepare_data(X, y, groups, sample_weight, warm=False)
        candidates = [clone(self).set_params(**params) for params in params_list]
        starts = [est._start_candidate(data, warm=False) for est in candidates]
        module = lead._stack([start.module for start in starts], data.n_features)
        if module is None:
            for est, start in zip(candidates, starts):
                est._train_one(data, start)
            return candidates
        n_candidates = len(candidates)
        optimizer = make_optimizer(lead.solver, module.parameters(), lead.learning_rate_init,
                                   0.0)
        weighting = starts[0].weighting
        weighting.rho = np.array([est.rho for est in candidates], dtype=float)
        weighting.start(data.nominal, (n_candidates,), sampling=data.sampling)
        radii = torch.stack([start.radii for start in starts])
        report, close = lead._progress(n_candidates)
        trainer = lead._make_trainer(data, starts[0], module, optimizer, weighting,
                                     lead._attack_config(radii), (n_candidates,), report)
        for start in starts:
            start.generators = starts[0].generators
        return BatchedRun(lead, data, candidates, starts, trainer, close)

    # ---- prediction ------------------------------------------------------------
    def _validate_X_y(self, X, y, reset):
        return validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32],
                             accept_sparse="csr", multi_output=not self._is_classifier_flag,
                             y_numeric=not self._is_classifier_flag)

    def _forward_numpy(self, X):
        """Network outputs for validated ``X`` in chunks, as float64 numpy.

        Prediction runs in float64 so that a row's output does not depend on which
        other rows share its batch (float32 BLAS kernels block differently by size).
        """
        module = copy.deepcopy(self.module_).double()
        device = next(module.parameters()).device
        out = []
        with torch.no_grad():
            for start in range(0, X.shape[0], PREDICT_CHUNK_ROWS):
                rows = X[start:start + PREDICT_CHUNK_ROWS]
                rows = rows.toarray() if sp.issparse(rows) else rows
                chunk = torch.from_numpy(np.array(rows, dtype=np.float64)).to(device)
                out.append(module(chunk).cpu().numpy())
        if not out:
            return np.zeros((0, self._n_outputs))
        return np.concatenate(out)

    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse="csr")
        return self._forward_numpy(X)

    def __getstate__(self):
        state = self.__dict__.copy()
        for key in ("_init_gen", "_shuffle_gen", "_attack_gen"):
            gen = state.pop(key, None)
            if gen is not None:
                state[key + "_state"] = (str(gen.device), gen.get_state())
        if "module_" in state:
            module = state["module_"]
            if next(module.parameters()).device.type != "cpu":
                state["module_"] = copy.deepcopy(module).cpu()
        return state

    def __setstate__(self, state):
        for key in ("_init_gen", "_shuffle_gen", "_attack_gen"):
            saved = state.pop(key + "_state", None)
            if saved is not None:
                device, gen_state = saved
                if device.startswith("cuda") and not torch.cuda.is_available():
                    device = "cpu"
                gen = torch.Generator(device=device)
                try:
                    gen.set_state(gen_state)
                except RuntimeError:
                    pass
                state[key] = gen
        self.__dict__.update(state)

    # ---- tags ------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = True
        return tags


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
        position = np.clip(np.searchsorted(self.classes_, y), 0, self.classes_.shape[0] - 1)
        if np.any(self.classes_[position] != y):
            raise ValueError(
                f"y contains classes not seen in fit: {np.unique(y[self.classes_[position] != y])}."
            )
        return torch.as_tensor(position, device=device)

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
    "_TRAINING_ATTRIBUTES_DOC",
    "_TRAINING_OPTIONS_DOC",
    "BaseGroupRobustMLP",
    "ClassifierOutputs",
    "RegressorOutputs",
    "as_float_tensor",
    "check_radius",
    "configure_progress_logging",
    "encode_groups",
    "index_groups",
    "make_generators",
    "resolve_device",
    "resolve_epsilons",
]
