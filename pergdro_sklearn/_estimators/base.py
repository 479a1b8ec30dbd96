"""The scikit-learn surface shared by the network estimators.

Public methods validate and then delegate to private ones; the training itself
lives in :mod:`.._train` and knows nothing about scikit-learn. Training many
candidates as one network is :mod:`.batched`; target handling is :mod:`.outputs`.
"""

import copy
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._constants import (
    EARLY_STOPPING_AUTO_MIN_ROWS,
    EARLY_STOPPING_LOSSES,
    LOSS_BLOWUP_FACTOR,
    PREDICT_CHUNK_ROWS,
    SEED_MAX,
)
from .._groups import groups_from_fit_kwargs, warn_if_groups_missing
from .._progress import progress_bar
from .._splits import stratified_holdout
from .._train.data import (
    TrainingData,
    check_group_weights,
    check_hidden_layer_sizes,
    copy_generator,
    features_to_device,
    group_row_scale,
    resolve_device,
)
from .._train.loop import (
    Trainer,
    ValidationMonitor,
    adversarial_candidates,
    default_batch_size,
    make_optimizer,
)
from .._train.losses import correct_class
from .._train.network import MLP, penalized_parameters
from .._warnings import BLEW_UP, NOT_SETTLED, convergence_is_deferred, warn_user
from .batched import BatchedFitMixin, shared_params
from .callbacks import check_callbacks, user_epoch_callback
from .groupplan import plan_groups
from .modules import check_built, check_factory, check_output
from .shift import ShiftAttackMixin


def make_generators(random_state, device):
    """Seeded generators: (init on CPU, shuffling on CPU, attack on ``device``)."""
    rng = check_random_state(random_state)
    seeds = rng.randint(SEED_MAX, size=3)
    init = torch.Generator().manual_seed(int(seeds[0]))
    shuffle = torch.Generator().manual_seed(int(seeds[1]))
    attack = torch.Generator(device=device).manual_seed(int(seeds[2]))
    return init, shuffle, attack


def _no_improvement_count(values, tol):
    """scikit-learn's counter: epochs in a row without an improvement of more than tol."""
    best, count = np.inf, 0
    for value in values:
        count = count + 1 if value > best - tol else 0
        best = min(best, value)
    return count


# Attributes that validating the data sets (copied onto every candidate of a round).
_VALIDATION_ATTRIBUTES = ("n_features_in_", "feature_names_in_", "classes_", "_n_outputs",
                          "_y_is_1d")


# --------------------------------------------------------------------------
# Base estimator
# --------------------------------------------------------------------------
class BaseGroupRobustMLP(ShiftAttackMixin, BatchedFitMixin, BaseEstimator):
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
        "device": [str, torch.device],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "module": [None, callable],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "early_stopping_loss": [StrOptions(set(EARLY_STOPPING_LOSSES))],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "balanced_batches": ["boolean"],
        "callbacks": [list, tuple, None],
        "unknown_groups": [StrOptions({"error", "nominal", "estimate"})],
        "membership_estimator": [None, HasMethods(["fit", "predict_proba"])],
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
    def fit(self, X, y, groups=None, sample_weight=None, **kwargs):
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
        groups : array-like of shape (n_samples,) or Memberships, default=None
            Group label of each row (ints or strings). ``None`` means one group.
            A :class:`~pergdro_sklearn.Memberships` gives overlapping or soft groups
            (see :ref:`memberships`); missing labels need ``unknown_groups``.
            Route it through Pipeline or GridSearchCV with
            ``set_fit_request(groups=True)``.
            Without groups, ``rho > 0``, a per-group ``epsilon`` or GroupDRO has no
            effect, and ``fit`` warns (:class:`GroupsMissingWarning`).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights. They weight rows within their group, and a
            group's nominal weight (the centre of the inter-group ball, and ERM's
            weight) is its share of the total weight. Rows of zero weight are
            dropped. Route it with ``set_fit_request(sample_weight=True)``.
        **kwargs : dict
            Only ``sensitive_features`` (array-like of shape (n_samples,)): an alias of
            ``groups`` (fairlearn's name) for direct calls; passing both is an error.
            Metadata routing knows the name ``groups`` only:
            ``set_fit_request(sensitive_features=True)`` raises a TypeError that lists
            ``groups``; ``set_fit_request(groups="sensitive_features")`` routes a
            parameter of that name.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        groups = groups_from_fit_kwargs(groups, kwargs, type(self).__name__)
        warn_if_groups_missing(self, groups)
        warm = bool(self.warm_start) and hasattr(self, "module_")
        saved = self.__dict__.copy()
        try:
            check_callbacks(self.callbacks)
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
        Memberships and rows of unknown group are read by :func:`.groupplan.plan_groups`;
        the holdout of early stopping holds labelled rows only.
        """
        X, y = self._validate_X_y(X, y, reset=not warm)
        n_samples = X.shape[0]
        plan = plan_groups(groups, X, n_samples, getattr(self, "unknown_groups", "error"),
                           getattr(self, "membership_estimator", None))
        labels, group_index = plan.labels, plan.index
        if plan.n_pinned and getattr(self, "track_risk_bound", False):
            raise ValueError("track_risk_bound=True needs every row's group: with "
                             "unknown_groups='nominal' the bound has no group for the unknown "
                             "rows; use unknown_groups='estimate' or track_risk_bound=False.")
        if warm and not np.array_equal(labels, self.groups_):
            raise ValueError(
                f"warm_start needs the same groups as the first fit: {self.groups_.tolist()}, "
                f"got {labels.tolist()}."
            )
        weights = None
        if sample_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                           ensure_non_negative=True)
            pair_weights = (weights if plan.rows is None
                            else weights[plan.rows] * plan.weights)
            check_group_weights(pair_weights, group_index, np.append(
                labels.astype(object), np.array(["(unknown)"] * plan.n_pinned, dtype=object)))
        device = resolve_device(self.device)
        y_t = self._target_tensor(y, device)
        fitted = {k: getattr(self, k) for k in _VALIDATION_ATTRIBUTES if hasattr(self, k)}
        fitted.update(n_unknown_groups_=plan.n_unknown, membership_estimator_=plan.estimator)

        rows = np.arange(n_samples) if weights is None else np.flatnonzero(weights > 0)
        validation = None
        fitted["n_validation_labelled_"] = None
        if self._uses_early_stopping(rows.shape[0]):
            pool = rows if plan.labelled is None else rows[plan.labelled[rows]]
            strata = (y_t.cpu().numpy()[pool] if self._is_classifier_flag
                      else np.zeros(pool.shape[0]))
            seed = check_random_state(self.random_state).randint(SEED_MAX, size=4)[3]
            holdout = stratified_holdout(plan.strata[pool], strata, self.validation_fraction,
                                         np.random.RandomState(seed))
            validation = self._data_part(X, y_t, plan, weights, pool[holdout], device,
                                         None, 1)
            fitted["n_validation_labelled_"] = int(holdout.sum())
            rows = rows[~holdout] if pool is rows else rows[~np.isin(rows, pool[holdout])]
        data = self._data_part(X, y_t, plan, weights, rows, device, validation,
                               self.batch_size)
        data.fitted = fitted
        return data

    def _uses_early_stopping(self, n_rows):
        """Whether this fit holds rows out for early stopping (``"auto"``: from
        ``EARLY_STOPPING_AUTO_MIN_ROWS`` rows on)."""
        if self.early_stopping == "auto":
            return n_rows >= EARLY_STOPPING_AUTO_MIN_ROWS
        return bool(self.early_stopping)

    def _data_part(self, X, y_t, plan, weights, rows, device, validation, batch_size):
        """:class:`TrainingData` for ``rows`` of the validated data (their group pairs)."""
        labels = plan.labels
        n_groups = labels.shape[0] + plan.n_pinned
        if plan.rows is not None:
            rows, part_index, memberships = plan.pairs_of(rows)
            whole = False
        else:
            whole = rows.shape[0] == X.shape[0]
            part_index = plan.index if whole else plan.index[rows]
            memberships = None
        counts = np.bincount(part_index, minlength=n_groups)
        part_weights = None if weights is None else weights[rows]
        if memberships is not None:
            part_weights = memberships if part_weights is None else part_weights * memberships
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
            device=device, validation=validation, n_pinned=plan.n_pinned,
        )

    def _new_module(self, n_features, n_outputs, generator, device):
        """The network of a first fit: the default MLP, or ``module(n_features, n_outputs)``."""
        sizes, activation, factory = self._architecture_params()
        if factory is None:
            return MLP(n_features, n_outputs, sizes, activation, generator=generator).to(device)
        check_factory(factory)
        seed = int(torch.randint(SEED_MAX, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = factory(n_features, n_outputs)
        check_built(module, n_features, n_outputs)
        module = module.to(device)
        training = module.training
        module.eval()
        with torch.no_grad():
            out = module(torch.zeros(2, n_features, device=device))
        module.train(training)
        check_output(out, n_features, n_outputs)
        return module

    def _start_candidate(self, data, warm):
        """The per-candidate part: radii, generators, network, optimiser, weighting."""
        epsilons = self._epsilons(data.labels)
        device = data.device
        if warm:
            gens = tuple(copy_generator(g) for g in
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
                            group_accuracy_curve_=list(
                                getattr(self, "group_accuracy_curve_", None) or []),
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
                            group_accuracy_curve_=[], validation_scores_=[],
                            validation_group_loss_curve_=[], n_iter_=0)
        weighting = self._make_weighting(data.nominal, data.counts)
        weighting.start(data.nominal, sampling=data.sampling, pinned=data.n_pinned)
        if warm:
            weighting.set_weights(np.append(self.group_weights_, getattr(
                self, "unknown_group_weight_", None) if data.n_pinned else []))
        # the pinned group of unknown rows (if any) is trained clean: radius 0
        radii = torch.as_tensor(np.append(epsilons, np.zeros(data.n_pinned)),
                                dtype=torch.float32, device=device)
        return SimpleNamespace(epsilons=epsilons, radii=radii, generators=gens, module=module,
                               optimizer=optimizer, weighting=weighting, previous=previous)

    def _make_trainer(self, data, start, module, optimizer, weighting, attack,
                      candidate_shape=(), epoch_callback=None, alpha=None):
        monitor = None
        if data.validation is not None:
            v = data.validation
            monitor = ValidationMonitor(v.X, v.y, v.group_index, v.row_scale,
                                        data.n_groups, self.tol, self.n_iter_no_change,
                                        candidate_shape, loss=self.early_stopping_loss,
                                        adversarial=adversarial_candidates(
                                            weighting, attack, candidate_shape))
        return Trainer(
            module, self._loss_fn(), weighting, optimizer, data.batch_size,
            data.n_groups, attack=attack, candidate_shape=candidate_shape,
            shuffle_generator=start.generators[1], attack_generator=start.generators[2],
            epoch_callback=epoch_callback, verbose=self.verbose, row_scale=data.row_scale,
            balanced=self.balanced_batches, alpha=self.alpha if alpha is None else alpha,
            penalized=penalized_parameters(module, len(candidate_shape)), monitor=monitor,
            row_metric=correct_class if self._is_classifier_flag else None,
        )

    def _progress(self, n_candidates):
        """``(callback, close)`` printing progress when ``verbose`` is set."""
        if not self.verbose:
            return None, lambda: None
        bar = progress_bar(self.max_iter, type(self).__name__) if self.verbose >= 2 else None

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
                    name = ("worst-group" if trainer.monitor.follows_worst.all()
                            else "average")
                    print(f"Validation {name} loss: "
                          f"{float(trainer.monitor.monitored(val)):.8f}")
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
        user = check_callbacks(self.callbacks)
        user_cb = user_epoch_callback(self, user, data.labels) if user else None
        callbacks = [cb for cb in (bound_cb, report, user_cb) if cb is not None]

        def epoch_callback(trainer, record):
            stop = False
            for cb in callbacks:
                stop = bool(cb(trainer, record)) or stop
            return stop

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
        n_known = data.labels.shape[0]

        def pick(a):
            """One candidate's values, the pinned group (if any) left out."""
            a = a if candidate is None else a[candidate]
            return a[..., :n_known] if data.n_pinned and np.ndim(a) and \
                np.shape(a)[-1] == data.n_groups else a

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
            copy_generator(g) for g in start.generators)
        self.loss_curve_ = previous["loss_curve_"] + losses
        self.group_loss_curve_ = previous["group_loss_curve_"] + [
            pick(r.group_losses) for r in history]
        self.group_weight_history_ = previous["group_weight_history_"] + [
            pick(r.group_weights) for r in history]
        self.group_weights_ = np.array(pick(history[kept].group_weights), dtype=float)
        last = history[kept].group_weights
        last = last if candidate is None else last[candidate]
        self.unknown_group_weight_ = float(last[-1]) if data.n_pinned else None
        self.group_accuracy_curve_ = (
            previous["group_accuracy_curve_"] + [pick(r.group_metrics) for r in history]
            if self._is_classifier_flag else None)
        self.n_iter_ = first_epoch + len(history)
        self._architecture = self._architecture_params()
        if monitor is not None:
            curves = [pick(r.validation_group_losses) for r in history]
            self.validation_group_loss_curve_ = previous["validation_group_loss_curve_"] + curves
            # what the monitor followed: over every group, the pinned one included
            scores = [monitor.monitored(r.validation_group_losses) for r in history]
            self.validation_scores_ = previous["validation_scores_"] + [
                float(s if candidate is None else s[candidate]) for s in scores]
            self.best_loss_ = float(pick(monitor.best_loss))
            self.best_epoch_ = int(pick(monitor.best_epoch))
        else:
            self.validation_group_loss_curve_ = None
            self.validation_scores_ = None
            self.best_loss_ = float(np.min(self.loss_curve_))
            self.best_epoch_ = self.n_iter_
        self._warn_if_unsettled(trainer, losses, kept, pick)

    def _warn_if_unsettled(self, trainer, losses, kept, pick):
        """Warn when the loss blew up, or ``max_iter`` ended a fit still improving.

        The kind of trouble is kept as ``_convergence_note`` (None when there is
        none). Inside :func:`~.._warnings.deferred_convergence` (a search's fits)
        nothing is issued: the search sums the notes up in one warning. With
        ``warm_start=True`` reaching ``max_iter`` is not warned about: the user's
        loop of ``fit`` calls decides when training ends (as with ``partial_fit``).
        """
        self._convergence_note, message = self._unsettled(trainer, losses, kept, pick)
        if message is not None and not convergence_is_deferred():
            warn_user(message, ConvergenceWarning)

    def _unsettled(self, trainer, losses, kept, pick):
        """``(note, message)`` of the finished training; ``(None, None)`` when fine."""
        name = type(self).__name__
        first = trainer.first_batch_loss
        if first is not None and losses:
            first = float(pick(first))
            if losses[kept] > LOSS_BLOWUP_FACTOR * max(first, np.finfo(np.float32).tiny):
                return BLEW_UP, (
                    f"{name}: the training loss blew up from {first:.4g} (first minibatch) "
                    f"to {losses[kept]:.4g} (epoch {self.n_iter_ - len(losses) + kept + 1}); "
                    "lower learning_rate_init or standardise the features.")
        if len(losses) < self.max_iter:
            return None, None  # early stopping ended the fit
        if trainer.monitor is not None:
            settled = False
            what = ("worst-group validation loss" if bool(pick(trainer.monitor.follows_worst))
                    else "average validation loss")
        else:
            settled = _no_improvement_count(losses, self.tol) > self.n_iter_no_change
            what = "training loss"
        if settled:
            return None, None
        message = (
            f"{name}: maximum iterations ({self.max_iter}) reached and the {what} has "
            f"not settled (it improved by more than tol={self.tol} within the last "
            f"n_iter_no_change={self.n_iter_no_change} epochs).")
        return NOT_SETTLED, (None if self.warm_start else message)

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
        if self.callbacks:  # callbacks see one estimator per fit: fit the candidates one by one
            return False
        return shared_params(params_list, batchable) is not None

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


__all__ = ["BaseGroupRobustMLP", "make_generators"]
