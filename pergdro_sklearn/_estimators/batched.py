"""Train many Per-GDRO candidates at once as one batched network.

At the paper's sizes per-call overhead, not arithmetic, dominates a fit, so
``C`` candidates that differ only in their radii train together: the data are
validated and converted once, the candidates' weights are stacked into one
network (:class:`~_train.network.BatchedMLP`, or any module through
:class:`~_train.network.StackedModule`), the shared loop of :mod:`_train.loop` runs once
with a leading candidate dimension, and each candidate is unstacked into an
ordinary fitted estimator afterwards. The work is done by the estimators'
``_fit_batched`` method; these functions are the entry points the search and the
benchmarks use.

A :class:`BatchedRun` is such a training held open between calls: it trains for
as many epochs as asked, can drop candidates (their rows of every stacked
parameter, of the optimiser's state and of the inter-group weights) and gives
the kept ones back as fitted estimators at any epoch. The search's successive
halving (:mod:`_search.halving`) is built on it.

Candidates share the estimator's ``random_state``, so they start from the same
weights and see the minibatches in the same order as sequential fits would.
With ``attack="pgd"`` (deterministic) a batched fit reproduces the sequential
one up to float rounding; FGSM's random starts are drawn jointly, so there the
two agree in distribution, not bit for bit.
"""

import numpy as np
import torch
from sklearn.base import clone

from .._train.loop import make_optimizer
from .._train.network import BatchedMLP, StackedModule
from .._warnings import warn_user


def can_batch(estimator, params_list):
    """Whether ``params_list`` only varies what batched training supports."""
    can_fit = getattr(estimator, "_can_fit_batched", None)
    return bool(can_fit is not None and can_fit(params_list))


def fit_candidates(estimator, params_list, X, y, groups=None, sample_weight=None):
    """Fit ``clone(estimator).set_params(**p)`` for every ``p`` in one batched run.

    Parameters
    ----------
    estimator : PerGDROClassifier or PerGDRORegressor
        The template (unfitted or fitted; it is cloned, never modified).
    params_list : list of dict
        Each candidate's ``rho``, ``epsilon`` and/or ``alpha``; other parameters only
        when every candidate sets them to the same value (they apply to the whole
        batch).
    X, y, groups, sample_weight : array-like
        Training data shared by all candidates (one copy for all of them).

    Returns
    -------
    estimators : list
        Fitted estimators, one per candidate, as sequential fits would give.
    """
    return estimator._fit_batched(params_list, X, y, groups=groups, sample_weight=sample_weight)


def shared_params(params_list, batchable):
    """The parameters outside ``batchable`` that ``params_list`` sets, when every
    candidate sets them to the same values (then the candidates can still train as
    one network); None when they differ.

    Examples
    --------
    >>> shared_params([{"rho": 0.0, "alpha": 0.1}, {"rho": 1.0, "alpha": 0.1}], {"rho"})
    {'alpha': 0.1}
    >>> shared_params([{"rho": 0.0, "alpha": 0.1}, {"rho": 1.0, "alpha": 0.2}], {"rho"}) is None
    True
    """
    first = {k: v for k, v in params_list[0].items() if k not in batchable}
    for params in params_list[1:]:
        other = {k: v for k, v in params.items() if k not in batchable}
        if other.keys() != first.keys() or any(
                type(other[k]) is not type(first[k]) or repr(other[k]) != repr(first[k])
                for k in first):
            return None
    return first


class BatchedFitMixin:
    """Fitting many candidates of one estimator as a single batched network.

    Mixed into :class:`~.base.BaseGroupRobustMLP`, whose ``_prepare_data``,
    ``_start_candidate``, ``_make_trainer`` and ``_progress`` it uses; which
    parameters may differ between candidates is the estimator's
    ``_batchable_params``, and ``_can_fit_batched`` says whether a list of them can
    be batched.
    """

    def _stack(self, modules, n_features):
        """The candidates' networks as one batched module, or None to fit one by one."""
        if self.module is None:
            return BatchedMLP(modules)
        try:
            stacked = StackedModule(modules)
            stacked.check(n_features)
        except Exception as exc:  # vmap cannot run this module
            warn_user(
                f"module cannot be batched with torch.func.vmap ({type(exc).__name__}: "
                f"{exc}); training the {len(modules)} candidates one after another.",
                UserWarning)
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
        """A :class:`~_estimators.batched.BatchedRun` of the candidates ``params_list``, untrained.

        The run trains all candidates as one network for as many epochs as asked,
        can drop candidates between calls (successive halving) and gives the kept
        ones back as fitted estimators. When the module cannot be batched, or
        ``callbacks`` are set (each callback sees one estimator, which it may stop),
        the candidates are fitted one after another and the list of them is returned.
        """
        # what every candidate sets beside the radii (alpha, say) trains the shared network
        lead = clone(self).set_params(**(shared_params(params_list, self._batchable_params)
                                         or {}))
        data = lead._prepare_data(X, y, groups, sample_weight, warm=False)
        candidates = [clone(self).set_params(**params) for params in params_list]
        starts = [est._start_candidate(data, warm=False) for est in candidates]
        # with callbacks every candidate is fitted alone, so that each callback sees
        # one estimator and can stop it
        module = (None if self.callbacks else
                  lead._stack([start.module for start in starts], data.n_features))
        if module is None:
            for est, start in zip(candidates, starts):
                est._train_one(data, start)
            return candidates
        n_candidates = len(candidates)
        optimizer = make_optimizer(lead.solver, module.parameters(), lead.learning_rate_init,
                                   0.0)
        weighting = starts[0].weighting
        weighting.rho = np.array([est.rho for est in candidates], dtype=float)
        weighting.start(data.nominal, (n_candidates,), sampling=data.sampling,
                        pinned=data.n_pinned)
        radii = torch.stack([start.radii for start in starts])
        report, close = lead._progress(n_candidates)
        alphas = [float(est.alpha) for est in candidates]
        alpha = (alphas[0] if len(set(alphas)) == 1  # the sequential fit's arithmetic
                 else torch.tensor(alphas, dtype=torch.float32, device=data.device))
        trainer = lead._make_trainer(data, starts[0], module, optimizer, weighting,
                                     lead._attack_config(radii), (n_candidates,), report,
                                     alpha=alpha)
        for start in starts:
            start.generators = starts[0].generators
        return BatchedRun(lead, data, candidates, starts, trainer, close)


class BatchedRun:
    """Candidates training as one batched network, continued call by call.

    Made by an estimator's ``_start_batched``; holds the shared
    :class:`~_train.data.TrainingData`, the candidates (unfitted clones with their
    radii), their starts and the :class:`~_train.loop.Trainer` of the stacked
    network.

    Attributes
    ----------
    active : ndarray of int
        Positions (in the original ``params_list``) of the candidates still trained.
    epochs : int
        Epochs trained so far.
    finished : bool
        ``max_iter`` reached, or early stopping ended every kept candidate.
    """

    def __init__(self, lead, data, candidates, starts, trainer, close):
        self.lead = lead
        self.data = data
        self.candidates = candidates
        self.starts = starts
        self.trainer = trainer
        self._close = close
        self.history = []
        self.epochs = 0
        self.active = np.arange(len(candidates))
        self.finished = False

    def train_to(self, epoch):
        """Train the kept candidates up to epoch ``epoch`` (at most ``max_iter``)."""
        n_epochs = min(int(epoch), self.lead.max_iter) - self.epochs
        if self.finished or n_epochs <= 0:
            return self
        data = self.data
        try:
            history = self.trainer.fit(data.X, data.y, data.group_index, n_epochs,
                                       start_epoch=self.epochs)
        except BaseException:
            self._close()
            raise
        self.history.extend(history)
        self.epochs += len(history)
        monitor = self.trainer.monitor
        stopped = monitor is not None and bool(np.all(monitor.stop_epoch > 0))
        self.finished = stopped or self.epochs >= self.lead.max_iter
        return self

    def keep(self, positions):
        """Keep only the active candidates at ``positions`` (indices into ``active``)."""
        positions = np.asarray(positions, dtype=np.int64)
        if positions.shape[0] == self.active.shape[0]:
            return self
        if positions.shape[0] == 0:
            raise ValueError("A batched run must keep at least one candidate.")
        self.trainer.keep(positions)
        self.history = [record.keep(positions) for record in self.history]
        self.active = self.active[positions]
        return self

    def estimators(self, final=False):
        """The kept candidates as fitted estimators, as trained so far.

        With early stopping each gets the parameters of its best epoch. Each call
        makes new estimators (the run goes on training its own network); with
        ``final=True`` the run is closed (its progress bar, if any).
        """
        module = self.trainer.module
        monitor = self.trainer.monitor
        live = None
        if monitor is not None and monitor._best_state is not None:
            live = {k: v.detach().clone() for k, v in module.state_dict().items()}
            monitor.restore_best(module)
        try:
            fitted = []
            for c, i in enumerate(self.active):
                est = self.candidates[i] if final else clone(self.candidates[i])
                member = module.unstack(c)
                member_optimizer = make_optimizer(est.solver, member.parameters(),
                                                  est.learning_rate_init, 0.0)
                est._commit(self.data, self.starts[i], self.trainer, self.history, member,
                            member_optimizer, candidate=c)
                est.risk_bound_history_ = None
                fitted.append(est)
        finally:
            if live is not None:
                module.load_state_dict(live)
            if final:
                self._close()
        return fitted


__all__ = [
    "BatchedRun",
    "can_batch",
    "fit_candidates",
    "shared_params",
]
