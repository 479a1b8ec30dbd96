"""What PerGDROSearchCV tells its user: progress on stdout and one warning summary.

:class:`SearchReport` prints, at ``verbose >= 1``, in scikit-learn's manner
(plain ``print``, no logging handlers):

- a header before any training: the estimator, the space and its bounds, the
  splits, the budget, halving, the batch size and the checkpoint (with how many
  evaluations it restored);
- one line per finished evaluation, as soon as it is scored (also when the
  evaluations come back from parallel workers), with the time elapsed and an
  estimate of the time left; at ``verbose >= 2`` a tqdm bar instead of these lines;
- a line when the refit starts, and a closing line that names the pick, the rule
  and why (for ``"one_se"``: the pick's objective, the lowest one and the threshold).

It also gathers what would otherwise be one warning per candidate: candidates
that reached ``max_iter`` with the loss still improving or whose loss blew up
(the estimators leave a note instead of warning, see
:func:`~.._warnings.deferred_convergence`), and scikit-optimize's "evaluated at
point ... before" and the GP's kernel-fit warnings; :meth:`SearchReport.warn`
issues them as a single ``ConvergenceWarning`` located at the user's ``fit``.
"""

import contextlib
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import _num_samples

from .._constants import DEFAULT_SEARCH_HOLDOUT
from .._progress import progress_bar
from .._warnings import BLEW_UP, NOT_SETTLED, convergence_note, warn_user
from .selection import eligible_rows, erm_row, one_se_threshold, select_best

_NAME = "[PerGDROSearchCV]"
_REPEATED_POINT = "The objective has been evaluated at"


def _seconds(value):
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(int(round(value)), 60)
    return f"{minutes} min {seconds:02d} s"


def _numbers(values, digits=4):
    return "[" + ", ".join(f"{float(v):.{digits}g}" for v in np.ravel(values)) + "]"


def describe_estimator(estimator):
    """``PerGDROClassifier`` or ``Pipeline(standardscaler, pergdroclassifier)``."""
    steps = getattr(estimator, "steps", None)
    if steps is None:
        return type(estimator).__name__
    return f"{type(estimator).__name__}({', '.join(name for name, _ in steps)})"


def describe_space(space):
    """The searched dimensions and their bounds, in words."""
    parts = [f"{name} in [{low:.4g}, {high:.4g}]"
             for name, (low, high) in zip(space.names, space.bounds)]
    text = ", ".join(parts)
    if space.shared_scale:
        text += (f" (epsilon_g = low_g + epsilon_scale * (high_g - low_g), high = "
                 f"{_numbers(space.eps_high)})")
    if "rho" not in space.names:
        text += f", rho fixed at {space.rho_fixed:.4g}"
    return text


def describe_splits(cv, n_splits):
    if isinstance(cv, float):
        return f"1 holdout split ({cv:.0%} of each group for validation)"
    return f"{n_splits} split{'s' if n_splits != 1 else ''}"


class SearchReport:
    """Progress and the warning summary of one ``fit`` of a search.

    Parameters
    ----------
    verbose : int
    n_iter : int
        The evaluations the search will have when done.
    """

    def __init__(self, verbose, n_iter):
        self.verbose = int(verbose)
        self.n_iter = int(n_iter)
        self.start = time.monotonic()
        self.n_restored = 0
        self.n_fresh = 0
        self.lowest = np.inf
        self.not_settled = 0
        self.blew_up = 0
        self.refit_not_settled = 0
        self.refit_blew_up = 0
        self.n_refit = 0
        self.repeated_points = 0
        self.gp_warnings = 0
        self.bar = None
        self.refit_start = None

    def _print(self, text):
        if self.verbose:
            print(f"{_NAME} {text}", flush=True)

    # ---- before training -------------------------------------------------------------
    def header(self, search, run, n_restored):
        """The lines printed before any training."""
        self.n_restored = int(n_restored)
        self.start = time.monotonic()
        finished = [r.mean_objective for r in run.records if np.isfinite(r.mean_objective)]
        self.lowest = float(min(finished, default=np.inf))
        if not self.verbose:
            return
        final = run.template.final
        cv = search.cv if search.cv is not None else DEFAULT_SEARCH_HOLDOUT
        self._print(f"Searching {describe_estimator(search.estimator)} over "
                    f"{describe_space(run.space)}.")
        initial = (f"{min(search.n_initial_points, search.n_iter)} initial from "
                   f"{search.initial_point_generator!r}, ERM first")
        self._print(
            f"{describe_splits(cv, len(run.folds))} of {_num_samples(run.X)} rows; "
            f"{search.n_iter} evaluations ({initial}, then the GP with {search.acq_func}, "
            f"{search.n_points} per round); {final.max_iter} epochs each.")
        factor = search._halving()
        if factor is None:
            halving = "halving off"
        else:
            from .halving import rung_epochs

            rungs = rung_epochs(final.max_iter, float(factor), int(search.halving_rungs))
            halving = (f"halving by {factor:g} at epochs "
                       f"{', '.join(str(r) for r in rungs)}")
        checkpoint = ("no checkpoint" if search.checkpoint is None else
                      f"checkpoint {search.checkpoint}: restored {self.n_restored} "
                      f"evaluation{'s' if self.n_restored != 1 else ''}")
        self._print(f"Batches of up to {search.batch_candidates} candidates trained together, "
                    f"n_jobs={search.n_jobs}; {halving}; {checkpoint}.")
        if self.verbose >= 2:
            self.bar = progress_bar(self.n_iter, "PerGDROSearchCV", unit="candidate",
                                    leave=True)
            if self.bar is not None and self.n_restored:
                self.bar.update(min(self.n_restored, self.n_iter))

    # ---- during the search -----------------------------------------------------------
    def tally(self, splits):
        """A candidate scored on every split in this fit: count its convergence notes."""
        self.n_fresh += 1
        notes = {getattr(s, "convergence", None) for s in splits}
        self.not_settled += NOT_SETTLED in notes
        self.blew_up += BLEW_UP in notes

    def scored(self, row, record):
        """Row ``row`` of ``cv_results_`` was just scored (and saved): show it."""
        if np.isfinite(record.mean_objective):
            self.lowest = min(self.lowest, float(record.mean_objective))
        if not self.verbose:
            return
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(lowest=f"{self.lowest:.5g}")
            return
        done = min(self.n_restored + self.n_fresh, self.n_iter)
        elapsed = time.monotonic() - self.start
        rate = elapsed / max(self.n_fresh, 1)
        dropped = ""
        if record.dropped:
            epochs = min(e for e in record.epochs if e is not None)
            dropped = f" [dropped by halving after {epochs} epochs]"
        width = len(str(self.n_iter))
        self._print(
            f"{done:>{width}}/{self.n_iter} row {row}: rho={record.rho:.4g} "
            f"epsilon={_numbers(record.epsilon)}"
            f"{''.join(f' {k}={v:.4g}' for k, v in record.params.items())}"
            f" objective={record.mean_objective:.5g}"
            f"{dropped} (lowest {self.lowest:.5g}); elapsed {_seconds(elapsed)}, "
            f"about {_seconds(rate * (self.n_iter - done))} left")

    @contextlib.contextmanager
    def optimizer_warnings(self):
        """Count scikit-optimize's repeated-point warnings and the GP's kernel-fit
        ``ConvergenceWarning`` in this block (for the summary); others are issued
        again at the user's call."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for item in caught:
            message = str(item.message)
            if message.startswith(_REPEATED_POINT):
                self.repeated_points += 1
            elif issubclass(item.category, ConvergenceWarning):
                self.gp_warnings += 1
            else:
                warn_user(message, item.category)

    def replaced(self, n_points):
        """``n_points`` proposals were already evaluated and replaced by random points."""
        self.repeated_points += int(n_points)

    # ---- after the search ------------------------------------------------------------
    def close_bar(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def refitting(self, n_networks, n_rows, refit_seeds):
        self.close_bar()
        if self.refit_start is None:  # the refit's first model
            self.refit_start = time.monotonic()
        seeds = f" (refit_seeds={refit_seeds})" if refit_seeds > 1 else ""
        self._print(f"Refitting the pick on all {n_rows} rows: {n_networks} "
                    f"network{'s' if n_networks != 1 else ''}{seeds}.")

    def refitting_baseline(self, name, n_rows, n_networks=1):
        self.close_bar()
        if self.refit_start is None:  # the refit's first model
            self.refit_start = time.monotonic()
        seeds = f" ({n_networks} networks, refit_seeds={n_networks})" if n_networks > 1 else ""
        self._print(f"Refitting the baseline {name!r} on all {n_rows} rows{seeds}.")

    def baselines(self, records):
        """The baselines were scored: one line each."""
        for record in records:
            if np.isfinite(record.mean_objective):
                self.lowest = min(self.lowest, float(record.mean_objective))
            self._print(f"baseline {record.model}: objective {record.mean_objective:.5g}")

    def refitted(self, members):
        """Tally the refit networks' convergence notes."""
        self.n_refit = len(members)
        notes = [convergence_note(m) for m in members]
        self.refit_not_settled = notes.count(NOT_SETTLED)
        self.refit_blew_up = notes.count(BLEW_UP)

    def closing(self, search):
        """The last line: what was picked, by which rule, and why."""
        self.close_bar()
        if not self.verbose:
            return
        total = time.monotonic() - self.start
        refit = ("" if self.refit_start is None
                 else f" (refit {_seconds(time.monotonic() - self.refit_start)})")
        self._print(f"Done in {_seconds(total)}{refit}: {explain_pick(search)}")

    def warn(self, final):
        """One ``ConvergenceWarning`` for everything gathered, or nothing."""
        parts = []
        stopping = getattr(final, "early_stopping", False)
        monitored = {"average": "average", "auto": "monitored"}.get(
            getattr(final, "early_stopping_loss", None), "worst-group")
        what = (f"{monitored} validation loss" if stopping is True else "training loss"
                if not stopping else f"loss (the {monitored} validation loss where early "
                "stopping was on)")
        if self.not_settled:
            parts.append(
                f"{self.not_settled} of {self.n_fresh} candidates evaluated in this fit "
                f"stopped at max_iter={final.max_iter} with the {what} still improving (by "
                f"more than tol={final.tol} within the last "
                f"n_iter_no_change={final.n_iter_no_change} epochs) on some split")
        if self.refit_not_settled:
            parts.append("the refit network stopped the same way" if self.n_refit == 1 else
                         f"{self.refit_not_settled} of the {self.n_refit} refit networks "
                         "stopped the same way")
        if self.not_settled or self.refit_not_settled:
            parts[-1] += (" (the candidates are compared at the same budget; raise max_iter "
                          "or set early_stopping=True for settled networks)")
        blew_up = self.blew_up + self.refit_blew_up
        if blew_up:
            parts.append(f"the training loss blew up in {blew_up} fit"
                         f"{'s' if blew_up != 1 else ''} (lower learning_rate_init or "
                         "standardise the features)")
        if self.repeated_points:
            parts.append(f"the GP proposed {self.repeated_points} point"
                         f"{'s' if self.repeated_points != 1 else ''} it had already "
                         "evaluated; random points were evaluated instead")
        if self.gp_warnings:
            parts.append(f"the GP's kernel fit warned {self.gp_warnings} time"
                         f"{'s' if self.gp_warnings != 1 else ''} (hyperparameters at "
                         "their bounds)")
        if parts:
            warn_user("PerGDROSearchCV: " + "; ".join(parts) + ".", ConvergenceWarning)


def explain_pick(search):
    """The pick in words: candidate, radii, rule and the numbers behind it."""
    results = search.cv_results_
    means = np.asarray(results["mean_test_objective"], dtype=float)
    index = search.best_index_
    params = results["params"][index]
    what = (f"row {index} of cv_results_ (the baseline {params['model']!r})"
            if "model" in params else
            f"row {index} of cv_results_ (rho={float(params['rho']):.4g}, "
            f"epsilon={_numbers(params['epsilon'])})") + f", objective {means[index]:.5g}"
    eligible = eligible_rows(results)
    lowest = select_best(means, eligible)
    rule = search.selection
    if rule in ("paired_se", "hedged"):
        hedged = (" and averaged it with ERM (row "
                  f"{int(search.selected_indices_[1])}) at equal weights"
                  if rule == "hedged" and len(search.selected_indices_) > 1 else "")
        return (f"picked {what} by selection={rule!r}, the most robust candidate within "
                "one paired standard error of the lowest objective "
                f"({means[lowest]:.5g}, row {lowest}) and of the lowest average validation "
                f"loss{hedged}.")
    if rule == "best":
        return f"picked {what}, the lowest objective (selection='best')."
    if rule == "one_se":
        errors = np.nan_to_num(np.asarray(results["std_error_test_objective"], dtype=float))
        erm = erm_row(results, eligible)
        threshold = one_se_threshold(means, errors, eligible, erm)
        because = (f"lowest {means[lowest]:.5g} (row {lowest}) + its standard "
                   f"error {errors[lowest]:.2g}")
        if erm is not None and means[erm] + errors[erm] > means[lowest] + errors[lowest]:
            because = (f"ERM's {means[erm]:.5g} + {errors[erm]:.2g}, above the {because}")
        return (f"picked {what} by selection='one_se', the most robust candidate with an "
                f"objective under the threshold {threshold:.5g} = {because}.")
    if rule == "gp_mean":
        posterior = np.asarray(results["gp_mean_test_objective"], dtype=float)
        return (f"picked {what} by selection='gp_mean', the lowest GP posterior mean "
                f"({posterior[index]:.5g}); the lowest objective is {means[lowest]:.5g} "
                f"(row {lowest}).")
    weights = np.asarray(search.selected_weights_)
    return (f"picked an ensemble of {len(weights)} candidates by selection='ensemble' "
            f"(largest weight {weights.max():.2f}: {what}); the lowest objective is "
            f"{means[lowest]:.5g} (row {lowest}).")


__all__ = ["SearchReport", "describe_estimator", "describe_space", "explain_pick"]
