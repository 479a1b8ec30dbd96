"""The search's candidates: validation objective with error bars, pick and ERM marked."""

import numpy as np

from .._search.selection import epsilon_matrix, erm_row, robustness
from ._base import make_axes, require


class SearchCandidatesDisplay:
    """Every evaluated candidate of a search, the pick and ERM marked.

    Each candidate is a point at its mean validation objective (lower is better)
    with an error bar of one standard error: the search's own estimate from the
    worst group's validation rows where it has one (``std_error_test_objective``),
    else the spread over splits. The default x axis is the candidate's robustness,
    how far its radii reach into the search box (``rho / rho_high`` plus the mean
    of ``epsilon_g / high_g``, from 0 for ERM to 2 for the far corner), so the
    picture shows what robustness cost on validation. Failed and collapsed
    candidates are drawn as grey crosses at the top (never picked).

    Use :meth:`from_search`; the constructor takes the numbers.

    Parameters
    ----------
    x : ndarray of shape (n_candidates,)
    objective : ndarray of shape (n_candidates,)
    error : ndarray of shape (n_candidates,)
    pick : int
        Position of the pick (``best_index_``).
    erm : int or None
        Position of ERM (``rho = 0``, every ``epsilon = 0``).
    excluded : ndarray of bool, default=None
        Candidates that can never be picked (failed, collapsed, dropped).
    x_label, y_label : str, default=None
    baselines : dict or None, default=None
        ``{name: objective}`` of the search's baselines (rows of ``cv_results_``
        after the candidates), drawn as horizontal lines; their rows of ``x`` and
        ``objective`` are not drawn as points.

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    errorbar_ : matplotlib ErrorbarContainer
        The eligible candidates.
    pick_, erm_ : matplotlib Line2D
        The markers of the pick and of ERM (``erm_`` is None without ERM); when a
        baseline is the pick, ``pick_`` is its line.
    baseline_lines_ : dict
        ``{name: Line2D}`` of the baselines.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> from pergdro_sklearn.plotting import SearchCandidatesDisplay
    >>> data = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
    >>> search = PerGDROSearchCV(
    ...     PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    ...     n_iter=5, n_initial_points=3, refit=False, random_state=0)
    >>> search = search.fit(data.X_train, data.y_train, groups=data.groups_train)
    >>> display = SearchCandidatesDisplay.from_search(search)
    >>> display.ax_.get_xlabel()
    'robustness (0 = ERM)'
    """

    def __init__(self, x, objective, error, pick, erm=None, *, excluded=None, x_label=None,
                 y_label=None, baselines=None):
        self.baselines = baselines
        self.x = x
        self.objective = objective
        self.error = error
        self.pick = pick
        self.erm = erm
        self.excluded = excluded
        self.x_label = x_label
        self.y_label = y_label

    @classmethod
    def from_search(cls, search, *, x="robustness", ax=None):
        """Draw the candidates of a fitted :class:`~pergdro_sklearn.PerGDROSearchCV`.

        Parameters
        ----------
        search : fitted PerGDROSearchCV
        x : "robustness", "order" or a key of ``cv_results_``, default="robustness"
            The x axis: robustness (see the class), the evaluation order, or any
            column such as ``"param_rho"`` or ``"param_epsilon_<label>"``.
        ax : matplotlib Axes, default=None

        Returns
        -------
        display : SearchCandidatesDisplay
        """
        results = require(search, "cv_results_", "SearchCandidatesDisplay",
                          "Fit the search first.")
        n = len(results["mean_test_objective"])
        if x == "robustness":
            values = robustness(results["param_rho"], epsilon_matrix(results),
                                float(search.rho_bounds_[1]), search.epsilon_bounds_[:, 1])
            label = "robustness (0 = ERM)"
        elif x == "order":
            values, label = np.arange(1, n + 1), "evaluation"
        elif x in results:
            values, label = np.asarray(results[x], dtype=float), x
        else:
            raise ValueError(f"Unknown x {x!r}: use 'robustness', 'order' or a key of "
                             "cv_results_ (e.g. 'param_rho').")
        objective = np.asarray(results["mean_test_objective"], dtype=float)
        error = np.asarray(results.get("std_error_test_objective", np.full(n, np.nan)),
                           dtype=float)
        error = np.where(np.isfinite(error), error,
                         np.asarray(results["std_test_objective"], dtype=float))
        excluded = ~np.isfinite(objective)
        for key in ("failed", "collapsed", "dropped"):
            if key in results:
                excluded |= np.asarray(results[key], dtype=bool)
        models = np.asarray(results.get("param_model", np.full(n, "per_gdro")), dtype=object)
        baselines = {str(m): float(v) for m, v in zip(models, objective) if m != "per_gdro"}
        excluded |= models != "per_gdro"
        objective_name = search._objective()
        name = objective_name if isinstance(objective_name, str) else "scorer"
        display = cls(values, objective, error, int(search.best_index_),
                      erm_row(results), excluded=excluded, x_label=label,
                      y_label=f"validation objective ({name}; lower is better)",
                      baselines=baselines)
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw on ``ax`` or on new axes.

        Returns
        -------
        display : SearchCandidatesDisplay
        """
        axes, figure = make_axes(ax, 1, type(self).__name__, panel_size=(6.0, 4.0))
        axis = axes[0]
        x = np.asarray(self.x, dtype=float)
        objective = np.asarray(self.objective, dtype=float)
        excluded = (np.zeros(x.shape[0], bool) if self.excluded is None
                    else np.asarray(self.excluded, dtype=bool))
        n_baselines = len(self.baselines or {})
        baseline_rows = np.zeros(x.shape[0], bool)
        if n_baselines:
            baseline_rows[x.shape[0] - n_baselines:] = True
        excluded = excluded & ~baseline_rows
        ok = ~excluded & ~baseline_rows
        self.errorbar_ = axis.errorbar(x[ok], objective[ok], yerr=np.nan_to_num(
            np.asarray(self.error, dtype=float)[ok]), fmt="o", color="C0", alpha=0.7,
            markersize=4, capsize=2, label="candidates (± 1 SE)")
        if (excluded & ~baseline_rows).any():
            finite = objective[ok & np.isfinite(objective)]
            top = finite.max() if finite.size else 1.0
            axis.plot(x[excluded & ~baseline_rows], np.full((excluded & ~baseline_rows).sum(),
                      top), "x", color="grey",
                      label="failed / collapsed / dropped")
        self.erm_ = None
        if self.erm is not None:
            self.erm_ = axis.plot(x[self.erm], objective[self.erm], "s", color="black",
                                  markersize=9, fillstyle="none", label="ERM")[0]
        self.baseline_lines_ = {}
        for k, (name, value) in enumerate((self.baselines or {}).items()):
            self.baseline_lines_[name] = axis.axhline(
                value, color=f"C{k + 4}", linestyle="--", lw=1, label=f"baseline {name}")
        if baseline_rows[self.pick]:
            name = list(self.baselines)[self.pick - (x.shape[0] - n_baselines)]
            self.pick_ = self.baseline_lines_[name]
            self.pick_.set_linewidth(2.5)
            self.pick_.set_label(f"pick: baseline {name}")
        else:
            self.pick_ = axis.plot(x[self.pick], objective[self.pick], "*", color="C3",
                                   markersize=15, label="pick")[0]
        axis.set_xlabel(self.x_label or "candidate")
        axis.set_ylabel(self.y_label or "validation objective")
        axis.set_title("Search candidates")
        axis.legend(fontsize="small")
        self.ax_, self.figure_ = axis, figure
        return self


__all__ = ["SearchCandidatesDisplay"]
