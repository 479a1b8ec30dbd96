"""PerGDROSearchCV: learn ``rho`` and the per-group radii (the paper's Algorithm 2).

Gaussian-process Bayesian optimisation (scikit-optimize's ``Optimizer``, driven
directly with ask/tell) over the radii of a Per-GDRO estimator. Every candidate is
trained on the training part of each split and scored on the validation part; the
optimiser minimises the mean validation objective across splits.

The pieces live in their own modules: the search space and initial design in
:mod:`_search.space`, the validation splits in :mod:`._splits`, fitting and
scoring in the workers in :mod:`_search.evaluate`, evaluation records in
:mod:`_search.records`, the checkpoint file in :mod:`_search.checkpoint`, what the search
prints in :mod:`_search.report`. This module holds the estimator: ``fit`` sets up,
runs the search with an ``evaluate`` callback, picks the best candidate and refits.
"""

import functools
import os
import time
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _num_samples,
    check_array,
    check_consistent_length,
    validate_data,
)

from .._constants import (
    DEFAULT_BATCH_CANDIDATES,
    DEFAULT_HALVING_FACTOR,
    DEFAULT_HALVING_RUNGS,
    DEFAULT_REFIT_SEEDS,
    DEFAULT_SEARCH_HOLDOUT,
    DEFAULT_SEARCH_OBJECTIVE,
    DEFAULT_SEARCH_SELECTION,
    MIN_ROWS_PER_GROUP,
    SEED_MAX,
)
from .._groups import (
    GROUPS_MISSING_FIX,
    GroupsMissingWarning,
    encode_groups,
    groups_from_fit_kwargs,
    unique_labels,
)
from .._memberships import check_memberships, expand, is_memberships, one_hot_labels
from .._splits import make_folds, make_group_folds
from .._warnings import warn_user
from .baselines import evaluate_baselines, resolve_baselines
from .checkpoint import Checkpoint, hash_folds, search_fingerprint_of
from .delegate import BestEstimatorMixin
from .evaluate import (
    FitResult,
    Scoring,
    SelectionStats,
    build_cv_results,
    resolve_objective,
    safe_key_names,
)
from .loop import SearchLoopMixin
from .pick import PickMixin
from .report import SearchReport
from .selection import PREDICTION_RULES, SELECTIONS
from .space import (
    INITIAL_POINT_GENERATORS,
    SearchSpace,
    check_search_spaces,
    describe_bounds,
    factorial_grid,
    resolve_bounds,
)
from .template import SearchTemplate, take


@dataclass
class _SearchRun:
    """What one call of ``fit`` works on: validated data, space, splits, checkpoint."""

    template: SearchTemplate
    X: object
    y: np.ndarray
    groups: np.ndarray
    labels: np.ndarray
    group_index: np.ndarray
    space: SearchSpace
    folds: list
    scoring: Scoring
    checkpoint: Checkpoint
    records: list
    design_seed: int
    optimizer_seed: int
    report: SearchReport = None
    baselines: list = None


class PerGDROSearchCV(SearchLoopMixin, PickMixin, BestEstimatorMixin, MetaEstimatorMixin,
                      BaseEstimator):
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
    estimator : PerGDROClassifier, PerGDRORegressor or Pipeline
        The template; its ``rho`` and ``epsilon`` are replaced by each candidate's.
        Fix its ``random_state`` for reproducible searches. A Pipeline (Pipelines
        may nest) must end in a Per-GDRO estimator: the radii go to
        ``<step>__rho`` and ``<step>__epsilon``, the transformers are fitted on each
        training part only (once per split for a batch of candidates), and the
        Per-GDRO step receives the transformed rows with their group labels
        whether metadata routing is on or off. The transformers get ``X`` and
        ``y`` only; ``X`` reaches the first step as given (a DataFrame, say). The
        built-in objectives evaluate the Per-GDRO step on the transformed
        validation rows, scorers the whole fitted Pipeline.
    rho_bounds : "auto", (float, float) or skopt.space.Real, default="auto"
        Search range of the inter-group radius. ``low == high`` fixes ``rho``. A
        skopt ``Real`` gives the range and its prior, e.g.
        ``Real(1e-3, 2, prior="log-uniform")`` (the initial grid's levels are then
        even in ``log rho``; a log-uniform prior needs ``low > 0``, so ERM is not
        among the candidates).
        ``"auto"``: from 0 to the divergence (from the training proportions) of a
        mix that puts 99% of the mass on the smallest group; past it a larger
        ball changes nothing (for KL about ``log(n / n_min)``).
    epsilon_bounds : "auto", (float, float), array-like of shape (n_groups, 2), dict or \
skopt.space.Real, default="auto"
        Search ranges of the within-group radii: one pair for every group (one
        dimension per group), one pair per group in ``groups_`` order, or
        ``{label: (low, high)}`` (groups not named are fixed at 0). A pair with
        ``low == high`` fixes that group's radius. ``"auto"`` measures them in the
        data's own scale, on the first split's training rows as the Per-GDRO step
        sees them (after a Pipeline's transformers): group ``g`` gets
        ``(0, gap_g * sqrt(n_min / n_g))``, where ``gap_g`` is the mean distance
        from the group's rows to the nearest row of another class, capped at half
        the distance between the two closest class means (beyond it a per-sample
        adversary carries a typical row onto the other class and training
        collapses), and ``sqrt(n_min / n_g)`` widens the ball of small groups,
        whose empirical distribution is the least certain (regression targets are
        split at their median for the gap). The resolved bounds are
        ``rho_bounds_`` and ``epsilon_bounds_``. A skopt ``Real`` is one range for
        every group, searched with its prior.
    search_spaces : dict or None, default=None
        Parameters of the Per-GDRO estimator (the last step of a Pipeline, named
        with or without the Pipeline's ``<step>__`` prefix) searched beside the
        radii: ``{"alpha": Real(1e-5, 1e-1, prior="log-uniform"),
        "learning_rate_init": Real(1e-4, 1e-2, prior="log-uniform"),
        "batch_size": Integer(32, 256)}`` (skopt ``Real`` or ``Integer``
        dimensions; ``rho`` and ``epsilon`` keep their bounds). The dimensions come
        after the radii's in ``dimension_names_``, in name order; the values are in
        ``cv_results_["param_<name>"]``, ``params`` and ``best_params_``, and the
        refit uses them. Candidates that differ only in the radii and ``alpha`` train
        together as one batched network; any other parameter splits the batches:
        candidates that share its value train together (the initial grid's
        levels), the GP's proposals, which all differ, train one by one, so such a
        search is slower per candidate (``verbose`` says so).
    shared_epsilon : bool, default=True
        Search one radius dimension for all groups instead of one per group. When
        the varying groups have different bounds the dimension is a scale ``s`` in
        [0, 1] with ``epsilon_g = low_g + s * (high_g - low_g)``: with the default
        bounds, every group's radius is the same fraction of its own range. Fewer
        dimensions leave the pick less room for validation noise (see
        :ref:`search_bounds`); ``False`` searches each group's radius separately.
    objective : str or callable, default="worst_group_loss"
        What the search minimises on the validation rows:

        - ``"worst_group_loss"`` (default): the largest per-group clean validation
          loss. Chosen from the benchmarks (:ref:`benchmarks_objective`): on the
          data where groups matter it picked better radii than Eq. (9);
        - ``"robust"``: Eq. (9), the fitted model's ``robust_risk`` with the
          candidate's ``rho`` and radii, validation proportions as nominal. For a
          fixed model it grows with the radii, so it tends to favour small radii
          (in the benchmarks it nearly always returned ``rho = 0, epsilon = 0``);
        - ``"worst_group_error"``: one minus the worst group accuracy
          (classifiers), the worst group mean squared error (regressors);
        - any other name of ``pergdro_sklearn.metrics.GROUP_METRICS``
          (``"worst_group_accuracy"``, ``"worst_group_mse"``,
          ``"worst_group_log_loss"``): one registry of names, so a name means the
          same here as in :func:`pergdro_sklearn.metrics.get_scorer` (the search
          minimises the metric, or its negative when greater is better, i.e. the
          negated scorer);
        - a scorer: a name of :func:`sklearn.metrics.get_scorer`, or a callable
          ``scorer(estimator, X, y)`` or ``scorer(estimator, X, y, groups=...)``.
          Scorers are maximised (their negative is minimised).

        A non-finite objective is handed to the optimiser as
        ``NONFINITE_SCORE_PENALTY`` (1e6); ``cv_results_`` shows the true value.
    scoring : str, callable or None, default=None
        ``objective`` in scikit-learn's words, for users of ``GridSearchCV``: a
        name of ``pergdro_sklearn.metrics.GROUP_METRICS`` (e.g.
        ``"worst_group_accuracy"``), a scorer of
        :func:`pergdro_sklearn.metrics.get_scorer` (searched as its name), a name of
        :func:`sklearn.metrics.get_scorer` or a callable scorer. The search
        minimises ``-score`` for scores (greater is better) and the value itself
        for the losses and errors of the registry, exactly as with ``objective``;
        ``None`` uses ``objective``. Setting both ``scoring`` and a non-default
        ``objective`` is an error.
    selection : {"hedged", "paired_se", "one_se", "best", "gp_mean", "ensemble"}, \
            default="hedged"
        How the final radii are picked from the evaluated candidates; validation
        noise makes the lowest objective mostly luck once many candidates are
        evaluated (:ref:`search_selection`; :ref:`benchmarks_selection` measures
        the rules):

        - ``"hedged"`` (default): the pick of ``"paired_se"`` and ERM (the
          network with zero radii) averaged with equal weights; the pick alone
          when it is ERM, when its worst-group validation objective beats ERM's
          by more than two paired standard errors, or when its validation error
          rate (regressors: average loss) does while its worst-group objective is
          within one paired standard error of ERM's. Validation rows are drawn like
          the training rows, so no rule sees the shift a test set may hold: where
          validation cannot tell the pick from ERM, the average goes half-way from
          ERM to it, halving what a wrong pick costs. ``best_estimator_``'s
          final step is then an :class:`EnsembleSelectionClassifier` (or
          ``...Regressor``) of the two refit models, and ``best_params_`` those of
          the pick;
        - ``"paired_se"``: the most robust candidate (the largest radii
          relative to their bounds; ERM and the baselines count as not robust)
          whose validation objective is within one *paired* standard error of the
          lowest objective and whose average validation loss is within one paired
          standard error of the lowest average loss, baselines included. The
          differences are taken row by row on the same validation rows and their
          standard errors come from a bootstrap of those rows within each group.
          Robustness is bought only where validation cannot show that it costs
          the worst group or the average anything; when the models of
          ``baselines`` are clearly better, one of them is picked;
        - ``"one_se"``: among the candidates whose mean objective is
          within one standard error of the lowest, or of ERM's, the most robust one
          (the largest radii relative to their bounds): validation cannot show that
          it costs anything against the best candidate or against no robustness.
          The standard error comes from the worst group's validation rows
          (built-in per-group objectives) or the spread over splits (other
          objectives; with one split and a scorer the rule is ``"best"``);
        - ``"best"``: the lowest mean objective;
        - ``"gp_mean"``: the evaluated candidate with the lowest GP posterior mean
          (scikit-optimize's ``expected_minimum``, restricted to evaluated points);
        - ``"ensemble"``: greedy ensemble selection with replacement (Caruana et
          al., 2004) on the candidates' validation predictions; the final network
          of ``best_estimator_`` is an :class:`EnsembleSelectionClassifier` (or
          ``...Regressor``) of the selected candidates refit on all the data,
          weighted by how often each was selected.

        Failed candidates, non-finite objectives and candidates whose validation
        predictions collapsed to one class (a constant, for regressors) are never
        picked, unless every candidate collapsed: then the rule picks among the
        fully trained ones with a finite objective and a ``UserWarning`` says so.
        ERM (``rho = 0``, ``epsilon = 0``, the lowest corner of the bounds) is always
        the first candidate, and a pick that scores worse than it on validation by
        more than its standard error gives a ``UserWarning``.
    refit_seeds : int, default=3
        Each picked network is refit this many times, with the estimator's
        ``random_state`` and seeds derived from it, and ``best_estimator_``
        averages the networks' predictions (an :class:`EnsembleSelectionClassifier`
        or ``...Regressor``, the networks of one candidate sharing its weight
        equally): a network's seed moves its worst group by several points, and the
        average is steadier (:ref:`benchmarks_refit_seeds`), at the cost of one fit
        per seed. ``1`` refits one network, the estimator itself. A picked GroupDRO
        baseline (a network too) is averaged over the same seeds; a picked tree or
        linear model is refit once. Over a Pipeline the average is
        the Pipeline's final step (see ``best_estimator_``).
    n_iter : int, default=16
        Number of candidates evaluated (initial points included; the baselines
        come on top). The default, with ``n_points=8``, is two batched rounds.
    n_initial_points : int, default=8
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
    n_points : int, default=8
        Candidates proposed per round (constant liar, ``"cl_min"``) and trained
        together as one batched network; ``1`` refits the GP after every candidate
        (more informed proposals, each trained alone).
    n_jobs : int, default=None
        Parallel jobs over (candidate, split) fits through joblib; a
        ``joblib.parallel_backend("dask")`` context runs them on a Dask cluster.
    checkpoint : str or path-like, default=None
        JSON file where every evaluation is saved atomically as soon as it is scored
        on every split; a split's score that is final earlier (a candidate that
        successive halving dropped at a rung, or one split of several) goes at once
        to its journal ``<checkpoint>.journal``, so a kill loses only the training in
        flight. Fitting again with the same arguments and data resumes: the saved
        rounds are replayed to the optimiser, so it proposes what the uninterrupted
        search would have, no saved point is evaluated again and no journaled score
        is trained again (halving's batches are rebuilt as they were). The path is
        resolved first (``os.path.realpath``): a symlink or another path to the same
        file is the same checkpoint, and a save replaces the file the link points to,
        never the link. Saves keep the file's mode; a new checkpoint gets the mode
        ``open`` gives a new file (``0o666`` less the umask). While a search runs it
        holds a lock on the checkpoint (``<checkpoint>.lock``, next to the resolved
        file): a second search on it is refused with a ValueError before training.
        The file is validated before any training (errors name the record). A
        checkpoint of a different search (another fingerprint of the arguments and
        data) is an error. ``n_iter``, ``n_points``,
        ``n_jobs``, ``verbose``, ``callbacks``, ``max_time``, ``refit``,
        ``refit_seeds`` and ``selection`` may change between runs, so a finished
        search can be extended with a larger ``n_iter`` or picked again with another
        rule (``"ensemble"`` needs the validation predictions, saved only by a
        search run with it).
    refit : bool, default=True
        Refit the best candidate on all the data as ``best_estimator_``.
    random_state : int, RandomState instance or None, default=None
        Seeds the splits, the initial points and the optimiser. With a checkpoint,
        a resumed search reuses the seed saved in it.
    verbose : int, default=0
        ``1`` prints to stdout, as scikit-learn's searches do: a header before any
        training (the estimator, the space and its bounds, the splits, the budget,
        halving, the batch size, the checkpoint and how many evaluations it
        restored), one line per evaluation as soon as it is scored (its radii and
        objective, the lowest objective so far, the time elapsed and an estimate of
        the time left), a line when the refit starts and a closing line naming
        the pick, the rule and why (for ``"one_se"``: the threshold, from the lowest
        objective or ERM's, and their standard errors). ``2`` shows a tqdm bar of
        the evaluations instead of their lines. The networks' own ``verbose``
        prints their epochs.

        Warnings: the candidate fits and the refit do not warn one by one; one
        ``ConvergenceWarning`` at the end of ``fit`` sums up the candidates that
        reached ``max_iter`` with the loss still improving or whose loss blew up,
        and the GP's proposals of points it had already evaluated.
    callbacks : callable or list of callables, default=None
        skopt-style callbacks, called with the optimiser's ``OptimizeResult`` after
        each round; one returning True stops the search.
    max_time : float, default=None
        Time budget in seconds for this call of ``fit``, checked after each round.
    error_score : "raise" or float, default=np.nan
        Objective value recorded in ``cv_results_`` for a (candidate, split) whose
        fit or scoring fails, with a ``FitFailedWarning``; ``"raise"`` raises
        instead. An error score never wins: a candidate that failed on any split is
        never ``best_``, ranks last in ``rank_test_objective`` and is told to the
        optimiser as ``NONFINITE_SCORE_PENALTY``, even when ``error_score`` (say 0)
        is better than every real objective.
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
    halving_factor : float > 1, "auto" or None, default="auto"
        Successive halving within each batch of candidates (needs ``batch_candidates >= 2``;
        ``"auto"`` is 3 when it is, else None): the batch trains together for the first
        rung's epochs and is scored on the validation rows; then the batch is cut by
        robustness into ``ceil(n / halving_factor)`` strata of candidates with similar
        radii, and the best of each stratum trains on, with ERM (always kept) and, for
        ``selection="one_se"``, every candidate within one standard error of the best (that
        rule's band), rung by rung, to ``max_iter``. Comparing like with like matters: large
        radii train more slowly, so a plain early ranking drops the robust candidates the
        pick would choose. A dropped candidate is recorded with the objective it reached
        (``cv_results_["dropped"]`` and ``["n_epochs"]``); the GP learns from that value,
        and a dropped candidate is never picked. Each job's batch is halved on its own, and
        with several splits each split on its own. ``None``: every candidate trains for
        ``max_iter`` epochs (or until its early stopping).
    baselines : "auto", None or list, default="auto"
        Models a user would pick instead, fitted on the training part of every
        split and scored on the validation part like the candidates (the
        optimiser never sees them): ``"group_dro"`` (the package's GroupDRO with
        the searched network's architecture and training parameters),
        ``"hist_gradient_boosting"`` (scikit-learn's default
        ``HistGradientBoostingClassifier`` or ``...Regressor``, seeded by the
        estimator's ``random_state``), ``"hist_gradient_boosting_balanced"`` (the
        same with ``sample_weight`` giving every group the same total weight)
        and ``"linear"`` (``LogisticRegression(max_iter=1000)`` or ``Ridge()``).
        ``"auto"`` is all four with the built-in per-group objectives (without the
        trees where the rows they would see are sparse, a Pipeline's output
        included), and none with ``objective="robust"`` (which only
        Per-GDRO networks have) or a scorer (which may read a Per-GDRO
        estimator's attributes; list the baselines to compare them); a list takes
        those names and ``(name, estimator)`` pairs (fitted with ``fit(X, y)``,
        or with ``groups=`` for the package's estimators). They are rows of
        ``cv_results_`` after the candidates, named by ``param_model`` (the
        candidates' is ``"per_gdro"``) with NaN radii. ``selection`` may pick
        one: then ``best_params_`` is ``{"model": name}`` and ``best_estimator_``
        that model refit on all the rows (inside the Pipeline's transformers,
        if any; a network baseline, GroupDRO, averaged over ``refit_seeds``
        seeds). ``None``: the candidates only. ``"ensemble"`` ignores them.
    halving_rungs : int, default=3
        Rungs of successive halving: rung ``k`` (from 0) ends after
        ``ceil(max_iter / halving_factor ** (halving_rungs - 1 - k))`` epochs, so
        with ``max_iter=100`` and a factor of 3: 12, 34 and 100 epochs.

    Attributes
    ----------
    best_params_ : dict
        ``{"rho": float, "epsilon": ndarray of shape (n_groups,)}``, radii in
        ``groups_`` order, and the values of ``search_spaces``' parameters; or
        ``{"model": name}`` when a baseline was picked.
    best_index_ : int
        Row of ``cv_results_`` of the picked candidate (for ``"ensemble"``, its
        member with the largest weight).
    selected_indices_ : ndarray of int
        Rows of ``cv_results_`` the selection picked (several for ``"ensemble"``;
        for ``"hedged"`` the pick, then ERM).
    selected_weights_ : ndarray of float
        Their weights in ``best_estimator_`` (summing to 1).
    rho_bounds_ : (float, float)
        The searched range of ``rho`` (resolved from ``"auto"``).
    epsilon_bounds_ : ndarray of shape (n_groups, 2)
        The searched ranges of the radii, ``groups_`` order.
    validation_predictions_ : ndarray of shape (n_candidates, n_rows, n_columns) or None
        Each candidate's validation predictions (probabilities or values), kept
        for ``selection="hedged"``, ``"paired_se"`` and ``"ensemble"`` only.
    best_objective_ : float
        Its mean validation objective (lower is better).
    best_score_ : float
        ``-best_objective_``: greater is better, as in scikit-learn. For a scorer
        objective this is the scorer's mean value; for the loss objectives it is the
        negated loss.
    best_estimator_ : estimator
        The pick refit on all the data (``refit=True`` only), an estimator of the
        searched kind. Without a Pipeline: the Per-GDRO estimator itself
        (``refit_seeds=1`` and one picked network) or an
        :class:`EnsembleSelectionClassifier` (or ``...Regressor``) averaging the
        refit networks, each reachable in its
        ``estimators_``. Over a Pipeline: a fitted clone of the Pipeline (nested
        Pipelines kept), its transformers fitted once on all the rows and its final
        step the network or that average, so ``best_estimator_.named_steps``,
        ``best_estimator_[:-1].transform(X)``, ``best_estimator_[-1].groups_`` and
        ``best_estimator_[-1].estimators_[0].loss_curve_`` work.
    refit_time_ : float
    cv_results_ : dict of ndarray
        One row per evaluated candidate, in evaluation order; ``pandas.DataFrame``
        reads it. Keys: ``params``, ``param_model``, ``param_rho``, ``param_epsilon_<label>``,
        ``param_<name>`` (each parameter of ``search_spaces``),
        ``split<k>_test_objective``, ``mean_test_objective``, ``std_test_objective``,
        ``rank_test_objective`` (1 = lowest); the same in scikit-learn's meaning,
        where greater is better: ``split<k>_test_score``, ``mean_test_score``,
        ``std_test_score`` (``test_score = -test_objective``, the scorer's own value
        for a scorer objective) and ``rank_test_score`` (1 = best, equal to
        ``rank_test_objective``); ``mean_fit_time``, ``std_fit_time``,
        ``mean_score_time``, ``std_score_time``, ``mean_val_loss_<label>`` (clean
        validation loss per group), ``mean_val_accuracy_<label>`` (classifiers) or
        ``mean_val_mse_<label>`` (regressors), ``is_initial_point``,
        ``std_error_test_objective`` (standard error of the mean objective; NaN
        when unknown), ``collapsed``, ``failed``,
        ``gp_mean_test_objective`` (the GP's posterior mean at the candidate),
        ``dropped`` (stopped early by successive halving), ``n_epochs`` (epochs
        trained; ``max_iter`` unless dropped; a dropped candidate's objective is the
        one it reached then). In keys, ``<label>`` is the group label made safe
        for a column name: every run of characters other than letters, digits and
        ``_`` becomes one ``_`` (``"Native American"`` gives
        ``mean_val_loss_Native_American``), and labels that would then collide get
        ``_2``, ``_3``, ... in ``groups_`` order; ``group_key_names_`` maps each
        label to its key.
    optimizer_result_ : scipy.optimize.OptimizeResult
        skopt's result (``x_iters``, ``func_vals``, ``space``, ``models``), usable with
        ``skopt.plots``. ``func_vals`` hold the penalised objective.
    optimizer_results_ : list of scipy.optimize.OptimizeResult
        ``[optimizer_result_]``, as ``BayesSearchCV`` names it (one search space):
        ``skopt.plots.plot_convergence(search.optimizer_results_)`` works.
    dimension_names_ : list of str
        The searched dimensions.
    group_key_names_ : dict
        Group label -> the name it has in the keys of ``cv_results_``.
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

    ``fit`` follows scikit-learn's ``BaseSearchCV.fit``: set up, run the search
    with an ``evaluate`` callback (:meth:`_run_search`), pick the best candidate
    (:meth:`_select`), refit. The class does not inherit ``BaseSearchCV`` because
    its candidates are not a list of parameter dicts known in advance: they are
    points of a continuous space that the GP proposes round by round from every
    earlier result, mapped to per-group radii in the order of the groups found in
    the data. Its evaluation also differs from ``BaseSearchCV``'s
    ``_fit_and_score``: ``groups`` reach every inner fit whether metadata routing
    is on or off, the candidates of a round train together as one batched
    network, the objective may need the candidate's own radii (Eq. 9), every
    evaluation is saved to a resumable checkpoint, and the per-group validation
    numbers go into ``cv_results_``.

    Examples
    --------
    >>> from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> data = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
    >>> search = PerGDROSearchCV(
    ...     PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    ...     n_iter=5, n_initial_points=3, random_state=0)
    >>> search = search.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> search.dimension_names_
    ['rho', 'epsilon_scale']
    >>> search.epsilon_bounds_.shape
    (4, 2)
    >>> float(search.cv_results_["param_rho"][0])  # ERM is always the first candidate
    0.0
    >>> models = list(search.cv_results_["param_model"])  # candidates, then baselines
    >>> models.count("per_gdro"), models[5:7]
    (5, ['group_dro', 'hist_gradient_boosting'])
    >>> sorted(search.best_params_) in (["epsilon", "rho"], ["model"])  # radii or a baseline
    True
    >>> search.predict(data.X_test[:3]).shape
    (3,)
    """

    # Functions extra(candidate, X_val, y_val, groups_val) -> dict run in the workers
    # on every fitted candidate; what they return is kept in EvaluationRecord.extra
    # (a hook for subclasses; the package's own picks use the typed fields).
    _worker_extras = ()

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        "rho_bounds": [StrOptions({"auto"}), "array-like", HasMethods(["rvs", "transform"])],
        "epsilon_bounds": [StrOptions({"auto"}), "array-like", dict,
                           HasMethods(["rvs", "transform"])],
        "search_spaces": [dict, None],
        "shared_epsilon": ["boolean"],
        "objective": [str, callable],
        "scoring": [str, callable, None],
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
        "halving_factor": [Interval(Real, 1, None, closed="neither"), StrOptions({"auto"}),
                           None],
        "baselines": [StrOptions({"auto"}), list, tuple, None],
        "halving_rungs": [Interval(Integral, 2, None, closed="left")],
        "selection": [StrOptions(set(SELECTIONS))],
        "refit_seeds": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, *, rho_bounds="auto", epsilon_bounds="auto",
                 shared_epsilon=True, objective=DEFAULT_SEARCH_OBJECTIVE, scoring=None,
                 selection=DEFAULT_SEARCH_SELECTION, refit_seeds=DEFAULT_REFIT_SEEDS, n_iter=16,
                 n_initial_points=8,
                 initial_point_generator="grid", acq_func="EI", acq_optimizer="auto",
                 acq_func_kwargs=None, acq_optimizer_kwargs=None, cv=DEFAULT_SEARCH_HOLDOUT,
                 n_points=8, n_jobs=None,
                 checkpoint=None, refit=True, random_state=None, verbose=0, callbacks=None,
                 max_time=None, error_score=np.nan, batch_candidates=DEFAULT_BATCH_CANDIDATES,
                 gp_refit_every=1, halving_factor="auto",
                 halving_rungs=DEFAULT_HALVING_RUNGS, search_spaces=None, baselines="auto"):
        self.estimator = estimator
        self.baselines = baselines
        self.search_spaces = search_spaces
        self.halving_factor = halving_factor
        self.halving_rungs = halving_rungs
        self.batch_candidates = batch_candidates
        self.gp_refit_every = gp_refit_every
        self.rho_bounds = rho_bounds
        self.epsilon_bounds = epsilon_bounds
        self.shared_epsilon = shared_epsilon
        self.objective = objective
        self.scoring = scoring
        self.selection = selection
        self.refit_seeds = refit_seeds
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

    # ---- fit -----------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, **kwargs):
        """Search the radii, then refit the best candidate on all the data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A sparse matrix is used as CSR, as the estimator uses it.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        groups : array-like of shape (n_samples,), default=None
            Group label of each row; ``None`` means one group. Every inner fit gets
            its rows' labels whether metadata routing is on or off.
        **kwargs : dict
            Only ``sensitive_features`` (array-like of shape (n_samples,)): an alias of
            ``groups`` (fairlearn's name) for direct calls; passing both is an error.
            Metadata routing knows the name ``groups`` only.

        Returns
        -------
        self : object
        """
        run = self._setup(X, y, groups_from_fit_kwargs(groups, kwargs, type(self).__name__))
        run.report = SearchReport(self.verbose, self.n_iter)
        run.report.header(self, run, len(run.records))
        evaluate = functools.partial(self._evaluate_candidates, run=run)
        try:
            records, optimizer = self._run_search(evaluate, run)
        finally:
            run.checkpoint.release()
            run.report.close_bar()
        baseline_records = evaluate_baselines(run.template, run.baselines, run.X, run.y,
                                              run.groups, run.folds, run.scoring,
                                              n_jobs=self.n_jobs)
        run.report.baselines(baseline_records)
        records = list(records) + baseline_records

        self.cv_results_ = build_cv_results(records, run.labels, len(run.folds),
                                            self._is_classifier, run.template.final.max_iter)
        self.group_key_names_ = dict(zip(run.labels.tolist(), safe_key_names(run.labels)))
        self.optimizer_result_ = optimizer.get_result()
        self.optimizer_results_ = [self.optimizer_result_]
        self.dimension_names_ = list(run.space.names)
        self.groups_ = run.labels
        self.n_splits_ = len(run.folds)
        self.rho_bounds_ = run.space.rho_bounds
        self.epsilon_bounds_ = run.space.epsilon_bounds
        self.selected_indices_, self.selected_weights_ = self._select(records, run, optimizer)
        self.best_index_ = int(self.selected_indices_[np.argmax(self.selected_weights_)])
        self.best_objective_ = float(self.cv_results_["mean_test_objective"][self.best_index_])
        self.best_score_ = -self.best_objective_
        best = self.cv_results_["params"][self.best_index_]
        self.best_params_ = (dict(best) if "model" in best else
                             {**best, "rho": float(best["rho"]),
                              "epsilon": best["epsilon"].copy()})
        self._warn_if_worse_than_erm()

        for stale in ("best_estimator_", "refit_time_"):
            self.__dict__.pop(stale, None)
        if self.refit:
            start = time.perf_counter()
            self.best_estimator_ = self._refit(run)
            self.refit_time_ = time.perf_counter() - start
        run.report.closing(self)
        run.report.warn(run.template.final)
        return self

    # ---- set up --------------------------------------------------------------------
    def _setup(self, X, y, groups):
        """Validate, build the space, resume the checkpoint, make the splits."""
        template = SearchTemplate(self.estimator)
        self._is_classifier = is_classifier(self.estimator)
        self._callbacks()  # fail early on bad callbacks
        if self.halving_factor not in (None, "auto") and self.batch_candidates < 2:
            raise ValueError(
                f"halving_factor={self.halving_factor} halves batches of candidates trained "
                "together, but batch_candidates=1 trains each alone; set batch_candidates "
                ">= 2 or halving_factor=None.")
        objective_name, scorer = resolve_objective(self._objective())
        X, y, classes_index = self._check_data(X, y, template)
        groups_given = groups is not None
        split_groups = None  # memberships: the splits and auto bounds read their rows
        if is_memberships(groups) and one_hot_labels(groups) is None:
            memberships = check_memberships(groups, _num_samples(X))
            labels, group_index = memberships.names, memberships.dominant_index()
            split_groups = memberships
        else:
            labels, group_index, _ = encode_groups(groups, _num_samples(X))
            groups = labels[group_index]
        extra = check_search_spaces(self.search_spaces, template.final.get_params(deep=False),
                                    template.path)
        bounds = describe_bounds(self.rho_bounds, self.epsilon_bounds, self.shared_epsilon,
                                 labels, groups_given, extra)
        self._say_what_cannot_batch(template, extra)
        if not groups_given and (bounds["rho"] == "auto" or bounds["rho"][1] > 0):
            warn_user(
                f"{type(self).__name__} was fitted without groups: every candidate trains on "
                f"one group, so searching rho ({bounds['rho']}) has no effect. "
                + GROUPS_MISSING_FIX.replace("estimator.set_fit_request", "search.set_fit_request"),
                GroupsMissingWarning)
        checkpoint = Checkpoint(self.checkpoint)
        search_fingerprint = search_fingerprint_of(
            self, X, y, labels, group_index if split_groups is None else  # every membership
            np.ascontiguousarray(split_groups.matrix).view(np.int64).ravel(), bounds, template)
        state = checkpoint.load(search_fingerprint)  # locks it until fit ends
        group_names = [str(g) for g in labels.tolist()]
        try:
            if state is None:
                seed = int(check_random_state(self.random_state).randint(SEED_MAX))
            else:  # the header first: the seed makes the splits
                checkpoint.validate(state, state.get("dimensions") or [], None, group_names,
                                    n_splits=None)
                seed = state["seed"]
            split_seed, design_seed, optimizer_seed = np.random.RandomState(seed).randint(
                SEED_MAX, size=3)
            if split_groups is None:
                folds = make_folds(self.cv, X, y, groups, labels, group_index, classes_index,
                                   int(split_seed))
                bound_data = (X, y, group_index, folds[0][0])
            else:  # stratified by each row's set of groups; bounds on the (row, group) pairs
                strata_labels, strata = np.unique(split_groups.strata(), return_inverse=True)
                folds = make_folds(self.cv, X, y, labels[group_index], strata_labels,
                                   strata.reshape(-1), classes_index, int(split_seed))
                pair_rows, pair_index, _ = expand(split_groups.matrix)
                bound_data = (take(X, pair_rows), np.asarray(y)[pair_rows], pair_index,
                              np.flatnonzero(np.isin(pair_rows, folds[0][0])))
            folds_hash = hash_folds(folds)
            checkpoint.check_folds(state, folds_hash)
            space = SearchSpace(*resolve_bounds(bounds, bound_data[0], bound_data[1], template,
                                                labels, bound_data[2], bound_data[3],
                                                self._is_classifier),
                                self.shared_epsilon, labels, priors=bounds.get("priors"),
                                extra=extra)
            if space.n_dims == 0:
                raise ValueError("Nothing to search: every bound pair has low == high. Fit "
                                 "the estimator with those radii instead.")
            checkpoint.validate(state, space.names, space.bounds, group_names, len(folds))
            checkpoint.check_predictions(state, self.selection)
            baselines = resolve_baselines(
                None if objective_name in ("robust", "scorer") and self.baselines == "auto"
                else self.baselines, template.final, sparse=sp.issparse(X))
            if baselines and objective_name == "robust":
                raise ValueError(
                    "objective='robust' is the Per-GDRO risk of Eq. (9), which only the "
                    "package's Per-GDRO networks have: baselines cannot be scored by it. "
                    "Use baselines=None or another objective.")
        except BaseException:
            checkpoint.release()
            raise
        checkpoint.start(fingerprint=search_fingerprint, seed=seed, folds_hash=folds_hash,
                         dimensions=space.names, groups=[str(g) for g in labels.tolist()])
        selection = SelectionStats(objective_name, self._is_classifier, labels,
                                   self.selection in PREDICTION_RULES)
        scoring = Scoring(objective_name, scorer, self._is_classifier, self.error_score, labels,
                          selection=selection, extras=tuple(self._worker_extras))
        return _SearchRun(template, X, y, groups, labels, group_index, space, folds, scoring,
                          checkpoint, [] if state is None else list(state["evaluations"]),
                          int(design_seed), int(optimizer_seed), baselines=baselines)

    def _check_data(self, X, y, template):
        """Validated ``X``, ``y`` and, for classifiers, each row's class position.

        A Pipeline gets ``X`` as given (a DataFrame with string columns, say); its
        steps validate it.
        """
        if template.is_pipeline:
            X, y = validate_data(self, X, y, skip_check_array=True)
            y = check_array(y, ensure_2d=False, dtype=None if self._is_classifier else "numeric")
            check_consistent_length(X, y)
        else:
            X, y = validate_data(self, X, y, dtype=np.float64, accept_sparse="csr",
                                 multi_output=not self._is_classifier,
                                 y_numeric=not self._is_classifier)
        if _num_samples(X) < MIN_ROWS_PER_GROUP + 1:
            raise ValueError(
                f"Found n_samples = {_num_samples(X)}: too few rows to split into training "
                "and validation parts."
            )
        classes_index = None
        if self._is_classifier:
            classes, classes_index = unique_labels(y, "y")
            check_classification_targets(y)
            if classes.shape[0] < 2:
                raise ValueError(
                    f"The target has only one class ({classes.tolist()}); a classifier needs "
                    "at least two."
                )
        return X, y, classes_index

    def _objective(self):
        """What the search minimises: ``scoring`` when given, else ``objective``."""
        if self.scoring is None:
            return self.objective
        if self.objective != DEFAULT_SEARCH_OBJECTIVE:
            raise ValueError(
                f"Both scoring={self.scoring!r} and objective={self.objective!r} are set; "
                "they name the same thing (scoring in scikit-learn's words): give one.")
        return self.scoring

    def _say_what_cannot_batch(self, template, extra):
        """With ``verbose``, name the searched parameters that split batches of candidates."""
        apart = [name for name, _ in extra
                 if name not in getattr(template.final, "_batchable_params", ())]
        if apart and self.verbose and self.batch_candidates > 1:
            print(f"[PerGDROSearchCV] candidates that differ in {apart} cannot train as one "
                  "batched network: only those sharing these values are batched (the initial "
                  "grid's levels), the GP's proposals train one by one.", flush=True)

    def _halving(self):
        """The halving factor in use: ``halving_factor``, with ``"auto"`` resolved."""
        if self.halving_factor == "auto":
            return DEFAULT_HALVING_FACTOR if self.batch_candidates >= 2 else None
        return self.halving_factor

    def _callbacks(self):
        if self.callbacks is None:
            return []
        callbacks = list(self.callbacks) if isinstance(self.callbacks, (list, tuple)) else [
            self.callbacks]
        for callback in callbacks:
            if not callable(callback):
                raise ValueError(f"callbacks must be callables, got {callback!r}.")
        return callbacks


__all__ = ["FitResult", "PerGDROSearchCV", "factorial_grid", "make_group_folds"]
