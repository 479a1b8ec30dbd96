"""Warnings that point at the user's call, and convergence notes a search sums up.

Two things live here (plain Python, no numpy or torch):

- :func:`warn_user` issues a warning whose location (file and line) is the first
  frame outside this package and the libraries it calls through (scikit-learn,
  joblib, scikit-optimize): the user's ``fit`` call, also when it goes through a
  Pipeline or a meta-estimator. A fixed ``stacklevel`` cannot do that, since the
  number of internal frames depends on the path taken.
- :func:`deferred_convergence` marks a block (a search's candidate fits and its
  refit) inside which the estimators do not warn about convergence themselves:
  they keep a note on the fitted estimator (:func:`convergence_note`), and the
  search issues one summary warning for all of them.
"""

import contextlib
import contextvars
import os
import sys
import warnings

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_THROUGH = ("sklearn", "joblib", "skopt")

_DEFERRED = contextvars.ContextVar("pergdro_sklearn_deferred_convergence", default=False)

# What ``_convergence_note`` holds on a fitted estimator: the kind of trouble.
NOT_SETTLED = "not_settled"
BLEW_UP = "blew_up"


def _internal_prefixes():
    # contextlib: the exit of a ``with`` block made by ``contextmanager``
    prefixes = [_PACKAGE_DIR, os.path.abspath(contextlib.__file__)]
    for name in _THROUGH:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if path:
            prefixes.append(os.path.dirname(os.path.abspath(path)) + os.sep)
    return tuple(prefixes)


def user_stacklevel(skip=1):
    """The ``stacklevel`` of the first frame outside the package and its libraries.

    Parameters
    ----------
    skip : int, default=1
        Which frame calls ``warnings.warn`` (level 1): 1 is the caller of this
        function.

    Returns
    -------
    stacklevel : int
        For ``warnings.warn`` called in the function that called this one.
    """
    prefixes = _internal_prefixes()
    frame = sys._getframe(skip)  # the frame that calls warnings.warn: level 1
    level = 1
    while (frame.f_back is not None
           and os.path.abspath(frame.f_code.co_filename).startswith(prefixes)):
        frame = frame.f_back
        level += 1
    return level


def warn_user(message, category=UserWarning):
    """``warnings.warn(message, category)`` located at the user's call.

    Parameters
    ----------
    message : str
    category : type of Warning, default=UserWarning
    """
    warnings.warn(message, category, stacklevel=user_stacklevel())


@contextlib.contextmanager
def deferred_convergence():
    """Within this block, estimators note convergence trouble instead of warning.

    The flag is a context variable: it holds in this thread (and task) only, so
    fits in other threads, or after the block, warn as usual.
    """
    token = _DEFERRED.set(True)
    try:
        yield
    finally:
        _DEFERRED.reset(token)


def convergence_is_deferred():
    """Whether the current code runs inside :func:`deferred_convergence`."""
    return _DEFERRED.get()


def convergence_note(estimator):
    """The convergence note of a fitted estimator, or of a Pipeline's final step.

    Returns
    -------
    note : {"not_settled", "blew_up"} or None
    """
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return getattr(estimator, "_convergence_note", None)


__all__ = [
    "BLEW_UP",
    "NOT_SETTLED",
    "convergence_is_deferred",
    "convergence_note",
    "deferred_convergence",
    "user_stacklevel",
    "warn_user",
]
