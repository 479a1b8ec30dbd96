"""The search space of PerGDROSearchCV: bounds, dimensions and the initial design.

:func:`resolve_epsilon_bounds` turns the user's ``epsilon_bounds`` into one
``(low, high)`` pair per group; :class:`SearchSpace` maps a point of the
optimiser's space to the radii of a candidate; :func:`initial_design` gives the
first candidates (:func:`factorial_grid` or one of scikit-optimize's generators).
"""

import itertools
import warnings

import numpy as np
from sklearn.utils import check_random_state

from .._constants import MAX_ENUMERATED_GRID_POINTS, MIN_BOUND_FLOATS
from .._groups import check_radius_range

INITIAL_POINT_GENERATORS = ("grid", "lhs", "sobol", "halton", "hammersly", "random")


def check_pair(value, name):
    """A ``(low, high)`` pair of finite, non-negative floats with ``low <= high``."""
    try:
        pair = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (low, high) pair of numbers, got {value!r}.") from None
    if pair.size == 0:
        raise ValueError(f"{name} is empty; give a (low, high) pair.")
    if pair.shape != (2,):
        raise ValueError(f"{name} must be a (low, high) pair, got {value!r}.")
    low, high = float(pair[0]), float(pair[1])
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"{name} must be finite, got ({low}, {high}).")
    if low < 0:
        raise ValueError(f"{name} must be non-negative (radii are >= 0), got ({low}, {high}).")
    if low > high:
        raise ValueError(f"{name} has its lower bound above its upper bound: ({low}, {high}).")
    n_floats = int(np.float64(high).view(np.int64) - np.float64(low).view(np.int64))
    if 0 < n_floats < MIN_BOUND_FLOATS:  # non-negative floats are ordered as their bits
        raise ValueError(
            f"{name}=({low}, {high}) holds only {n_floats + 1} distinct numbers: a search "
            "cannot propose new points in it. Give low == high to fix this value, or a "
            "wider pair.")
    return low, high


def resolve_epsilon_bounds(epsilon_bounds, labels, groups_given):
    """Per-group ``(low, high)`` radii bounds, shape ``(n_groups, 2)``, ``labels`` order."""
    n_groups = labels.shape[0]
    if isinstance(epsilon_bounds, dict):
        if not epsilon_bounds:
            raise ValueError("epsilon_bounds is empty; give a (low, high) pair or one per group.")
        if not groups_given:
            raise ValueError(
                f"epsilon_bounds names groups {list(epsilon_bounds)} but fit got no groups "
                "(groups=None means one group); pass groups=... to fit."
            )
        known = set(labels.tolist())
        unknown = [key for key in epsilon_bounds if key not in known]
        if unknown:
            raise ValueError(
                f"epsilon_bounds names unknown groups {unknown}; the groups are {labels.tolist()}."
            )
        bounds = np.zeros((n_groups, 2))
        for position, label in enumerate(labels.tolist()):
            if label in epsilon_bounds:
                bounds[position] = check_pair(epsilon_bounds[label],
                                               f"epsilon_bounds[{label!r}]")
        return check_radius_range(bounds, "epsilon_bounds")
    try:
        array = np.asarray(epsilon_bounds, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "epsilon_bounds must be a (low, high) pair, an array of pairs (one per group) or "
            f"a dict {{group: (low, high)}}, got {epsilon_bounds!r}."
        ) from None
    if array.size == 0:
        raise ValueError("epsilon_bounds is empty; give a (low, high) pair or one per group.")
    if array.ndim == 1:
        pair = check_pair(array, "epsilon_bounds")
        return check_radius_range(np.tile(pair, (n_groups, 1)), "epsilon_bounds")
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(
            f"epsilon_bounds must be a (low, high) pair or an array of shape (n_groups, 2), "
            f"got shape {array.shape}."
        )
    if array.shape[0] != n_groups:
        if not groups_given:
            raise ValueError(
                f"epsilon_bounds gives bounds for {array.shape[0]} groups but fit got no "
                "groups (groups=None means one group); pass groups=... to fit."
            )
        raise ValueError(
            f"epsilon_bounds gives bounds for {array.shape[0]} groups but there are {n_groups} "
            f"groups {labels.tolist()}; give one pair per group in that order."
        )
    for position, label in enumerate(labels.tolist()):
        check_pair(array[position], f"epsilon_bounds for group {label!r}")
    return check_radius_range(array.copy(), "epsilon_bounds")


class SearchSpace:
    """Maps a point of the optimiser's space to ``{"rho": float, "epsilon": ndarray}``.

    A bound pair with ``low == high`` is a fixed value, not a dimension. With
    ``shared`` one dimension drives every varying group: ``"epsilon"`` itself when
    those groups share their bounds, else ``"epsilon_scale"`` in [0, 1] with
    ``epsilon_g = low_g + scale * (high_g - low_g)``.
    """

    def __init__(self, rho_bounds, epsilon_bounds, shared, labels, priors=None, extra=()):
        priors = priors or {}
        self.labels = labels
        self.rho_bounds = (float(rho_bounds[0]), float(rho_bounds[1]))
        self.epsilon_bounds = np.array(epsilon_bounds, dtype=float)
        self.names, self.bounds, self.priors, self.kinds = [], [], [], []
        rho_low, rho_high = rho_bounds
        self.rho_fixed = rho_low
        self.rho_dim = None
        if rho_high > rho_low:
            self.rho_dim = self._add("rho", rho_low, rho_high, priors.get("rho", "uniform"))
        self.eps_low = epsilon_bounds[:, 0].copy()
        self.eps_high = epsilon_bounds[:, 1].copy()
        self.varying = self.eps_high > self.eps_low
        eps_prior = priors.get("epsilon", "uniform")
        self.group_dims = {}
        self.shared_dim, self.shared_scale = None, False
        if shared and self.varying.any():
            lows, highs = self.eps_low[self.varying], self.eps_high[self.varying]
            if np.all(lows == lows[0]) and np.all(highs == highs[0]):
                self.shared_dim = self._add("epsilon", lows[0], highs[0], eps_prior)
            else:
                self.shared_dim = self._add("epsilon_scale", 0.0, 1.0)
                self.shared_scale = True
        elif not shared:
            for position in np.flatnonzero(self.varying):
                self.group_dims[int(position)] = self._add(
                    f"epsilon_{labels[position]}", self.eps_low[position],
                    self.eps_high[position], eps_prior)
        # the other parameters searched beside the radii: name -> dimension position
        self.extra_dims = {}
        for name, (kind, low, high, prior) in extra:
            self.extra_dims[name] = self._add(name, low, high, prior, kind)

    def _add(self, name, low, high, prior="uniform", kind="real"):
        self.names.append(name)
        self.bounds.append((float(low), float(high)))
        self.priors.append(prior)
        self.kinds.append(kind)
        return len(self.names) - 1

    @property
    def n_dims(self):
        return len(self.names)

    def dimensions(self):
        """Fresh skopt dimensions (skopt mutates the ones it is given)."""
        from skopt.space import Integer as SkoptInteger
        from skopt.space import Real as SkoptReal

        return [SkoptInteger(int(low), int(high), prior=prior, name=name) if kind == "integer"
                else SkoptReal(low, high, prior=prior, name=name)
                for name, (low, high), prior, kind in zip(self.names, self.bounds, self.priors,
                                                          self.kinds)]

    def warp(self, points):
        """Points mapped to where the design is uniform (the log of log-uniform dimensions)."""
        points = np.array(points, dtype=float).reshape(-1, self.n_dims)
        for d, prior in enumerate(self.priors):
            if prior == "log-uniform":
                points[:, d] = np.log(points[:, d])
        return points

    def unwarp(self, points):
        """The inverse of :meth:`warp`; integer dimensions rounded."""
        points = np.array(points, dtype=float).reshape(-1, self.n_dims)
        for d, (prior, kind) in enumerate(zip(self.priors, self.kinds)):
            if prior == "log-uniform":  # the bounds exactly, not exp(log(bound))
                low, high = self.bounds[d]
                values = np.exp(points[:, d])
                values[np.isclose(values, low, rtol=1e-9, atol=0)] = low
                values[np.isclose(values, high, rtol=1e-9, atol=0)] = high
                points[:, d] = values
            if kind == "integer":
                points[:, d] = np.round(points[:, d])
        return points

    def params(self, x):
        rho = float(x[self.rho_dim]) if self.rho_dim is not None else self.rho_fixed
        eps = self.eps_low.copy()
        if self.shared_dim is not None:
            value = float(x[self.shared_dim])
            if self.shared_scale:
                eps[self.varying] = (self.eps_low[self.varying] + value
                                     * (self.eps_high[self.varying] - self.eps_low[self.varying]))
            else:
                eps[self.varying] = value
        for position, dim in self.group_dims.items():
            eps[position] = float(x[dim])
        params = {"rho": rho, "epsilon": np.clip(eps, self.eps_low, self.eps_high)}
        for name, dim in self.extra_dims.items():
            low, high = self.bounds[dim]
            value = min(max(float(x[dim]), low), high)
            params[name] = int(round(value)) if self.kinds[dim] == "integer" else value
        return params

    def describe(self):
        return {
            "names": list(self.names),
            "bounds": [list(b) for b in self.bounds],
            "rho_fixed": self.rho_fixed,
            "epsilon_low": self.eps_low.tolist(),
            "epsilon_high": self.eps_high.tolist(),
            "shared_scale": self.shared_scale,
            "priors": list(self.priors),
            "kinds": list(self.kinds),
        }


def _integer_levels(n_samples, n_dims):
    """The largest ``k >= 1`` with ``k ** n_dims <= n_samples``."""
    k = max(1, int(np.floor(n_samples ** (1.0 / n_dims))))
    while k > 1 and k ** n_dims > n_samples:
        k -= 1
    while (k + 1) ** n_dims <= n_samples:
        k += 1
    return k


def _levels(bounds, k):
    if k == 1:
        return [np.array([(low + high) / 2.0]) for low, high in bounds]
    return [np.linspace(low, high, k) for low, high in bounds]


def factorial_grid(bounds, n_samples, random_state=None):
    """A full factorial grid, borders included, topped up from the next finer grid.

    With ``k`` the largest number of levels such that ``k ** n_dims <= n_samples``
    (one level is the midpoint), all ``k ** n_dims`` points come first, in random
    order; the remaining points are drawn without repetition from the grid with
    ``k + 1`` levels. 243 points in 5 dimensions are the paper's 3-level grid.

    Parameters
    ----------
    bounds : list of (low, high)
    n_samples : int
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    points : ndarray of shape (n_samples, n_dims)

    Examples
    --------
    >>> from pergdro_sklearn._search.space import factorial_grid
    >>> sorted(factorial_grid([(0, 3), (0, 5)], 4, random_state=0).tolist())
    [[0.0, 0.0], [0.0, 5.0], [3.0, 0.0], [3.0, 5.0]]
    """
    rng = check_random_state(random_state)
    n_dims = len(bounds)
    k = _integer_levels(n_samples, n_dims)
    coarse = np.array(list(itertools.product(*_levels(bounds, k))), dtype=float)
    coarse = coarse[rng.permutation(coarse.shape[0])]
    missing = n_samples - coarse.shape[0]
    if missing <= 0:
        return coarse[:n_samples]
    fine_levels = _levels(bounds, k + 1)
    taken = {tuple(row) for row in coarse.tolist()}
    if (k + 1) ** n_dims <= MAX_ENUMERATED_GRID_POINTS:
        fine = [row for row in itertools.product(*fine_levels) if tuple(row) not in taken]
        fine = np.array(fine, dtype=float)
        extra = fine[rng.choice(fine.shape[0], size=missing, replace=False)]
    else:
        rows = []
        while len(rows) < missing:
            index = rng.randint(k + 1, size=n_dims)
            row = tuple(float(fine_levels[d][i]) for d, i in enumerate(index))
            if row not in taken:
                taken.add(row)
                rows.append(row)
        extra = np.array(rows, dtype=float)
    return np.vstack([coarse, extra])


def initial_design(generator, space, n_samples, seed):
    """``n_samples`` initial points (lists of floats) from the named generator."""
    if generator == "grid":  # even levels in log space for log-uniform dimensions
        warped = space.warp(np.array(space.bounds, dtype=float).T).T
        points = space.unwarp(factorial_grid([tuple(b) for b in warped], n_samples,
                                             random_state=seed))
    elif generator == "random":
        from skopt.space import Space

        points = np.asarray(Space(space.dimensions()).rvs(n_samples=n_samples,
                                                          random_state=seed), dtype=float)
    else:
        from skopt.utils import cook_initial_point_generator

        sampler = cook_initial_point_generator(generator)
        with warnings.catch_warnings():
            # Sobol's balance warning for sample counts that are not powers of 2
            warnings.simplefilter("ignore", UserWarning)
            points = np.asarray(sampler.generate(space.dimensions(), n_samples,
                                                 random_state=seed), dtype=float)
    low = np.array([b[0] for b in space.bounds])
    high = np.array([b[1] for b in space.bounds])
    points = np.clip(points.reshape(n_samples, space.n_dims), low, high)
    return [[float(v) for v in row] for row in points]



def with_lows_first(design, space):
    """``design`` with the lowest corner of the space first (ERM when every low is 0).

    The corner replaces the design's last point when the design lacks it, so the
    number of initial points is unchanged; a design that holds it already is
    reordered.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> with_lows_first([[0.5, 0.5], [1.0, 0.0]], SimpleNamespace(bounds=[(0, 1), (0, 1)]))
    [[0.0, 0.0], [0.5, 0.5]]
    """
    if not design:
        return design
    lows = [float(low) for low, _ in space.bounds]
    rest = [point for point in design if list(point) != lows]
    if len(rest) == len(design):
        rest = rest[:-1]
    return [lows, *rest]


def describe_bounds(rho_bounds, epsilon_bounds, shared, labels, groups_given, extra=()):
    """The bounds as given: ``"auto"`` or the checked pairs (what the fingerprint holds).

    A skopt ``Real`` as a bound gives its range and its prior (kept under
    ``"priors"``, present only when a prior is not uniform, so that fingerprints of
    earlier searches are unchanged); ``extra`` are the checked
    ``search_spaces`` (:func:`check_search_spaces`), kept under ``"extra"`` when any.
    """
    priors = {}
    rho = rho_bounds
    if is_dimension(rho):
        low, high, priors["rho"] = check_bound_dimension(rho, "rho_bounds")
        rho = [low, high]
    elif not (isinstance(rho, str) and rho == "auto"):
        rho = list(check_pair(rho, "rho_bounds"))
    eps = epsilon_bounds
    if is_dimension(eps):
        low, high, priors["epsilon"] = check_bound_dimension(eps, "epsilon_bounds")
        eps = np.tile([low, high], (labels.shape[0], 1)).tolist()
    elif not (isinstance(eps, str) and eps == "auto"):
        eps = resolve_epsilon_bounds(eps, labels, groups_given).tolist()
    described = {"rho": rho, "epsilon": eps, "shared": bool(shared)}
    priors = {k: v for k, v in priors.items() if v != "uniform"}
    if priors:
        described["priors"] = priors
    if extra:
        described["extra"] = [[name, *spec] for name, spec in extra]
    return described


def is_dimension(value):
    """Whether ``value`` is a scikit-optimize dimension (without importing skopt)."""
    return any(cls.__module__.startswith("skopt.space") for cls in type(value).__mro__)


def check_bound_dimension(dimension, name):
    """``(low, high, prior)`` of a skopt ``Real`` given as radius bounds."""
    from skopt.space import Real as SkoptReal

    if not isinstance(dimension, SkoptReal):
        raise ValueError(f"{name} takes a skopt Real (radii are real numbers), got "
                         f"{dimension!r}.")
    low, high = check_pair((dimension.low, dimension.high), name)
    if dimension.prior == "log-uniform" and low <= 0:
        raise ValueError(f"{name} has a log-uniform prior from {low}; it needs low > 0.")
    return low, high, dimension.prior


def check_search_spaces(search_spaces, params, prefix=""):
    """The extra dimensions ``[(name, (kind, low, high, prior)), ...]``, sorted by name.

    ``search_spaces`` maps parameters of the Per-GDRO estimator (``params``, its
    ``get_params(deep=False)``; in a Pipeline optionally with the step's
    ``prefix``, which is dropped) to skopt ``Real`` or ``Integer`` dimensions; the
    radii have their own bounds and cannot be named here.
    """
    if search_spaces is None:
        return []
    from skopt.space import Integer as SkoptInteger
    from skopt.space import Real as SkoptReal

    named = {}
    for given, dimension in search_spaces.items():
        name = given[len(prefix):] if prefix and given.startswith(prefix) else given
        if name in named:
            raise ValueError(f"search_spaces names {name!r} twice (with and without "
                             f"the prefix {prefix!r}).")
        named[name] = dimension
    out = []
    for name in sorted(named):
        dimension = named[name]
        if name in ("rho", "epsilon"):
            raise ValueError(
                f"search_spaces names {name!r}, which the search always tunes; give its "
                f"range as {name}_bounds (a (low, high) pair or a skopt Real) instead.")
        if name not in params:
            raise ValueError(
                f"search_spaces names {name!r}, which is not a parameter of the Per-GDRO "
                f"estimator {sorted(params)}.")
        if isinstance(dimension, SkoptInteger):
            kind = "integer"
        elif isinstance(dimension, SkoptReal):
            kind = "real"
        else:
            raise ValueError(
                f"search_spaces[{name!r}] must be a skopt Real or Integer dimension, got "
                f"{dimension!r}. Categorical dimensions are not supported.")
        low, high = float(dimension.low), float(dimension.high)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise ValueError(f"search_spaces[{name!r}] needs finite bounds with low < high, "
                             f"got ({low}, {high}).")
        out.append((name, (kind, low, high, str(dimension.prior))))
    return out


def resolve_bounds(bounds, X, y, template, labels, group_index, train, is_classifier):
    """``(rho_bounds, epsilon_bounds)``, with ``"auto"`` measured on a training part.

    See :mod:`_search.bounds`: the radii's scale comes from the distances between
    classes in the training rows ``train``, as the Per-GDRO step receives them
    (after a Pipeline's transformers, fitted on those rows only).
    """
    from .bounds import auto_epsilon_bounds, auto_rho_upper
    from .template import take

    n_groups = labels.shape[0]
    rho = bounds["rho"]
    if isinstance(rho, str) and rho == "auto":
        counts = np.bincount(group_index, minlength=n_groups)
        rho = (0.0, auto_rho_upper(counts, template.final.divergence))
    eps = bounds["epsilon"]
    if isinstance(eps, str) and eps == "auto":
        X_train, y_train = take(X, train), y[train]
        if template.is_pipeline:
            _, X_train = template.fit_transformers(X_train, y_train)
        eps = auto_epsilon_bounds(X_train, y_train, group_index[train], n_groups,
                                  is_classifier)
    return tuple(rho), np.asarray(eps, dtype=float)


__all__ = ["INITIAL_POINT_GENERATORS", "SearchSpace", "check_bound_dimension", "check_pair",
           "check_search_spaces", "describe_bounds", "is_dimension",
           "factorial_grid", "initial_design", "resolve_bounds", "resolve_epsilon_bounds",
           "with_lows_first"]
