"""The scikit-learn surface shared by every estimator of the package.

Public methods validate and then delegate to private ones; the training itself
lives in :mod:`._training` and knows nothing about scikit-learn.
"""

import copy
import functools
import logging
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ._constants import GROUP_LABEL_SEPARATOR, MIN_ROWS_PER_GROUP, PREDICT_CHUNK_ROWS
from ._losses import LOSSES
from ._network import MLP
from ._training import Trainer, default_batch_size, make_optimizer

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
    """A float32 tensor on ``device`` (a fresh, writable copy of ``array``)."""
    return torch.from_numpy(np.array(array, dtype=np.float32)).to(device)


def configure_progress_logging(verbose):
    """Show the package's progress messages on stderr when ``verbose`` is set."""
    if verbose and not any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[pergdro_sklearn] %(message)s"))
        logger.addHandler(handler)
    if verbose:
        logger.setLevel(logging.INFO)


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
    def fit(self, X, y, groups=None):
        """Train the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features; standardise them, since the Wasserstein ball is measured in
            the features' own units.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        groups : array-like of shape (n_samples,), default=None
            Group label of each row (ints or strings). ``None`` means one group.
            Route it through Pipeline or GridSearchCV with
            ``set_fit_request(groups=True)``.
            Without groups, ``rho > 0``, a per-group ``epsilon`` or GroupDRO has no
            effect, and ``fit`` warns (:class:`GroupsMissingWarning`).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warn_if_groups_missing(self, groups, stacklevel=3)
        first_pass = not (self.warm_start and hasattr(self, "module_"))
        setup = self._prepare_training(X, y, groups, first_pass)
        trainer = Trainer(
            self.module_, self._loss_fn(), setup["weighting"], self._optimizer,
            setup["batch_size"], self.groups_.shape[0],
            attack=self._attack_config(setup["radii"]), shuffle_generator=self._shuffle_gen,
            attack_generator=self._attack_gen,
            epoch_callback=self._epoch_callback(setup["X"], setup["y"], setup["groups"]),
            verbose=self.verbose,
        )
        history = trainer.fit(setup["X"], setup["y"], setup["groups"], self.max_iter,
                              start_epoch=self.n_iter_)
        self._record_history(history, setup["weighting"].weights)
        return self

    def _prepare_training(self, X, y, groups, first_pass):
        """Validate the data and parameters; build the network and its optimiser.

        Returns the tensors, the started inter-group strategy, the radii and the batch
        size. Shared by :meth:`fit` and by batched training of many candidates.
        """
        X, y = self._validate_X_y(X, y, reset=first_pass)
        labels, group_index, counts = encode_groups(groups, X.shape[0])
        if not first_pass and not np.array_equal(labels, self.groups_):
            raise ValueError(
                f"warm_start needs the same groups as the first fit: {self.groups_.tolist()}, "
                f"got {labels.tolist()}."
            )
        self.groups_ = labels
        self.group_counts_ = counts
        self.epsilons_ = self._epsilons(labels)
        configure_progress_logging(self.verbose)
        device = resolve_device(self.device)
        if first_pass:
            self._init_gen, self._shuffle_gen, self._attack_gen = make_generators(
                self.random_state, device)
        X_t = as_float_tensor(X, device)
        y_t = self._target_tensor(y, device)
        g_t = torch.as_tensor(group_index, device=device)
        nominal = counts / counts.sum()
        if first_pass:
            sizes = self.hidden_layer_sizes
            sizes = (sizes,) if np.ndim(sizes) == 0 else tuple(int(s) for s in sizes)
            self.module_ = MLP(X.shape[1], self._n_outputs, sizes, self.activation,
                               generator=self._init_gen).to(device)
            self._optimizer = make_optimizer(self.solver, self.module_.parameters(),
                                             self.learning_rate_init, self.alpha)
            self.loss_curve_, self.group_loss_curve_, self.group_weight_history_ = [], [], []
            self.n_iter_ = 0
        else:
            self.module_.to(device)
        weighting = self._make_weighting(nominal, counts)
        weighting.start(nominal)
        if not first_pass:
            weighting.set_weights(self.group_weights_)
        return {
            "X": X_t, "y": y_t, "groups": g_t, "weighting": weighting,
            "radii": torch.as_tensor(self.epsilons_, dtype=torch.float32, device=device),
            "batch_size": default_batch_size(self.batch_size, X.shape[0]),
        }

    def _record_history(self, history, final_weights, candidate=None):
        """Store the per-epoch records (of one candidate when training a batch)."""
        pick = (lambda a: a) if candidate is None else (lambda a: a[candidate])
        self.loss_curve_ += [float(pick(r.loss)) for r in history]
        self.group_loss_curve_ += [pick(r.group_losses) for r in history]
        self.group_weight_history_ += [pick(r.group_weights) for r in history]
        self.group_weights_ = np.array(pick(final_weights), dtype=float)
        self.n_iter_ += len(history)

    # ---- prediction ------------------------------------------------------------
    def _validate_X_y(self, X, y, reset):
        return validate_data(self, X, y, reset=reset, dtype=np.float64,
                             multi_output=not self._is_classifier_flag,
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
                chunk = torch.from_numpy(np.array(X[start:start + PREDICT_CHUNK_ROWS],
                                                  dtype=np.float64)).to(device)
                out.append(module(chunk).cpu().numpy())
        if not out:
            return np.zeros((0, self._n_outputs))
        return np.concatenate(out)

    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
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
