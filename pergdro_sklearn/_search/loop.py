"""The loop of PerGDROSearchCV: propose, evaluate, tell (the paper's Algorithm 2).

:class:`SearchLoopMixin` gives the search its ``evaluate`` callback (candidates go
to the workers, which fit and score them; only numbers come back, and each
evaluation is saved to the checkpoint as soon as it is scored) and
``_run_search``, which asks scikit-optimize's GP for candidates round by round:
ERM and the initial design first, then the acquisition function's proposals.
"""

import functools
import logging
import time

from joblib import effective_n_jobs

from .._constants import MAX_REPLACEMENT_DRAWS
from .checkpoint import Replay
from .evaluate import evaluate_candidates
from .records import EvaluationRecord
from .report import SearchReport
from .space import initial_design, with_lows_first
from .surrogate import KernelRefitSchedule, make_surrogate

logger = logging.getLogger("pergdro_sklearn")


class SearchLoopMixin:
    """Evaluation and the ask/tell loop of :class:`~pergdro_sklearn.PerGDROSearchCV`."""

    def _evaluate_candidates(self, params_list, run, on_record=None):
        """Train and score every candidate on every split: one record per candidate.

        The one place where candidates go to the workers (the ``evaluate``
        callback of :meth:`_run_search`); fitting and scoring both run there and
        only numbers come back.

        Parameters
        ----------
        params_list : list of dict
            ``{"rho": float, "epsilon": ndarray of shape (n_groups,)}`` per candidate.
        run : _SearchRun
        on_record : callable, default=None
            ``on_record(i, record)`` as soon as candidate ``i`` is scored on every split.

        Returns
        -------
        records : list of EvaluationRecord
        """
        records = [None] * len(params_list)

        def scored(i, splits):
            records[i] = EvaluationRecord.from_splits(params_list[i], splits)
            if run.report is not None:
                run.report.tally(splits)
            if on_record is not None:
                on_record(i, records[i])

        known, journal = run.checkpoint.round_context(len(params_list))
        evaluate_candidates(
            run.template, params_list, run.X, run.y, run.groups, run.folds, run.scoring,
            n_jobs=self.n_jobs, batch_candidates=self.batch_candidates, on_scored=scored,
            halving=(None if self._halving() is None
                     else (float(self._halving()), int(self.halving_rungs),
                           self.selection == "one_se")),
            known=known, journal=journal)
        return records

    def _run_search(self, evaluate, run):
        """Ask, evaluate, tell until ``n_iter`` evaluations (or a stop).

        The initial design comes first (in rounds as large as batching allows),
        then the GP's proposals, ``n_points`` per round; a proposal already
        evaluated is replaced by a random point. Each record is saved as soon as
        it is scored. A resumed search replays the saved rounds (see
        :class:`~_search.checkpoint.Replay`): saved points are not evaluated again.

        Returns
        -------
        records : list of EvaluationRecord
        optimizer : skopt.Optimizer
        """
        from skopt import Optimizer

        space, callbacks = run.space, self._callbacks()
        optimizer = Optimizer(
            space.dimensions(),
            base_estimator=make_surrogate(space.dimensions(), run.optimizer_seed),
            n_initial_points=self.n_initial_points,
            initial_point_generator="random", acq_func=self.acq_func,
            acq_optimizer=self.acq_optimizer, acq_func_kwargs=self.acq_func_kwargs,
            acq_optimizer_kwargs=self.acq_optimizer_kwargs,
            random_state=run.optimizer_seed, model_queue_size=1,
        )
        gp = KernelRefitSchedule(optimizer, self.gp_refit_every)
        design = with_lows_first(initial_design(
            self.initial_point_generator, space, self.n_initial_points, run.design_seed), space)
        if run.report is None:
            run.report = SearchReport(0, self.n_iter)
        report = run.report
        replay = Replay(run.records)
        records = replay.unrounded()  # older checkpoints: told at once
        if records:
            with report.optimizer_warnings():
                optimizer.tell([r.x for r in records], [r.penalised() for r in records])
        if run.records:
            logger.info("Resuming %d evaluations from %s.", len(run.records), self.checkpoint)
        done = {r.origin for r in records if r.origin is not None}
        pending = [i for i in range(len(design)) if i not in done]

        start = time.monotonic()
        stop, round_number = False, 0
        while len(records) < self.n_iter and not stop:
            round_size = self.n_points
            if pending and self.batch_candidates > 1:
                workers = max(1, effective_n_jobs(self.n_jobs))
                round_size = max(self.n_points, self.batch_candidates * workers)
            n_new = min(round_size, self.n_iter - len(records))
            if pending:
                origins = pending[:n_new]
                xs = [design[i] for i in origins]
            else:
                with report.optimizer_warnings():
                    asked = optimizer.ask() if n_new == 1 else optimizer.ask(
                        n_points=n_new, strategy="cl_min")
                asked = [[float(v) for v in x] for x in ([asked] if n_new == 1 else asked)]
                xs = replace_repeats(asked, [tuple(r.x) for r in records], optimizer.space,
                                     optimizer.rng)
                report.replaced(sum(a != b for a, b in zip(asked, xs)))
                origins = [None] * len(xs)
            saved = replay.match(round_number, xs)
            if saved is None:  # this round differs from the saved one: tell the rest at once
                rest = replay.take_rest()
                records.extend(rest)
                with report.optimizer_warnings():
                    gp.tell(optimizer, [r.x for r in rest], [r.penalised() for r in rest])
                pending = [i for i in pending if i not in {r.origin for r in rest}]
                round_number = replay.next_free_round
                continue
            if origins[0] is not None:
                pending = pending[len(origins):]
            new = evaluate_round(saved, round_number, xs, origins, evaluate, space.params,
                                 run.checkpoint, len(run.folds),
                                 whole=self._halving() is not None,
                                 on_saved=functools.partial(_shown, report, len(records)))
            records.extend(new)
            with report.optimizer_warnings():
                result = gp.tell(optimizer, xs, [r.penalised() for r in new])
            stop = any([bool(callback(result)) for callback in callbacks])
            if self.max_time is not None and time.monotonic() - start >= self.max_time:
                logger.info("Stopping: max_time=%s s reached.", self.max_time)
                stop = True
            round_number += 1
        rest = replay.take_rest()  # saved beyond a smaller n_iter: kept, told
        if rest:
            records.extend(rest)
            with report.optimizer_warnings():
                optimizer.tell([r.x for r in rest], [r.penalised() for r in rest])
        return records, optimizer


def _shown(report, first_row, j, record):
    report.scored(first_row + j, record)


def evaluate_round(saved, number, xs, origins, evaluate, params, checkpoint, n_splits,
                   whole=False, on_saved=None):
    """The records of round ``number`` in ``xs`` order: the ``saved`` ones (by point)
    reused, the others evaluated with ``evaluate`` and appended to ``checkpoint`` one
    by one, as soon as each is scored (then ``on_saved(j, record)`` is called, ``j``
    the record's position in ``xs``).

    Split scores the checkpoint's journal holds are not computed again. With
    ``whole`` (successive halving, whose decisions depend on the batch) the round
    goes to ``evaluate`` whole, as in the uninterrupted search, when the journal
    holds every split of its saved points: those are not trained again, and the
    batches are the same."""
    todo = [j for j, x in enumerate(xs) if tuple(x) not in saved]
    evaluated = todo
    if whole and todo:
        journaled = checkpoint.journaled_points(number, n_splits)
        if all(j in todo or tuple(float(v) for v in x) in journaled
               for j, x in enumerate(xs)):
            evaluated = list(range(len(xs)))

    def keep(position, record):
        j = evaluated[position]
        if tuple(xs[j]) in saved:
            return
        record.x, record.origin, record.round = xs[j], origins[j], number
        checkpoint.append(record)
        if on_saved is not None:
            on_saved(j, record)

    fresh = []
    if todo:
        checkpoint.begin_round(number, [xs[j] for j in evaluated])
        fresh = evaluate([params(xs[j]) for j in evaluated], on_record=keep)
    checkpoint.end_round(number)
    fresh = dict(zip(evaluated, fresh))
    return [saved[tuple(x)] if tuple(x) in saved else fresh[j] for j, x in enumerate(xs)]


def replace_repeats(xs, evaluated, space, rng):
    """``xs`` with every point already in ``evaluated`` (or repeated within ``xs``)
    replaced by a random point of ``space`` drawn with ``rng``: no point is
    evaluated twice."""
    seen = set(evaluated)
    unique = []
    for x in xs:
        draws = 0
        while tuple(x) in seen:
            if draws == MAX_REPLACEMENT_DRAWS:
                raise ValueError(
                    f"The search space holds no point not evaluated yet ({len(seen)} "
                    f"evaluated, then {draws} random draws all repeated one); lower n_iter "
                    "or widen the bounds.")
            x = [float(v) for v in space.rvs(random_state=rng)[0]]
            draws += 1
        seen.add(tuple(x))
        unique.append(x)
    return unique


__all__ = ["SearchLoopMixin"]
