"""Progress for long work: a tqdm bar when ``verbose >= 2`` and tqdm is installed.

The package attaches no logging handlers and never changes logger levels:
``verbose`` prints to stdout as scikit-learn does.
"""

from ._warnings import warn_user


def progress_bar(total, desc, unit="epoch", leave=False):
    """A tqdm bar, or None (with a warning) when tqdm is not installed.

    Parameters
    ----------
    total : int
    desc : str
    unit : str, default="epoch"
        What one step of the bar counts (``"epoch"``, ``"candidate"``...).
    leave : bool, default=False
        Keep the finished bar on screen.
    """
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warn_user(f"verbose >= 2 shows a progress bar when tqdm is installed "
                  f"(pip install tqdm); printing one line per {unit} instead.",
                  UserWarning)
        return None
    return tqdm(total=total, desc=desc, unit=unit, leave=leave)


__all__ = [
    "progress_bar",
]
