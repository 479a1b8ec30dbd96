"""The estimator a PerGDROSearchCV tunes: a Per-GDRO estimator or a Pipeline ending in one.

:class:`SearchTemplate` finds the Per-GDRO step (through nested Pipelines), sets
a candidate's radii on it (``<step>__rho``, ``<step>__epsilon``) and fits a
candidate on a training part: the transformers are fitted on those rows only,
then the Per-GDRO step gets the transformed rows and their group labels directly,
whether metadata routing is on or off. Candidates that differ only in their radii
share the fitted transformers, so a round's candidates can train together as one
batched network on the transformed rows.
"""

import copy

from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from .._estimators.batched import can_batch, fit_candidates


def _is_pergdro(estimator):
    params = estimator.get_params(deep=False) if hasattr(estimator, "get_params") else {}
    return ({"rho", "epsilon"} <= set(params) and hasattr(estimator, "robust_risk")
            and hasattr(estimator, "group_losses"))


def _skipped(step):
    return step is None or (isinstance(step, str) and step == "passthrough")


def _replace_final(pipeline, final):
    """A shallow copy of ``pipeline`` (nested) whose Per-GDRO step is ``final``."""
    steps = list(pipeline.steps)
    name, last = steps[-1]
    steps[-1] = (name, _replace_final(last, final) if isinstance(last, Pipeline) else final)
    new = copy.copy(pipeline)
    new.steps = steps
    return new


class SearchTemplate:
    """The searched estimator and the path to its Per-GDRO step.

    Parameters
    ----------
    estimator : PerGDROClassifier, PerGDRORegressor or Pipeline
        A Pipeline (possibly nested in Pipelines) whose final step is a Per-GDRO
        estimator.

    Attributes
    ----------
    path : str
        Prefix of the Per-GDRO step's parameters (``""`` without a Pipeline,
        ``"pergdroclassifier__"`` for ``make_pipeline(..., PerGDROClassifier())``).
    final : estimator
        The Per-GDRO step of the template (unfitted).
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.path = ""
        final = estimator
        while isinstance(final, Pipeline):
            name, final = final.steps[-1]
            self.path += f"{name}__"
        if not _is_pergdro(final):
            raise ValueError(
                "estimator must be a Per-GDRO estimator (PerGDROClassifier or "
                "PerGDRORegressor) or a Pipeline whose final step is one, got "
                f"{type(estimator).__name__}"
                + (f" ending in {type(final).__name__}" if final is not estimator else "") + "."
            )
        self.final = final

    @property
    def is_pipeline(self):
        return isinstance(self.estimator, Pipeline)

    def fit_transformers(self, X, y):
        """A clone of the template with its transformers fitted on ``X``; and ``X`` transformed.

        The Per-GDRO step of the clone is left unfitted.
        """
        estimator = clone(self.estimator)
        level, Xt = estimator, X
        while isinstance(level, Pipeline):
            for _, step in level.steps[:-1]:
                if _skipped(step):
                    continue
                Xt = step.fit_transform(Xt, y)
            level = level.steps[-1][1]
        return estimator, Xt

    def with_final(self, fitted_transformers, final):
        """The candidate: fitted transformers followed by the fitted Per-GDRO ``final``."""
        if not self.is_pipeline:
            return final
        return _replace_final(fitted_transformers, final)

    def fit(self, params, X, y, groups):
        """One candidate with radii ``params`` fitted on ``X, y, groups``."""
        prefix, Xt = self.fit_transformers(X, y) if self.is_pipeline else (None, X)
        final = clone(self.final).set_params(**params).fit(Xt, y, groups=groups)
        return self.with_final(prefix, final)

    def fit_finals(self, params_list, X, y, groups):
        """The transformers fitted once on ``X``, and a Per-GDRO step per ``params``.

        Returns
        -------
        prefix : Pipeline or None
            A clone of the template with its transformers fitted (``None`` without
            a Pipeline); :meth:`with_final` puts a final step into it.
        finals : list of estimators
            ``clone(final).set_params(**params)`` fitted on the transformed rows,
            one per entry of ``params_list``, in that order.
        """
        prefix, finals, _ = self.fit_finals_and_baselines(params_list, (), X, y, groups)
        return prefix, finals

    def fit_finals_and_baselines(self, params_list, baselines, X, y, groups):
        """As :meth:`fit_finals`, and each :class:`~._search.baselines.Baseline` of
        ``baselines`` fitted on the same transformed rows.

        Returns
        -------
        prefix, finals
            As :meth:`fit_finals`.
        fitted : list of estimators
            The baselines' fitted models, in ``baselines`` order.
        """
        prefix, Xt = self.fit_transformers(X, y) if self.is_pipeline else (None, X)
        finals = [clone(self.final).set_params(**params).fit(Xt, y, groups=groups)
                  for params in params_list]
        return prefix, finals, [baseline.fit(Xt, y, groups) for baseline in baselines]

    def can_batch(self, params_list):
        return can_batch(self.final, params_list)

    def fit_batch(self, params_list, X, y, groups):
        """Candidates fitted together: the transformers once, the Per-GDRO steps batched."""
        prefix, Xt = self.fit_transformers(X, y) if self.is_pipeline else (None, X)
        finals = fit_candidates(self.final, params_list, Xt, y, groups)
        return [self.with_final(prefix, final) for final in finals]


    def start_batch(self, params_list, X, y, groups):
        """A :class:`~_estimators.batched.BatchedRun` of the candidates (transformers fitted once),
        whose estimators come back as whole Pipelines; or, when the module cannot be
        batched, the list of candidates already fitted one by one."""
        prefix, Xt = self.fit_transformers(X, y) if self.is_pipeline else (None, X)
        run = self.final._start_batched(params_list, Xt, y, groups)
        if isinstance(run, list):
            return [self.with_final(prefix, final) for final in run]
        return _PipelineRun(run, lambda final: self.with_final(prefix, final))


class _PipelineRun:
    """A :class:`~_estimators.batched.BatchedRun` whose estimators are wrapped (Pipelines)."""

    def __init__(self, run, wrap):
        self.run = run
        self.wrap = wrap

    def __getattr__(self, name):
        return getattr(self.run, name)

    def train_to(self, epoch):
        self.run.train_to(epoch)
        return self

    def keep(self, positions):
        self.run.keep(positions)
        return self

    def estimators(self, final=False):
        return [self.wrap(est) for est in self.run.estimators(final=final)]


def take(X, rows):
    """Rows ``rows`` of an array, a DataFrame or a list."""
    return _safe_indexing(X, rows)


__all__ = ["SearchTemplate", "take"]
