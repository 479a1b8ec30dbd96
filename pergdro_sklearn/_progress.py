"""Progress for long work: a tqdm bar when ``verbose >= 2`` and tqdm is installed.

The package attaches no logging handlers and never changes logger levels:
``verbose`` prints to stdout as scikit-learn does.
"""

import warnings


def progress_bar(total, desc):
    """A tqdm bar, or None (with a warning) when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("verbose >= 2 shows a progress bar when tqdm is installed "
                      "(pip install tqdm); printing one line per epoch.",
                      UserWarning, stacklevel=3)
        return None
    return tqdm(total=total, desc=desc, unit="epoch", leave=False)


__all__ = [
    "progress_bar",
]
