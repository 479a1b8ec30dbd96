"""The pick of PerGDROSearchCV: selection rules applied to its evaluations, and the refit.

:class:`PickMixin` gives the search its ``_select`` step (which adds the columns the
rules read to ``cv_results_``), the public :meth:`PickMixin.pick_candidates`, the
warning against ERM, and the refit of the pick (one model, or a weighted
ensemble for ``selection="ensemble"`` and ``"hedged"``). The rules themselves are in
:mod:`_search.selection`.
"""

from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples, check_is_fitted

from .._constants import SEED_MAX
from .._warnings import deferred_convergence, warn_user
from .baselines import refit_baseline
from .evaluate import resolve_objective
from .selection import PREDICTION_RULES, erm_row, pick, selection_columns


class PickMixin:
    """Selection and refit for :class:`~pergdro_sklearn.PerGDROSearchCV`."""

    def _select(self, records, run, optimizer):
        """``(indices, weights)``: the rows of ``cv_results_`` that ``selection`` picks.

        Adds the columns the rules read to ``cv_results_`` (standard errors,
        failures, collapse, the GP's posterior mean) and keeps the validation
        predictions for ``selection="ensemble"``. A candidate whose fit or scoring
        failed on any split is never picked, whatever its ``error_score``, nor one
        whose predictions collapsed to one class. Raises ValueError when no
        candidate succeeded with a finite mean objective.
        """
        results = self.cv_results_
        results.update(selection_columns(records, len(run.folds)))
        results["gp_mean_test_objective"] = _posterior_mean(optimizer, records)
        if not (np.isfinite(results["mean_test_objective"]) & ~results["failed"]).any():
            first_error = next((r.error for r in records if r.error), None)
            raise ValueError(
                f"All {len(records)} evaluated candidates failed or have a non-finite "
                "objective." + (f" First error:\n{first_error}" if first_error else "")
            )
        self.validation_predictions_ = None
        if self.selection in PREDICTION_RULES:
            val = np.concatenate([fold[1] for fold in run.folds])
            self.validation_predictions_ = _stack_predictions(records, val.shape[0])
            self._validation_target = (np.searchsorted(np.unique(run.y), run.y[val])
                                       if self._is_classifier else run.y[val])
            self._validation_groups = run.group_index[val]
        return self.pick_candidates(self.selection)

    def pick_candidates(self, selection):
        """Which evaluated candidates a selection rule picks, and their weights.

        Compares rules on one finished search without evaluating anything again.

        Parameters
        ----------
        selection : {"hedged", "paired_se", "best", "one_se", "gp_mean", "ensemble"}
            See ``selection`` in the class docstring. ``"hedged"``, ``"paired_se"``
            and ``"ensemble"`` need a search fitted with one of them (which keeps the
            validation predictions).

        Returns
        -------
        indices : ndarray of int
            Rows of ``cv_results_``; one row except for ``"ensemble"``.
        weights : ndarray of float
            Their weights in the final model (summing to 1).
        """
        check_is_fitted(self, "cv_results_")
        validation = None
        if getattr(self, "validation_predictions_", None) is not None:
            task = "classification" if self._is_classifier else "regression"
            validation = (self.validation_predictions_, self._validation_target,
                          self._validation_groups, self.groups_.shape[0], task)
        return pick(selection, self.cv_results_, rho_high=self.rho_bounds_[1],
                    epsilon_high=self.epsilon_bounds_[:, 1],
                    objective=resolve_objective(self._objective())[0],
                    validation=validation)

    def _warn_if_worse_than_erm(self):
        """Warn when the pick scores worse than ERM on validation beyond ERM's noise."""
        results = self.cv_results_
        means = results["mean_test_objective"]
        erm = erm_row(results, np.isfinite(means))
        if (erm is None or self.best_index_ == erm
                or "rho" not in results["params"][self.best_index_]):  # a baseline
            return
        margin = float(np.nan_to_num(results["std_error_test_objective"][erm]))
        if means[self.best_index_] > means[erm] + margin:
            warn_user(
                f"The picked radii (row {self.best_index_} of cv_results_) score "
                f"{means[self.best_index_]:.4g} on validation, worse than ERM (rho = 0, "
                f"epsilon = 0: {means[erm]:.4g} +- {margin:.2g}). Check the bounds, the "
                "objective and the selection rule.", UserWarning)

    def _refit(self, run):
        """The pick refit on all the data, as an estimator of the searched kind.

        Each picked network is refit ``refit_seeds`` times, with the estimator's
        ``random_state`` and seeds derived from it: a searched candidate, and a
        network baseline (GroupDRO) with its own ``random_state``; a tree or a linear
        model is refit once. One network is the estimator itself; several are
        averaged (members of one candidate share its weight equally) by an
        :class:`EnsembleSelectionClassifier` (or ``...Regressor``).
        Over a Pipeline the transformers are fitted once, on all the rows, and the
        network (or the average) is the final step, so ``best_estimator_`` is a
        Pipeline like the one searched. The networks do not warn one by one: their
        convergence notes go into the search's summary.
        """
        from .._ensemble.estimators import EnsembleSelectionClassifier, EnsembleSelectionRegressor

        params = self.cv_results_["params"]
        report = run.report
        baselines = {b.name: b for b in run.baselines}
        if len(self.selected_indices_) == 1 and "model" in params[self.best_index_]:
            baseline = baselines[params[self.best_index_]["model"]]  # it is the model
            if not baseline.network or self.refit_seeds == 1:
                if report is not None:
                    report.refitting_baseline(baseline.name, _num_samples(run.X))
                return refit_baseline(run.template, baseline, run.X, run.y, run.groups)
        seeds = _refit_seeds(run.template.final.random_state, self.refit_seeds)
        radii, weights, others, other_weights = [], [], [], []
        for index, weight in zip(self.selected_indices_, self.selected_weights_):
            if "model" in params[index]:  # a baseline among the picks ("hedged")
                baseline = baselines[params[index]["model"]]
                if not baseline.network:  # a tree or a linear model: refit once
                    others.append(baseline)
                    other_weights.append(weight)
                    continue
                own = _refit_seeds(baseline.estimator.random_state, self.refit_seeds)
                others += [baseline if seed is _TEMPLATE_SEED else baseline.with_seed(seed)
                           for seed in own]
                other_weights += [weight / len(own)] * len(own)
                continue
            for seed in seeds:
                one = {**params[index], "rho": float(params[index]["rho"]),
                       "epsilon": params[index]["epsilon"].copy()}
                if seed is not _TEMPLATE_SEED:
                    one["random_state"] = seed
                radii.append(one)
                weights.append(weight / len(seeds))
        if report is not None:
            names = [baseline.name for baseline in others]
            for name in dict.fromkeys(names):
                report.refitting_baseline(name, _num_samples(run.X), names.count(name))
            if radii:
                report.refitting(len(radii), _num_samples(run.X), self.refit_seeds)
        with deferred_convergence():
            prefix, members, fitted = run.template.fit_finals_and_baselines(
                radii, others, run.X, run.y, run.groups)
        if report is not None:  # the networks' convergence notes, GroupDRO's included
            report.refitted([model for model, baseline in zip(fitted, others)
                             if baseline.network] + members)
        members, weights = fitted + members, other_weights + weights  # the pick first
        if len(members) == 1:
            final = members[0]
        else:
            ensemble = (EnsembleSelectionClassifier if self._is_classifier
                        else EnsembleSelectionRegressor)
            final = ensemble.from_fitted(members, np.array(weights), groups=run.groups)
        return run.template.with_final(prefix, final)


_TEMPLATE_SEED = object()


def _refit_seeds(random_state, n_seeds):
    """The template's own seed first, then ``n_seeds - 1`` seeds derived from it."""
    if n_seeds == 1:
        return [_TEMPLATE_SEED]
    if random_state is None:
        return [_TEMPLATE_SEED] + [None] * (n_seeds - 1)
    base = random_state if isinstance(random_state, Integral) else None
    rng = check_random_state(base if base is not None else random_state)
    derived = rng.randint(SEED_MAX, size=n_seeds - 1)
    return [_TEMPLATE_SEED] + [int(seed) for seed in derived]


def _posterior_mean(optimizer, records):
    """The GP's posterior mean at every evaluated point (NaN before the GP is fitted)."""
    out = np.full(len(records), np.nan)
    searched = [i for i, r in enumerate(records) if r.x is not None]  # not the baselines
    if not optimizer.models or not searched:
        return out
    points = optimizer.space.transform([list(records[i].x) for i in searched])
    out[searched] = optimizer.models[-1].predict(points)
    return out


def _stack_predictions(records, n_rows):
    """Validation predictions of every record, stacked over splits; NaN where missing."""
    stacked = [np.concatenate([np.asarray(p, dtype=np.float32) for p in r.predictions])
               if r.predictions and None not in r.predictions else None
               for r in records]
    width = next((p.shape[-1] for p in stacked if p is not None), 1)
    return np.stack([p.reshape(n_rows, -1) if p is not None
                     else np.full((n_rows, width), np.nan, dtype=np.float32) for p in stacked])


__all__ = ["PickMixin"]
