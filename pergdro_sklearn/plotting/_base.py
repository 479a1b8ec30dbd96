"""What every figure shares: matplotlib imported late, axes, group colours."""

import numpy as np

PLOTTING_FIX = "pip install matplotlib"


def import_pyplot(caller):
    """``matplotlib.pyplot``, or an ImportError that says what needs it and the fix."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(f"{caller} draws with matplotlib, which is not installed: "
                          f"{PLOTTING_FIX}.") from None
    return plt


def make_axes(ax, n_panels, caller, panel_size=(4.2, 3.3)):
    """``n_panels`` axes: new ones in one row of a new figure, or those of ``ax``."""
    if ax is None:
        plt = import_pyplot(caller)
        figure, axes = plt.subplots(1, n_panels, figsize=(panel_size[0] * n_panels,
                                                          panel_size[1]), squeeze=False)
        axes = axes[0]
        figure.set_layout_engine("constrained")
    else:
        import_pyplot(caller)
        axes = np.atleast_1d(np.asarray(ax, dtype=object)).ravel()
        if axes.shape[0] != n_panels:
            raise ValueError(f"{caller} draws {n_panels} panel(s); ax holds "
                             f"{axes.shape[0]} axes.")
        figure = axes[0].figure
    return np.asarray(axes, dtype=object), figure


def group_color(position):
    """The colour of the group at ``position`` (matplotlib's default cycle, C0, C1...)."""
    return f"C{position % 10}"


def final_estimator(estimator):
    """The last step of (nested) Pipelines; a fitted search gives its refit estimator."""
    if hasattr(estimator, "best_estimator_") and hasattr(estimator, "cv_results_"):
        estimator = estimator.best_estimator_
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def require(estimator, attribute, what, fix):
    """``estimator.<attribute>``, or a ValueError saying what the figure needs."""
    value = getattr(estimator, attribute, None)
    if value is None:
        raise ValueError(f"{type(estimator).__name__} has no {attribute}: {what} needs it. "
                         f"{fix}")
    return value


__all__ = ["final_estimator", "group_color", "import_pyplot", "make_axes", "require"]
