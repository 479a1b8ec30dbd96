"""Evaluating candidates of PerGDROSearchCV: fit and score on every validation split.

Each task of :func:`evaluate_candidates` runs in a joblib (or Dask) worker: it
trains one candidate (or a batch of candidates as one network) on a split's
training rows and scores it on the split's validation rows, in the same worker.
Only numbers come back (a :class:`SplitScore` per candidate and split), never a
fitted network.
"""

import functools
import inspect
import re
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from joblib import effective_n_jobs
from scipy.stats import rankdata
from sklearn import config_context
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.metrics import get_scorer as sklearn_get_scorer
from sklearn.utils.parallel import Parallel, delayed

from .. import _scores as _metrics
from .._constants import SEARCHED_MODEL
from .._memberships import expand_to_fitted, is_memberships
from .._warnings import convergence_note, deferred_convergence, warn_user
from .halving import is_reference, reach_ranks, rung_epochs, rung_threshold, survivors
from .selection import collapsed_prediction, worst_group_standard_error
from .template import take


class FitResult(NamedTuple):
    """A candidate trained on one split: the estimator (None if the fit failed)."""

    estimator: object
    fit_time: float
    error: object = None


@dataclass
class SplitScore:
    """What a worker sends back for one candidate on one split: numbers only.

    ``std_error``, ``collapsed`` and ``predictions`` are what the pick needs
    (:class:`SelectionStats`); ``extra`` holds what a subclass's ``_worker_extras``
    return; ``convergence`` is the fitted network's convergence note
    (:func:`~.._warnings.convergence_note`), which the search sums up in one warning.
    """

    objective: float
    fit_time: float
    score_time: float
    val_loss: np.ndarray
    val_metric: np.ndarray
    error: object = None
    extra: dict = field(default_factory=dict)
    epochs: object = None
    std_error: float = float("nan")
    collapsed: bool = False
    predictions: object = None
    convergence: object = None


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


def resolve_objective(objective):
    """``(name, scorer)``: a name of ``metrics.GROUP_METRICS``, or ``("scorer", callable)``."""
    if isinstance(objective, str):
        if objective in _metrics.GROUP_METRICS:
            return objective, None
        try:
            return "scorer", sklearn_get_scorer(objective)
        except ValueError:
            raise ValueError(
                f"Unknown objective {objective!r}: use a name of "
                f"pergdro_sklearn.metrics.GROUP_METRICS {sorted(_metrics.GROUP_METRICS)}, a "
                "scorer name of sklearn.metrics.get_scorer, or a callable "
                "scorer(estimator, X, y[, groups])."
            ) from None
    if isinstance(objective, _metrics._GroupScorer):  # metrics.get_scorer(name): the name
        return objective._name, None
    if callable(objective):
        return "scorer", objective
    raise ValueError(f"Unknown objective {objective!r}.")


@dataclass(frozen=True)
class Scoring:
    """How a worker scores a fitted candidate on a validation part.

    Parameters
    ----------
    objective : str
        A name of ``metrics.GROUP_METRICS`` (minimised, or its negative when
        greater is better), or ``"scorer"``.
    scorer : callable or None
        The scorer of a ``"scorer"`` objective (maximised).
    is_classifier : bool
    error_score : "raise" or float
    labels : ndarray of shape (n_groups,)
        The group labels, in the order of the per-group arrays.
    selection : SelectionStats or None, default=None
        Computes what the pick needs on each validation part (in the worker).
    extras : tuple of callables, default=()
        Each ``extra(candidate, X_val, y_val, groups_val) -> dict`` runs in the
        worker on the fitted candidate; the arrays (or numbers) it returns come
        back in ``SplitScore.extra``.
    """

    objective: str
    scorer: object
    is_classifier: bool
    error_score: object
    labels: np.ndarray
    selection: object = None
    extras: tuple = ()

    @property
    def n_groups(self):
        return self.labels.shape[0]

    def _by_label(self, scores):
        return np.array([scores.get(label, np.nan) for label in self.labels.tolist()],
                        dtype=float)

    def per_group(self, candidate, X_val, y_val, g_val):
        """Clean loss and accuracy (or MSE) per group from :mod:`metrics`; NaN if absent."""
        clean = _metrics.group_loss_scores(candidate, X_val, y_val, groups=g_val)
        metric = _metrics.group_scores(
            y_val, candidate.predict(X_val), g_val,
            accuracy_score if self.is_classifier else mean_squared_error)
        return self._by_label(clean), self._by_label(metric)

    def score(self, candidate, X_val, y_val, g_val):
        """``(objective, clean loss per group, metric per group)`` on a validation part.

        ``candidate`` is the fitted estimator (a Pipeline or the Per-GDRO estimator).
        """
        clean, metric = self.per_group(candidate, X_val, y_val, g_val)
        if self.objective == "scorer":
            return -float(_call_scorer(self.scorer, candidate, X_val, y_val, g_val)), clean, metric
        if self.objective == "worst_group_loss":  # already computed, by the same function
            return float(np.nanmax(clean)), clean, metric
        entry = _metrics.GROUP_METRICS[self.objective]
        value = entry.compute(candidate, X_val, y_val, groups=g_val)
        return (-value if entry.greater_is_better else value), clean, metric

    def extra(self, candidate, X_val, y_val, g_val):
        """The optional arrays a worker sends back with the numbers."""
        out = {}
        for extra in self.extras:
            out.update(extra(candidate, X_val, y_val, g_val))
        return out


@dataclass(frozen=True)
class SelectionStats:
    """What the search's pick needs from one validation part, computed in the worker.

    ``Scoring.selection``; called on a fitted candidate, returns ``std_error`` (standard error
    of the worst group's mean row loss, log loss or squared error, or of its error
    rate for ``"worst_group_error"``; NaN for other objectives, whose spread comes
    from the splits), ``collapsed`` (one class, or a constant, for every row) and,
    with ``keep_predictions``, ``predictions`` (probabilities or predicted values,
    float32) for ensemble selection.
    """

    objective: str
    is_classifier: bool
    labels: np.ndarray
    keep_predictions: bool = False

    def __call__(self, candidate, X_val, y_val, groups_val):
        n = np.shape(y_val)[0]
        pairs = None
        if is_memberships(groups_val):  # a row once per group (memberships unweighted)
            pairs, val_index, _ = expand_to_fitted(groups_val, self.labels, n)
        else:
            val_index = np.searchsorted(self.labels, groups_val)
        if self.is_classifier:
            prediction = candidate.predict_proba(X_val)
            position = np.searchsorted(candidate.classes_, y_val)
            chosen = prediction.argmax(axis=1)
            if self.objective == "worst_group_error":
                rows = (chosen != position).astype(float)
            else:
                rows = _metrics._log_loss_rows(prediction, position)
            collapsed = collapsed_prediction(chosen, True)
        else:
            prediction = np.asarray(candidate.predict(X_val), dtype=float).reshape(n, -1)
            target = np.asarray(y_val, dtype=float).reshape(n, -1)
            rows = ((prediction - target) ** 2).mean(axis=1)
            collapsed = collapsed_prediction(prediction, False, target)
        known = self.objective in ("worst_group_loss", "worst_group_error")
        rows = rows if pairs is None else rows[pairs]
        return {
            "std_error": (worst_group_standard_error(rows, val_index, self.labels.shape[0])
                          if known else float("nan")),
            "collapsed": bool(collapsed),
            "predictions": prediction.astype(np.float32) if self.keep_predictions else None,
        }



def _fit_one(template, X, y, groups, train, params, error_score):
    start = time.perf_counter()
    try:
        est = template.fit(params, take(X, train), y[train], groups[train])
    except Exception:
        if error_score == "raise":
            raise
        return FitResult(None, time.perf_counter() - start, traceback.format_exc())
    return FitResult(est, time.perf_counter() - start, None)


def _fit_batch(template, X, y, groups, train, params_list, error_score):
    """Candidates trained together on one split; on failure, one at a time."""
    start = time.perf_counter()
    try:
        fitted = template.fit_batch(params_list, take(X, train), y[train], groups[train])
    except Exception:
        # one diverging candidate stops the batch: retry each alone to isolate it
        return [_fit_one(template, X, y, groups, train, params, error_score)
                for params in params_list]
    share = (time.perf_counter() - start) / len(params_list)
    return [FitResult(est, share, None) for est in fitted]


def _score_fit(fit, X, y, groups, val, scoring):
    """Score one fitted candidate on the validation rows ``val``."""
    start = time.perf_counter()
    nan = np.full(scoring.n_groups, np.nan)
    if fit.estimator is None:
        return SplitScore(np.nan, fit.fit_time, time.perf_counter() - start, nan, nan,
                          fit.error)
    try:
        X_val = take(X, val)
        value, clean, metric = scoring.score(fit.estimator, X_val, y[val], groups[val])
        stats = ({} if scoring.selection is None
                 else scoring.selection(fit.estimator, X_val, y[val], groups[val]))
        extra = scoring.extra(fit.estimator, X_val, y[val], groups[val])
    except Exception:
        if scoring.error_score == "raise":
            raise
        return SplitScore(np.nan, fit.fit_time, time.perf_counter() - start, nan, nan,
                          traceback.format_exc())
    return SplitScore(value, fit.fit_time, time.perf_counter() - start, clean, metric,
                      extra=extra, convergence=convergence_note(fit.estimator), **stats)


def _evaluate_one(template, X, y, groups, fold, params, scoring):
    """Worker task: fit one candidate on a split and score it there."""
    train, val = fold
    fit = _fit_one(template, X, y, groups, train, params, scoring.error_score)
    return [_score_fit(fit, X, y, groups, val, scoring)]


def _evaluate_batch(template, X, y, groups, fold, params_list, scoring):
    """Worker task: fit candidates together on a split and score each there."""
    train, val = fold
    fits = _fit_batch(template, X, y, groups, train, params_list, scoring.error_score)
    return [_score_fit(fit, X, y, groups, val, scoring) for fit in fits]


def _evaluate_halving(template, X, y, groups, fold, params_list, scoring, halving,
                      known=None, report=None):
    """Worker task: successive halving of candidates trained together on a split.

    The candidates train as one network to each rung's epochs
    (:func:`~_search.halving.rung_epochs`); after every rung but the last they are
    scored on the validation rows and only the best ``1 / factor``, those within
    one standard error of the best (:func:`~_search.halving.rung_threshold`) and ERM
    continue. A dropped candidate's score is the one it reached, with ``epochs``
    set to the epochs it trained; the survivors of the last rung have
    ``epochs=None`` (fully trained). Each candidate's ``fit_time`` is its share of
    the rungs it trained in. On a failure the batch is evaluated without halving.

    ``known`` maps positions to the final scores of a resumed search (candidates
    dropped at a rung before a kill): they are not trained again, and each joins
    the decision of the rung that dropped it with its saved score, so that the
    others are kept or dropped as in the uninterrupted run. ``report(positions,
    scores)`` is called with the scores as soon as they are final (dropped at a
    rung, or trained to the end), to journal them.
    """
    train, val = fold
    factor, n_rungs, *rest = halving
    with_band = rest[0] if rest else True
    known = dict(known or {})
    report = report if report is not None else (lambda positions, scores: None)
    n = len(params_list)
    scores = [known.get(i) for i in range(n)]
    positions = np.array([i for i in range(n) if i not in known], dtype=np.int64)
    if positions.size == 0:
        return scores
    fit_time = np.zeros(n)
    reference = np.array([is_reference(p) for p in params_list])
    reach = reach_ranks(params_list)
    try:
        start = time.perf_counter()
        run = template.start_batch([params_list[i] for i in positions], take(X, train),
                                   y[train], groups[train])
        if isinstance(run, list):  # not batchable after all: fitted in full
            share = (time.perf_counter() - start) / len(run)
            fresh = [_score_fit(FitResult(est, share), X, y, groups, val, scoring)
                     for est in run]
            for i, score in zip(positions, fresh):
                scores[i] = score
            report(positions.tolist(), fresh)
            return scores
        fit_time[positions] += (time.perf_counter() - start) / positions.size
        rungs = rung_epochs(template.final.max_iter, factor, n_rungs)
        for epoch in rungs:
            start = time.perf_counter()
            run.train_to(epoch)
            last = run.finished or epoch == rungs[-1]
            fitted = run.estimators(final=last)
            active = positions[run.active]
            fit_time[active] += (time.perf_counter() - start) / len(active)
            rung_scores = [_score_fit(FitResult(est, fit_time[i]), X, y, groups, val, scoring)
                           for i, est in zip(active, fitted)]
            if last:
                for i, score in zip(active, rung_scores):
                    scores[i] = score
                report(active.tolist(), rung_scores)
                break
            # the decision is over every candidate at this rung, the saved ones included
            at_rung = dict(zip(active.tolist(), rung_scores))
            at_rung.update({i: s for i, s in known.items() if s.epochs == run.epochs})
            members = np.array(sorted(at_rung), dtype=np.int64)
            objectives = [at_rung[i].objective for i in members]
            band = (rung_threshold(objectives, [at_rung[i].std_error for i in members],
                                   reference[members]) if with_band else None)
            kept = set(members[survivors(objectives, factor, protected=reference[members],
                                         threshold=band, reach=reach[members])].tolist())
            kept_positions = [c for c, i in enumerate(active) if i in kept]
            dropped = [c for c, i in enumerate(active) if i not in kept]
            for c in dropped:
                rung_scores[c].epochs = run.epochs
                scores[active[c]] = rung_scores[c]
            report([int(active[c]) for c in dropped], [rung_scores[c] for c in dropped])
            if not kept_positions:
                break
            run.keep(kept_positions)
    except Exception:  # e.g. one candidate diverged: the rest again, without halving
        rest = [i for i in range(n) if scores[i] is None]
        again = _evaluate_batch(template, X, y, groups, fold,
                                [params_list[i] for i in rest], scoring)
        for i, score in zip(rest, again):
            scores[i] = score
        report(rest, again)
    return scores


def _report(journal, positions, split, local, scores):
    """Journal the final ``scores`` of the task's candidates ``local`` (see :mod:`.journal`)."""
    if journal is not None:
        journal.write(split, [positions[j] for j in local], scores)


def _tagged(tag, task, *args, journal=None, positions=(), split=0, **kwargs):
    """Worker task ``task(*args)`` returned with its ``tag`` (results come unordered);
    with a ``journal``, the scores are journaled before they are returned (halving's
    task journals each rung's dropped candidates itself). The fits note convergence
    trouble instead of warning (the search sums it up)."""
    with deferred_convergence():
        if getattr(task, "func", None) is _evaluate_halving:
            kwargs["report"] = functools.partial(_report, journal, positions, split)
            return tag, task(*args, **kwargs)
        result = task(*args, **kwargs)
    _report(journal, positions, split, list(range(len(result))), result)
    return tag, result


def batchable_groups(params_list, batchable=("rho", "epsilon")):
    """Positions of ``params_list`` grouped by every parameter not in ``batchable``.

    Candidates that share their other parameters (``batch_size``, say) can train as
    one batched network; groups come in order of their first member.

    Examples
    --------
    >>> batchable_groups([{"rho": 0.0, "batch_size": 16}, {"rho": 1.0, "batch_size": 32},
    ...                   {"rho": 2.0, "batch_size": 16}])
    [[0, 2], [1]]
    """
    groups = {}
    for i, params in enumerate(params_list):
        key = repr(sorted((k, v) for k, v in params.items() if k not in batchable))
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def evaluate_candidates(template, params_list, X, y, groups, folds, scoring, *,
                        n_jobs=None, batch_candidates=1, on_scored=None, halving=None,
                        known=None, journal=None):
    """Fit and score every candidate on every split, in joblib workers.

    Parameters
    ----------
    template : SearchTemplate
        The searched estimator (cloned for each fit).
    params_list : list of dict
        ``{"rho": float, "epsilon": ndarray of shape (n_groups,)}`` per candidate.
    X : array-like (an ndarray, or what a Pipeline's first step takes)
    y : ndarray
    groups : ndarray of shape (n_samples,)
        Group label of each row.
    folds : list of (train, validation) index arrays
    scoring : Scoring
    n_jobs : int, default=None
    batch_candidates : int, default=1
        Up to this many candidates are trained together as one network.
    on_scored : callable, default=None
        ``on_scored(i, scores_i)`` is called in this process as soon as candidate
        ``i`` is scored on every split (results arrive as the workers finish them,
        where the joblib backend allows), so that it can be saved at once.
    halving : tuple (factor, n_rungs) or None, default=None
        Successive halving within each batch of candidates (see
        :func:`_evaluate_halving`); only batched candidates are halved.
    known : dict, default=None
        ``{(i, k): SplitScore}``: final scores saved by an interrupted search
        (its journal); they are not computed again. The batches are made from the
        whole ``params_list`` as in the uninterrupted search.
    journal : JournalWriter, default=None
        Where the workers append each score as soon as it is final (its ``keys``
        by position in ``params_list``).

    Returns
    -------
    scores : list of list of SplitScore
        ``scores[i][k]``: candidate ``i`` on split ``k``. A failed fit or scoring
        has ``error`` set (with a ``FitFailedWarning``) and its objective is
        ``error_score``.
    """
    known = dict(known or {})
    batched_task = _evaluate_batch
    if halving is not None:
        batched_task = functools.partial(_evaluate_halving, halving=halving)
    workers = max(1, effective_n_jobs(n_jobs))
    chunks = []  # (candidate positions, batched)
    if batch_candidates > 1:
        batchable = getattr(template.final, "_batchable_params", ("rho", "epsilon"))
        for members in batchable_groups(params_list, batchable):
            if len(members) < 2 or not template.can_batch([params_list[i] for i in members]):
                chunks.extend(([i], False) for i in members)
                continue
            size = min(batch_candidates, -(-len(members) // workers))
            chunks.extend((members[i:i + size], True) for i in range(0, len(members), size))
    else:
        chunks = [([i], False) for i in range(len(params_list))]
    tasks = []  # (positions, split, task, its parameters, keyword arguments)
    for members, batched in chunks:
        for k in range(len(folds)):
            todo = [i for i in members if (i, k) not in known]
            if not todo:
                continue
            if batched and halving is not None:  # the whole batch decides
                local = {c: known[i, k] for c, i in enumerate(members) if (i, k) in known}
                tasks.append((members, k, batched_task, [params_list[i] for i in members],
                              {"known": local}))
            elif batched:
                tasks.append((todo, k, batched_task, [params_list[i] for i in todo], {}))
            else:
                tasks.append((todo, k, _evaluate_one, params_list[todo[0]], {}))
    scores = [[known.get((i, k)) for k in range(len(folds))] for i in range(len(params_list))]
    missing = [sum(s is None for s in row) for row in scores]
    for i, row in enumerate(scores):
        if missing[i] == 0:
            _apply_error_score(params_list[i], row, scoring)
            if on_scored is not None:
                on_scored(i, row)
    try:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    except ValueError:  # a backend without generators (multiprocessing): all at the end
        parallel = Parallel(n_jobs=n_jobs)
    results = parallel(
        delayed(_tagged)(t, task, template, X, y, groups, folds[k], params, scoring,
                         journal=journal, positions=chunk, split=k, **extra)
        for t, (chunk, k, task, params, extra) in enumerate(tasks)
    )
    for t, chunk_scores in results:
        chunk, k = tasks[t][:2]
        for i, split_score in zip(chunk, chunk_scores):
            if scores[i][k] is not None:  # known before: not computed again
                continue
            scores[i][k] = split_score
            missing[i] -= 1
            if missing[i] == 0:
                _apply_error_score(params_list[i], scores[i], scoring)
                if on_scored is not None:
                    on_scored(i, scores[i])
    return scores


def _apply_error_score(params, candidate_scores, scoring):
    """Failed splits get ``error_score`` as objective, with a ``FitFailedWarning``."""
    for split_score in candidate_scores:
        if split_score.error is not None:
            split_score.objective = float(scoring.error_score)
            others = "".join(f", {k}={v:.4g}" for k, v in params.items()
                             if k not in ("rho", "epsilon"))
            warn_user(
                f"A candidate (rho={params['rho']:.4g}, epsilon="
                f"{np.round(params['epsilon'], 4).tolist()}{others}) failed on a split; its "
                f"objective is set to error_score={scoring.error_score}. Details:\n"
                f"{split_score.error}", FitFailedWarning)


def _nan_stat(func, values, axis):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(values, axis=axis)


def safe_key_names(labels):
    """Group labels as parts of ``cv_results_`` keys: letters, digits and ``_`` only.

    Every run of other characters becomes one ``_`` (``"Native American"`` ->
    ``"Native_American"``, ``"a|b"`` -> ``"a_b"``); a label that is empty after
    that is ``"_"``. Names that collide get ``_2``, ``_3``, ... in label order
    (the first keeps its name), never clashing with a name already taken.
    """
    base = [re.sub(r"[^0-9A-Za-z_]+", "_", str(label)) or "_" for label in labels]
    taken, out = set(base), []
    seen = set()
    for name in base:
        if name in seen:
            k = 2
            while f"{name}_{k}" in taken:
                k += 1
            name = f"{name}_{k}"
            taken.add(name)
        seen.add(name)
        out.append(name)
    return out


def build_cv_results(records, labels, n_splits, is_classifier, max_iter=None):
    """``cv_results_`` (a dict of arrays, one row per record) from evaluation records.

    ``param_model`` names the model of each row: ``"per_gdro"`` for the searched
    candidates, a baseline's name for the baselines (whose radii are NaN).
    ``dropped`` marks candidates that successive halving stopped early on some
    split; ``n_epochs`` is the fewest epochs a candidate trained on any split
    (``max_iter`` for those never dropped). The ``*_test_score`` keys are
    scikit-learn's (greater is better): ``test_score = -test_objective``. Group
    labels appear in keys as :func:`safe_key_names` makes them.
    """
    n = len(records)
    labels = safe_key_names(labels.tolist())
    results = {}
    params = np.empty(n, dtype=object)
    for i, record in enumerate(records):
        params[i] = record.candidate_params
    results["params"] = params
    results["param_model"] = np.array([r.model or SEARCHED_MODEL for r in records],
                                      dtype=object)
    results["param_rho"] = np.array([r.rho for r in records], dtype=float)
    eps = np.array([r.epsilon for r in records], dtype=float).reshape(n, -1)
    for g, label in enumerate(labels):
        results[f"param_epsilon_{label}"] = eps[:, g]
    for name in sorted({name for r in records for name in r.params}):
        results[f"param_{name}"] = np.array([r.params.get(name, np.nan) for r in records])
    objective = np.array([r.test_objective for r in records], dtype=float)
    objective = objective.reshape(n, n_splits)
    for k in range(n_splits):
        results[f"split{k}_test_objective"] = objective[:, k]
    mean = objective.mean(axis=1)
    results["mean_test_objective"] = mean
    results["std_test_objective"] = objective.std(axis=1)
    failed = np.array([r.failed for r in records], dtype=bool)
    ranked = np.where(np.isfinite(mean) & ~failed, mean, np.inf)  # failures rank last
    results["rank_test_objective"] = rankdata(ranked, method="min").astype(np.int32)
    for k in range(n_splits):  # 0.0 - x: no negative zeros
        results[f"split{k}_test_score"] = 0.0 - objective[:, k]
    results["mean_test_score"] = 0.0 - mean
    results["std_test_score"] = results["std_test_objective"].copy()
    results["rank_test_score"] = results["rank_test_objective"].copy()
    for key in ("fit_time", "score_time"):
        values = np.array([getattr(r, key) for r in records], dtype=float).reshape(n, n_splits)
        results[f"mean_{key}"] = values.mean(axis=1)
        results[f"std_{key}"] = values.std(axis=1)
    loss = np.array([r.val_loss for r in records], dtype=float)
    metric = np.array([r.val_metric for r in records], dtype=float)
    metric_name = "accuracy" if is_classifier else "mse"
    mean_loss = _nan_stat(np.nanmean, loss, axis=1).reshape(n, -1)
    mean_metric = _nan_stat(np.nanmean, metric, axis=1).reshape(n, -1)
    for g, label in enumerate(labels):
        results[f"mean_val_loss_{label}"] = mean_loss[:, g]
        results[f"mean_val_{metric_name}_{label}"] = mean_metric[:, g]
    results["is_initial_point"] = np.array([r.origin is not None for r in records])
    results["dropped"] = np.array([r.dropped for r in records], dtype=bool)
    if max_iter is not None:
        results["n_epochs"] = np.array(
            [min((e for e in (r.epochs or []) if e is not None), default=max_iter)
             for r in records], dtype=np.int64)
    return results


__all__ = ["FitResult", "Scoring", "SelectionStats", "SplitScore", "build_cv_results",
           "evaluate_candidates", "resolve_objective", "safe_key_names"]
