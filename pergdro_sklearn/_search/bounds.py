"""Radius ranges in the data's own scale (numpy, scipy.sparse and scikit-learn's neighbours).

The search's default bounds (``rho_bounds="auto"``, ``epsilon_bounds="auto"``) come
from here:

- **Within-group radii.** A Wasserstein radius is a distance in feature space, so
  its useful range is set by how far a group's rows are from rows of another
  class. :func:`class_gap` is, per group, the mean distance from the group's rows
  to the nearest training row of another class, capped by half the distance
  between the closest two class means: beyond it a per-sample adversary can carry
  a typical row onto the other class (or make the class means meet) and training
  collapses to a constant prediction. Regression targets are split at their median
  into two "classes" for this purpose.
- **Group size.** The empirical distribution of a small group is a noisier
  estimate of its population than that of a large one (the Wasserstein distance
  between a sample of ``n`` rows and its population shrinks as ``n`` grows), so a
  small group deserves a wider ball. :func:`auto_epsilon_bounds` scales the gap of
  group ``g`` by ``sqrt(n_min / n_g)``: the smallest group gets its full gap, a
  group ``k`` times larger ``1 / sqrt(k)`` of it.
- **Inter-group radius.** :func:`auto_rho_upper` is the divergence from the nominal
  proportions of a mix that puts 99% of the mass on the smallest group: past it the
  ball already holds (nearly) every reweighting toward a single group, so larger
  radii change nothing.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors
from sklearn.utils import check_random_state

from ..divergences import check_divergence, divergence_value

# Rows per group used as queries and rows per class used as references when
# measuring distances (a random subsample above that; the scale is a mean).
MAX_QUERY_ROWS = 2000
MAX_REFERENCE_ROWS = 20000
# Mass of the mixture put on the smallest group by :func:`auto_rho_upper`.
POINT_MASS_SHARE = 0.99


def _pseudo_classes(y, is_classifier):
    """Class index of each row; regression targets split at their median."""
    if is_classifier:
        return np.unique(np.asarray(y), return_inverse=True)[1].reshape(-1)
    y = np.asarray(y, dtype=float).reshape(np.shape(y)[0], -1)
    spread = y.std(axis=0)
    spread[spread == 0] = 1.0
    score = ((y - y.mean(axis=0)) / spread).mean(axis=1)
    return (score > np.median(score)).astype(np.int64)


def _as_matrix(X):
    """``X`` as float64: CSR when sparse (never densified), an ndarray otherwise."""
    if sp.issparse(X):
        return sp.csr_matrix(X, dtype=np.float64)
    return np.asarray(X, dtype=np.float64)


def _row_mean(X, rows):
    """Mean of the rows ``rows`` of ``X`` as a 1-D ndarray (sparse or dense ``X``)."""
    return np.asarray(X[rows].mean(axis=0), dtype=np.float64).reshape(-1)


def _subsample(rows, limit, rng):
    return rows if rows.shape[0] <= limit else rng.choice(rows, size=limit, replace=False)


def class_gap(X, y, group_index, n_groups, is_classifier=True, random_state=0):
    """Per-group distance scale between classes, shape ``(n_groups,)``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Features as the network sees them (after any preprocessing). A sparse matrix
        stays sparse: the class means are dense vectors of ``n_features`` values and
        the nearest-neighbour distances are computed on the sparse rows.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    group_index : ndarray of shape (n_samples,)
        Position of each row's group.
    n_groups : int
    is_classifier : bool, default=True
    random_state : int, default=0
        Seeds the subsample of large groups.

    Returns
    -------
    gap : ndarray of shape (n_groups,)
        ``min(mean distance to the nearest row of another class, half the distance
        between the two closest class means)`` per group; 0 for a group whose rows
        all sit on rows of another class, and for data with a single class.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.2], [2.0], [2.2]]); y = np.array([0, 0, 1, 1])
    >>> class_gap(X, y, np.array([0, 0, 0, 0]), 1).round(3).tolist()
    [0.9]
    """
    X = _as_matrix(X)
    classes = _pseudo_classes(y, is_classifier)
    labels = np.unique(classes)
    gap = np.zeros(n_groups)
    if labels.shape[0] < 2:
        return gap
    rng = check_random_state(random_state)
    means = np.array([_row_mean(X, np.flatnonzero(classes == c)) for c in labels])
    between = np.linalg.norm(means[:, None, :] - means[None, :, :], axis=-1)
    half_between = 0.5 * between[np.triu_indices(labels.shape[0], k=1)].min()
    neighbours = {
        c: NearestNeighbors(n_neighbors=1).fit(
            X[_subsample(np.flatnonzero(classes != c), MAX_REFERENCE_ROWS, rng)])
        for c in labels
    }
    for g in range(n_groups):
        rows = _subsample(np.flatnonzero(group_index == g), MAX_QUERY_ROWS, rng)
        if rows.shape[0] == 0:
            continue
        distances = np.concatenate([
            neighbours[c].kneighbors(X[rows[classes[rows] == c]])[0][:, 0]
            for c in np.unique(classes[rows])
        ])
        gap[g] = min(float(distances.mean()), half_between)
    return gap


def size_factor(counts):
    """``sqrt(n_min / n_g)`` per group: 1 for the smallest group, less for larger ones."""
    counts = np.asarray(counts, dtype=float)
    return np.sqrt(counts.min() / counts)


def auto_epsilon_bounds(X, y, group_index, n_groups, is_classifier=True, random_state=0):
    """Default ``(0, high_g)`` bounds of the within-group radii, shape ``(n_groups, 2)``.

    ``high_g = class_gap_g * sqrt(n_min / n_g)``: see the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.1], [2.0], [2.1], [0.05], [2.05]])
    >>> y = np.array([0, 0, 1, 1, 0, 1]); g = np.array([0, 0, 0, 0, 1, 1])
    >>> auto_epsilon_bounds(X, y, g, 2)[:, 1].round(3).tolist()
    [0.707, 1.0]
    """
    counts = np.bincount(group_index, minlength=n_groups)
    high = class_gap(X, y, group_index, n_groups, is_classifier, random_state)
    high = high * size_factor(np.maximum(counts, 1))
    return np.column_stack([np.zeros(n_groups), high])


def auto_rho_upper(counts, divergence="kl"):
    """Default upper bound of ``rho``: the divergence of a near point mass on the smallest group.

    Parameters
    ----------
    counts : array-like of shape (n_groups,)
        Training rows per group.
    divergence : str or CressieRead, default="kl"

    Returns
    -------
    rho_high : float
        0 for a single group (``rho`` has no effect there).

    Examples
    --------
    >>> round(auto_rho_upper([500, 420, 140, 140]), 3)
    2.08
    """
    counts = np.asarray(counts, dtype=float)
    if counts.shape[0] < 2:
        return 0.0
    nominal = counts / counts.sum()
    target = (1.0 - POINT_MASS_SHARE) * nominal
    target[np.argmin(counts)] += POINT_MASS_SHARE
    return float(divergence_value(target, nominal, check_divergence(divergence)))


__all__ = ["auto_epsilon_bounds", "auto_rho_upper", "class_gap", "size_factor"]
