"""Phi-divergences between group proportions and the exact inter-group adversary.

For a convex function ``phi`` on ``[0, inf)`` with ``phi(1) = 0`` the phi-divergence of
two probability vectors is

    I_phi(p || q) = sum_g q_g phi(p_g / q_g),

with the conventions of the paper's Definition 1: a group with ``q_g = 0`` and
``p_g = a > 0`` contributes ``a * lim_{t -> inf} phi(t) / t`` (possibly ``+inf``) and a
group with ``p_g = q_g = 0`` contributes nothing.

The inter-group adversary of Per-GDRO (Algorithm 1, line 11) is the linear programme over
the divergence ball

    max_{p in simplex} sum_g p_g L_g   subject to   I_phi(p || q) <= rho,

solved here exactly for every divergence of the paper's Table 1 (Appendix D). The
stationarity conditions of its Lagrangian fix the shape of the solution up to two scalar
multipliers; normalisation eliminates one, and the other is found by a safeguarded Newton
iteration on the logarithm of the divergence, as a function of a log-scaled parameter
that is monotone along the solution path:

* KL: ``p ~ q exp(L / lambda)``.
* Cressie-Read power ``theta > 1`` (``modified_chi2``, ``cressie_read``):
  ``p ~ q (L - eta)_+ ** (1 / (theta - 1))``. At large powers a group's weight stays far
  from zero until its base ``L - eta`` is below the rounding level, so when the search in
  ``eta`` stops off the ball's boundary the solution is found again level by level, in
  the logarithm of the base of the group losing its weight.
* Cressie-Read power ``theta < 1`` (``burg`` is ``theta = 0``, ``chi2`` is ``theta = -1``,
  ``hellinger`` is ``theta = 1/2``): ``p ~ q (c - L) ** (-1 / (1 - theta))`` with ``c``
  above every loss (Burg ``q / (c - L)``, Neyman ``q / sqrt(c - L)``, Hellinger
  ``q / (c - L) ** 2``). These divergences price mass on a zero-nominal group at
  ``lim phi(t) / t < inf`` per unit, so when a zero-nominal group has the largest loss the
  solution runs ``c`` down to that loss and then mixes the boundary solution with a point
  mass on that group.
* Total variation (half the l1 distance): a greedy transfer of mass ``rho`` from the
  lowest-loss groups to the highest-loss ones.

Before any root find the point mass on the highest-loss group(s) is tried: when it lies in
the ball it is the answer. A final safeguard mixes the solution with the nominal
proportions by the smallest amount that makes the computed divergence at most ``rho``
(by convexity this always succeeds and costs only rounding-level objective).
"""

import functools
import math
import numbers

import numpy as np
from scipy.special import xlogy

from ._constants import (
    DEFAULT_CRESSIE_READ_POWER,
    DIVERGENCE_NAMES,
    MAX_CRESSIE_READ_POWER,
    MIN_CRESSIE_READ_POWER,
)

__all__ = [
    "CressieRead",
    "check_divergence",
    "divergence_value",
    "nominal_weights",
    "worst_case_weights",
]

# A probability vector must sum to one within this tolerance.
_SUM_TOLERANCE = 1e-8
# exp(-_LOG_SMALLEST) is about 1e-300: the smallest weight the solvers produce on purpose,
# comfortably above the smallest normal double.
_LOG_SMALLEST = 690.0
# Python's math.exp overflows above this argument.
_LOG_LARGEST = 709.0
# Newton iterations on the log-scaled parameters (see _newton_increasing): relative width
# of a bracket that ends the search, |log(D / rho)| below which quadratic convergence is
# trusted, target |log(D / rho)|, iteration cap, step taken when the slope is unusable,
# and how far below the small-radius guess the search range starts.
_XTOL = 1e-12
_NEAR_ROOT = 1e-2
_GTOL = 1e-9
_NEWTON_MAXITER = 100
_EXPAND = 8.0
_BELOW_GUESS = 60.0
# Final feasibility safeguard: an excess of the computed divergence over the radius up to
# this fraction of min(rho, 1) is rounding and accepted; larger excesses are removed by
# mixing with the nominal proportions, with at least this share.
_ROUNDING_SLACK = 1e-13
_MIN_MIX = 1e-16
# Cressie-Read powers above 1: a fast solution whose divergence is this far (relative)
# from the radius missed the ball's boundary and is solved again level by level.
_ON_BOUNDARY = 1e-8
# Below this divergence the solvers' power-sum formulas lose relative accuracy to
# cancellation; the value is then recomputed term by term.
_PRECISE_BELOW = 1e-3


def _exp(value):
    """``math.exp`` that returns ``inf`` instead of raising on overflow."""
    return math.exp(value) if value < _LOG_LARGEST else math.inf


def _scaled(values, factor):
    """``values * factor``, skipping the multiplication when ``factor`` is 1."""
    return values if factor == 1.0 else values * factor


class _Divergence:
    """A validated phi-divergence, as returned by :func:`check_divergence`.

    Parameters
    ----------
    name : str
        One of ``DIVERGENCE_NAMES``.
    theta : float or None
        Cressie-Read power of the family member (``0`` for Burg, ``-1`` for Neyman's
        chi-square, ``1/2`` for Hellinger, ``2`` for Pearson's chi-square), ``None`` for
        KL and total variation.
    scale : float
        ``phi`` equals ``scale`` times the Cressie-Read function of power ``theta`` (for
        ``theta = 0``, Burg's entropy, its limit).

    Attributes
    ----------
    phi_at_zero : float
        ``phi(0)``, possibly ``inf``.
    slope_at_infinity : float
        ``lim_{t -> inf} phi(t) / t``: the price per unit of mass put on a group of zero
        nominal probability, possibly ``inf``.
    curvature : float
        ``phi''(1)``.
    """

    def __init__(self, name, theta=None, scale=1.0):
        self.name = name
        self.theta = None if theta is None else float(theta)
        self.scale = float(scale)
        if name == "kl":
            self.phi_at_zero, self.slope_at_infinity, self.curvature = 1.0, math.inf, 1.0
        elif name == "tv":
            self.phi_at_zero, self.slope_at_infinity, self.curvature = 0.5, 0.5, 0.0
        else:
            th = self.theta
            self.phi_at_zero = self.scale / th if th > 0 else math.inf
            self.slope_at_infinity = self.scale / (1.0 - th) if th < 1 else math.inf
            self.curvature = self.scale

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return (self.name, self.theta, self.scale) == (other.name, other.theta, other.scale)

    def __hash__(self):
        return hash((type(self).__name__, self.name, self.theta, self.scale))

    def phi(self, t):
        """Evaluate ``phi`` elementwise on finite non-negative ratios ``t``.

        Parameters
        ----------
        t : array-like of float
            Likelihood ratios ``p_g / q_g``.

        Returns
        -------
        ndarray of float
            ``phi(t)``; ``inf`` at ``t = 0`` when ``phi(0)`` is infinite.
        """
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return self._phi(np.asarray(t, dtype=float))

    def _phi(self, t):
        """``phi(t)`` for a float array, without floating-point error handling."""
        th = self.theta
        if th is None:
            if self.name == "kl":
                return xlogy(t, t) - t + 1.0
            return 0.5 * np.abs(t - 1.0)
        if th == 2.0:  # Pearson: scale / 2 (t - 1)^2
            u = t - 1.0
            return _scaled(u * u, 0.5 * self.scale)
        if th == 0.5:  # Hellinger: 2 scale (sqrt(t) - 1)^2
            u = np.sqrt(t) - 1.0
            return _scaled(u * u, 2.0 * self.scale)
        if th == -1.0:  # Neyman: scale / 2 (t - 1)^2 / t
            u = t - 1.0
            return _scaled(u * u / t, 0.5 * self.scale)
        if th == 0.0:  # Burg
            return _scaled(t - 1.0 - np.log(t), self.scale)
        # 1 - th + th t - t^th, written with expm1 to keep accuracy near t = 1.
        numerator = th * (t - 1.0) - np.expm1(th * np.log(t))
        return numerator * (self.scale / (th * (1.0 - th)))

    def _t_phi_prime(self, t):
        """``t * phi'(t)`` for the Cressie-Read family (finite at 0 when ``theta > 0``)."""
        th = self.theta
        if th == 2.0:
            return _scaled(t * (t - 1.0), self.scale)
        if th == 0.5:
            return _scaled(t - np.sqrt(t), 2.0 * self.scale)
        if th == -1.0:
            return _scaled(t - 1.0 / t, 0.5 * self.scale)
        if th == 0.0:
            return _scaled(t - 1.0, self.scale)
        return (t - np.exp(th * np.log(t))) * (self.scale / (1.0 - th))

    def _point_cost(self, mass):
        """``I_phi`` of the point mass proportional to ``q`` on groups of total mass
        ``mass`` (in (0, 1)), all other groups having positive ``q``."""
        if self.name == "kl":
            return -math.log(mass)
        if self.name == "tv":
            return 1.0 - mass
        th = self.theta
        if th <= 0:
            return math.inf
        # sum over the top groups of (q / mass)^th q^(1 - th) is mass^(1 - th).
        exponent = (1.0 - th) * math.log(mass)
        if exponent > _LOG_LARGEST:
            return math.inf
        return -math.expm1(exponent) * self.scale / (th * (1.0 - th))

    def _value(self, p, q, positive):
        """``I_phi(p || q)`` for validated arrays; ``positive`` is ``q > 0`` or ``None``
        when every entry of ``q`` is positive."""
        if positive is None:
            return float(np.dot(q, self._phi(p / q)))
        qp = q[positive]
        value = float(np.dot(qp, self._phi(p[positive] / qp)))
        extra = float(p[~positive].sum())
        if extra > 0:
            value += extra * self.slope_at_infinity
        return value


class CressieRead(_Divergence):
    """Cressie-Read power divergence of a given power.

    ``phi(t) = (1 - theta + theta t - t**theta) / (theta (1 - theta))`` for a real power
    ``theta`` other than 0 and 1 (the limits are Burg's entropy and KL). The power 2 is
    half Pearson's chi-square, 1/2 twice the squared Hellinger distance and -1 half
    Neyman's chi-square.

    Parameters
    ----------
    power : float, default=DEFAULT_CRESSIE_READ_POWER
        The power ``theta``; not 0 or 1, and between ``MIN_CRESSIE_READ_POWER`` (-50)
        and ``MAX_CRESSIE_READ_POWER`` (200). In that range :func:`worst_case_weights`
        is exact to the accuracy it documents (tested against cvxpy up to the ends);
        beyond it ``t ** theta`` overflows double precision for ratios ``t`` of a few
        units, so larger powers are refused.

    Attributes
    ----------
    power : float
        The validated power.

    Raises
    ------
    ValueError
        If ``power`` is not a real number in the supported range, or is 0 or 1.

    Examples
    --------
    >>> from pergdro_sklearn.divergences import CressieRead, divergence_value
    >>> CressieRead(power=0.5)
    CressieRead(power=0.5)
    >>> CressieRead(2) == CressieRead(2.0)
    True
    >>> round(divergence_value([0.5, 0.5], [0.25, 0.75], CressieRead(2)), 6)
    0.166667
    """

    def __init__(self, power=DEFAULT_CRESSIE_READ_POWER):
        if isinstance(power, bool) or not isinstance(power, numbers.Real):
            raise ValueError(f"CressieRead power must be a real number, got {power!r}.")
        power = float(power)
        if not math.isfinite(power) or power in (0.0, 1.0):
            raise ValueError(
                "CressieRead power must be finite and differ from 0 and 1 (their limits are "
                f"'burg' and 'kl'), got {power!r}."
            )
        if not MIN_CRESSIE_READ_POWER <= power <= MAX_CRESSIE_READ_POWER:
            raise ValueError(
                f"CressieRead power must lie in [{MIN_CRESSIE_READ_POWER:g}, "
                f"{MAX_CRESSIE_READ_POWER:g}] (beyond it the divergence overflows double "
                f"precision and the solver cannot reach the ball's boundary), got {power!r}."
            )
        self.power = power
        super().__init__("cressie_read", theta=power, scale=1.0)

    def __repr__(self):
        return f"CressieRead(power={self.power!r})"


# Named members of the Cressie-Read family, as (power, scale): phi = scale * phi_power.
_NAMED_POWERS = {
    "burg": (0.0, 1.0),
    "chi2": (-1.0, 2.0),
    "modified_chi2": (2.0, 2.0),
    "hellinger": (0.5, 0.5),
}


def check_divergence(divergence):
    """Validate a divergence specification and return the divergence object.

    Parameters
    ----------
    divergence : str or CressieRead
        One of ``"kl"``, ``"burg"``, ``"chi2"`` (Neyman), ``"modified_chi2"``
        (Pearson), ``"tv"`` (half the l1 distance), ``"hellinger"``,
        ``"cressie_read"`` (power ``DEFAULT_CRESSIE_READ_POWER``), a
        :class:`CressieRead` instance, or an object previously returned by this
        function.

    Returns
    -------
    divergence : object
        The validated divergence, accepted by :func:`divergence_value` and
        :func:`worst_case_weights`.

    Raises
    ------
    ValueError
        If ``divergence`` is none of the above.

    Examples
    --------
    >>> from pergdro_sklearn.divergences import check_divergence
    >>> check_divergence("cressie_read")
    CressieRead(power=2.0)
    >>> check_divergence("kl").slope_at_infinity
    inf
    >>> check_divergence("tv").slope_at_infinity
    0.5
    """
    if isinstance(divergence, _Divergence):
        return divergence
    if isinstance(divergence, str) and divergence in DIVERGENCE_NAMES:
        if divergence in ("kl", "tv"):
            return _Divergence(divergence)
        if divergence == "cressie_read":
            return CressieRead(DEFAULT_CRESSIE_READ_POWER)
        power, scale = _NAMED_POWERS[divergence]
        return _Divergence(divergence, theta=power, scale=scale)
    valid = ", ".join(repr(name) for name in DIVERGENCE_NAMES)
    raise ValueError(
        f"Unknown divergence {divergence!r}; expected one of {valid} or a "
        "CressieRead(power=...) instance."
    )


def _as_vector(values, name):
    """A 1-D float array with at least one entry, or ValueError naming ``name``."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of numbers.") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}.")
    if array.size == 0:
        raise ValueError(f"{name} must contain at least one group.")
    return array


def _probability_with_stats(values, name, size=None):
    """A probability vector (finite, non-negative, summing to one within 1e-8), with its
    smallest entry and its sum."""
    array = _as_vector(values, name)
    if size is not None and array.size != size:
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}.")
    smallest = float(array.min())
    total = float(np.add.reduce(array))
    if math.isnan(smallest) or not math.isfinite(total):
        raise ValueError(f"{name} must be finite (no NaN or inf).")
    if smallest < 0:
        raise ValueError(f"{name} must be non-negative.")
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(f"{name} must sum to 1 (within {_SUM_TOLERANCE:g}), got {total!r}.")
    return array, smallest, total


def divergence_value(p, q, divergence="kl"):
    """Phi-divergence ``I_phi(p || q) = sum_g q_g phi(p_g / q_g)``.

    Groups with ``q_g = 0`` follow the paper's convention (Definition 1): they contribute
    ``p_g * lim_{t -> inf} phi(t) / t`` when ``p_g > 0`` (``inf`` for KL, Pearson's
    chi-square and Cressie-Read powers above 1) and nothing when ``p_g = 0``.

    Parameters
    ----------
    p, q : array-like of shape (n_groups,)
        Probability vectors (non-negative, summing to one within 1e-8).
    divergence : str or CressieRead, default="kl"
        See :func:`check_divergence`.

    Returns
    -------
    value : float
        The divergence, non-negative and possibly ``inf``.

    Raises
    ------
    ValueError
        If ``p`` or ``q`` is not a probability vector, their shapes differ, or the
        divergence is unknown.

    Examples
    --------
    >>> from pergdro_sklearn.divergences import divergence_value
    >>> round(divergence_value([0.5, 0.5], [0.25, 0.75], "kl"), 6)
    0.143841
    >>> divergence_value([0.5, 0.5], [1.0, 0.0], "tv")
    0.5
    >>> divergence_value([0.5, 0.5], [1.0, 0.0], "kl")
    inf
    """
    div = check_divergence(divergence)
    q = _probability_with_stats(q, "q")[0]
    p = _probability_with_stats(p, "p", size=q.size)[0]
    positive = q > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = div._value(p, q, None if positive.all() else positive)
    return max(value, 0.0)


def nominal_weights(group_counts):
    """Nominal group proportions ``n_g / n`` from group sizes.

    Parameters
    ----------
    group_counts : array-like of shape (n_groups,)
        Non-negative group sizes (or any non-negative weights), not all zero.

    Returns
    -------
    proportions : ndarray of shape (n_groups,)
        ``group_counts / group_counts.sum()``.

    Raises
    ------
    ValueError
        If the counts are negative, non-finite or all zero.

    Examples
    --------
    >>> from pergdro_sklearn.divergences import nominal_weights
    >>> nominal_weights([500, 420, 140, 140])
    array([0.41666667, 0.35      , 0.11666667, 0.11666667])
    """
    counts = _as_vector(group_counts, "group_counts")
    if not np.all(np.isfinite(counts)):
        raise ValueError("group_counts must be finite (no NaN or inf).")
    if np.any(counts < 0):
        raise ValueError("group_counts must be non-negative.")
    total = counts.sum()
    if total <= 0:
        raise ValueError("group_counts must not all be zero.")
    return counts / total


# ---------------------------------------------------------------------------------------
# Solvers. They work on ``v``: the losses of the groups concerned, shifted and scaled so
# that the reference (largest) loss maps to 0 and the smallest to 1.
# ---------------------------------------------------------------------------------------


def _newton_increasing(evaluate, rho, x0, x_lo, x_hi):
    """Solve ``D(x) = rho`` for a non-decreasing ``D`` by a safeguarded Newton iteration.

    ``evaluate(x)`` returns ``(D(x), D'(x))``. The search stays in ``[x_lo, x_hi]``;
    ``x_hi`` is returned when ``D(x_hi) <= rho`` and ``x_lo`` when ``D(x_lo) > rho``.
    The steps are Newton's on ``log D``, which in the solvers' variables is close to
    linear for small radii and flattens near saturation. A bracket ``a <= root < b`` is
    kept from the signs seen. Above the root, a step that would leave the bracket is
    replaced by Newton's step on ``D`` itself, which is shorter there
    (``log u >= 1 - 1/u``); any step still outside it by a jump to the untried end of the
    range or by bisection, and so is one that shrinks too slowly (as in Numerical
    Recipes' ``rtsafe``).

    With ``g = log(D / rho)`` the iteration returns once ``|g|`` at the returned point is
    below ``_GTOL``: either measured, or predicted from quadratic convergence
    (``g_next ~ g ** 3 / g_previous ** 2``) after two consecutive Newton steps near the
    root. The optimal value moves by about ``rho * dOPT/drho * g``, at most ``|g|``
    times the loss range, so this bounds the relative error of the objective. The
    bracket shrinking below ``_XTOL`` relative also ends it.
    """
    log_rho = math.log(rho)
    a, b = x_lo, x_hi
    a_seen = b_seen = False
    x = min(max(x0, x_lo), x_hi)
    last_step = older_step = math.inf
    # |g| before the previous step, if that step was a Newton step taken near the root.
    previous_g = math.inf
    for _ in range(_NEWTON_MAXITER):
        value, slope = evaluate(x)
        g = math.log(value) - log_rho if value > 0 else -math.inf
        if g <= 0:
            a, a_seen = x, True
            if g == 0 or x >= x_hi:
                return x
        else:
            b, b_seen = x, True
            if x <= x_lo:
                return x
        if a_seen and b_seen and b - a <= _XTOL * (1.0 + abs(a)):
            return a
        size = abs(g)
        x_new = math.nan
        if math.isfinite(g) and slope > 0:
            step = -g * value / slope
            if g > 0 and x + step <= a:
                step = (rho - value) / slope  # Newton on D: shorter above the root
            if size <= _GTOL:
                return x if g <= 0 else max(x + step, a)
            if size < previous_g < math.inf and size**3 <= _GTOL * previous_g**2:
                return min(max(x + step, a), b)
            x_new = x + step
        both = a_seen and b_seen
        newton = True
        if not a < x_new < b:  # also when x_new is NaN
            newton = False
            if both:
                x_new = 0.5 * (a + b)
            elif g < 0:
                x_new = x_hi if math.isfinite(g) else min(x + _EXPAND, x_hi)
            else:
                x_new = x_lo
        elif both and abs(x_new - x) > 0.5 * older_step:
            newton = False
            x_new = 0.5 * (a + b)
        older_step, last_step = last_step, abs(x_new - x)
        previous_g = size if newton and size <= _NEAR_ROOT else math.inf
        x = x_new
    return a if a_seen else x


def _solve_kl(q, v, gap, mean, variance, rho):
    """KL: ``p ~ q exp(-y v)``; Newton on ``x = log y``. Returns ``p``.

    ``mean`` and ``variance`` are those of ``v`` under ``q``; moments under ``p`` are
    taken of ``v - mean`` to limit cancellation.
    """
    centred = v - mean
    centred2 = centred * centred

    def evaluate(x):
        y = math.exp(x)
        w_minus_1 = np.expm1(v * -y)
        qe = q * w_minus_1
        z_minus_1 = float(np.add.reduce(qe))
        # Z = sum_g q_g w_g, from the top groups alone when the others have underflowed.
        z = 1.0 + z_minus_1 if z_minus_1 > -0.5 else float(np.dot(q, w_minus_1 + 1.0))
        shift = float(np.dot(qe, centred)) / z  # E_p[v] - mean
        spread = (variance + float(np.dot(qe, centred2))) / z - shift * shift
        log_z = math.log1p(z_minus_1) if z_minus_1 > -0.5 else math.log(z)
        return -y * (mean + shift) - log_z, y * y * max(spread, 0.0)

    x_hi = math.log((_LOG_SMALLEST + 50.0) / gap)
    x0 = min(0.5 * math.log(2.0 * rho / variance), x_hi)
    x = _newton_increasing(evaluate, rho, x0, x0 - _BELOW_GUESS, x_hi)
    w = q * np.exp(v * -math.exp(x))
    return w / np.add.reduce(w)


def _power(s, alpha):
    """``s ** alpha`` with cheaper paths for the exponents of the named divergences."""
    if alpha == 1.0:
        return s
    if alpha == 2.0:
        return s * s
    if alpha == 0.5:
        return np.sqrt(s)
    return s**alpha


def _power_sum_value(div, sum_w, sum_u, slope_u, slope_w):
    """Cressie-Read divergence from two power sums, and its derivative.

    The ratios are ``t = w / sum_w`` with ``sum_w = sum_g q_g w_g``, and
    ``t ** theta = u / sum_w ** theta``; then ``sum_g q_g t_g = 1`` and the divergence is
    ``scale (1 - sum_u / sum_w ** theta) / (theta (1 - theta))`` with
    ``sum_u = sum_g q_g u_g``. ``slope_u`` and ``slope_w`` are the derivatives of the two
    sums with respect to the solver's parameter.
    """
    theta = div.theta
    factor = div.scale / (theta * (1.0 - theta))
    ratio = _exp(math.log(sum_u) - theta * math.log(sum_w))
    slope = -factor * ratio * (slope_u / sum_u - theta * slope_w / sum_w)
    return factor * (1.0 - ratio), slope


def _solve_power_above_one(div, q, v, gap, variance, rho):
    """Cressie-Read ``theta > 1``: ``p ~ q (1 - z v)_+ ** beta``; Newton on ``log z``.

    With ``b = (1 - z v)_+`` and ``B_m = sum_g q_g b_g ** m`` (over groups with
    ``b > 0``) the divergence depends on ``B_beta`` and ``B_(beta + 1)`` only
    (``beta theta = beta + 1``), and ``d B_m / dx = m (B_m - B_(m - 1))``. Returns the
    ratios ``p / q``.
    """
    theta = div.theta
    beta = 1.0 / (theta - 1.0)

    def weights(x):
        base = np.maximum(1.0 - v * math.exp(x), 0.0)
        return base, _power(base, beta)

    def evaluate(x):
        base, w = weights(x)
        b_mid = float(np.dot(q, w))
        b_high = float(np.dot(q, w * base))
        # w / b is b ** (beta - 1) where b > 0 and 0 elsewhere (w is 0 there).
        b_low = float(np.dot(q, w / np.maximum(base, 1e-300)))
        value, slope = _power_sum_value(
            div, b_mid, b_high, (beta + 1.0) * (b_high - b_mid), beta * (b_mid - b_low))
        if value < _PRECISE_BELOW:
            # Term by term: D = sum q phi(t), D' = sum q t phi'(t) (l' - E_p l') with
            # l' = d log w / dx = -beta / b + constant.
            t = w * (1.0 / b_mid)
            value = float(np.dot(q, div._phi(t)))
            inverse = 1.0 / np.maximum(base, 1e-300)
            centred = inverse - float(np.dot(q * t, inverse))
            slope = -beta * float(np.dot(q * div._t_phi_prime(t), centred))
        return value, slope

    x_hi = -math.log(gap)
    x0 = 0.5 * math.log(2.0 * rho / (div.curvature * variance)) - math.log(beta)
    x0 = min(x0, x_hi - 1e-3)
    x = _newton_increasing(evaluate, rho, x0, x0 - _BELOW_GUESS, x_hi)
    w = weights(x)[1]
    return w * (1.0 / float(np.dot(q, w)))


def _solve_power_above_one_by_level(div, q, v, variance, rho):
    """Cressie-Read ``theta > 1`` level by level, for when :func:`_solve_power_above_one`
    stops inside the ball.

    As ``z`` grows the groups lose their weight one level of ``v`` at a time, the
    largest ``v`` first. For large powers (small ``beta``) the weight ``b ** beta`` of a
    group whose base ``b = 1 - z v`` goes to zero stays far from zero until ``b`` is far
    below the rounding level of ``1 - z v`` (``1e-16 ** beta`` is 0.69 at power 100), so
    ``z`` cannot be the search variable near those points. Instead the level at which
    the solution lies is found first (a bisection over the levels on the divergence
    reached when that level's weight is exactly zero), and then the search variable is
    ``x = -log b`` of the groups at that level: their log-base is ``-x`` exactly, so
    their weight ``exp(-beta x)`` is resolved all the way down to about 1e-300, and the
    other groups still in play have ``b = 1 - z v`` with ``z = (1 - exp(-x)) / level``,
    away from zero.

    With ``B_m = sum_g q_g b_g ** m`` (over groups with ``b > 0``) the divergence
    depends on ``B_beta`` and ``B_(beta + 1)`` only (``beta theta = beta + 1``), and
    ``d B_m / dx = -m exp(-x) sum_g q_g (v_g / level) b_g ** (m - 1)``. Returns the
    ratios ``p / q``.
    """
    theta = div.theta
    beta = 1.0 / (theta - 1.0)
    levels = np.unique(v[v > 0])[::-1]  # in the order the groups lose their weight

    def evaluate(level, x, value_only=False):
        """Divergence and slope when the groups at ``level`` have ``b = exp(-x)`` (``x`` may
        be inf); the groups above that level have no weight left."""
        at_level = v == level
        e = math.exp(-x)
        z = -math.expm1(-x) / level
        base = np.maximum(1.0 - z * v, 0.0)
        base[v > level] = 0.0
        base[at_level] = e
        w = _power(base, beta)
        w[at_level] = math.exp(-beta * x)  # the reason for x: not 0 when e underflows
        b_mid = float(np.dot(q, w))
        b_high = float(np.dot(q, w * base))
        # d b / dx = -exp(-x) v / level; ``rate`` is exp(-x) (v / level) / b where b > 0,
        # 1 on the level (exactly), 0 where the weight is gone.
        rate = (e / level) * v / np.maximum(base, 1e-300)
        rate[at_level] = 1.0
        slope_mid = -beta * float(np.dot(q * w, rate))
        slope_high = -(beta + 1.0) * float(np.dot(q * w * base, rate))
        value, slope = _power_sum_value(div, b_mid, b_high, slope_high, slope_mid)
        if value < _PRECISE_BELOW and not value_only:
            # Term by term: D = sum q phi(t), D' = sum q t phi'(t) (l' - E_p l') with
            # l' = d log w / dx = -beta rate.
            t = w * (1.0 / b_mid)
            value = float(np.dot(q, div._phi(t)))
            centred = rate - float(np.dot(q * t, rate))
            slope = -beta * float(np.dot(q * div._t_phi_prime(t), centred))
        return value, slope

    # The first level whose loss of weight takes the divergence to rho or beyond (the
    # last level's is the point mass's cost, above rho); most often the first one.
    first, last = 0, levels.size - 1
    if evaluate(levels[0], math.inf, True)[0] < rho:
        first = 1
        while first < last:
            middle = (first + last) // 2
            if evaluate(levels[middle], math.inf, True)[0] >= rho:
                last = middle
            else:
                first = middle + 1
    level = levels[first]

    evaluate_at_level = functools.partial(evaluate, level)
    if first == 0:
        # Small-radius guess for z, mapped to x and kept below b = 1/2.
        z_level = level * math.exp(
            0.5 * math.log(2.0 * rho / (div.curvature * variance)) - math.log(beta))
        x0 = -math.log1p(-min(z_level, 0.5))
        x_lo = -math.log1p(-min(z_level, 0.5) * math.exp(-_BELOW_GUESS))
    else:
        # Where the previous level lost its weight: the divergence is below rho there.
        x_lo = -math.log1p(-level / levels[first - 1])
        x0 = x_lo + math.log(2.0) / beta
    x_hi = x_lo + _LOG_SMALLEST / beta  # the level's weight exp(-beta x) below 1e-300
    x = _newton_increasing(evaluate_at_level, rho, min(x0, x_hi), x_lo, x_hi)
    base = np.maximum(1.0 - (-math.expm1(-x) / level) * v, 0.0)
    base[v >= level] = 0.0
    w = _power(base, beta)
    w[v == level] = math.exp(-beta * x)
    return w * (1.0 / float(np.dot(q, w)))


def _solve_power_below_one(div, q, v, v_min, variance, rho):
    """Cressie-Read ``theta < 1`` on positive-nominal groups: ``p ~ q (delta + v)^-alpha``.

    ``v_min = min(v)`` may be positive (the largest loss is on a zero-nominal group);
    then ``delta -> 0`` is the boundary of this regime, not a point mass. Newton on
    ``x = -log delta``. With ``s = (delta + v_min) / (delta + v)`` and
    ``S_m = sum_g q_g s_g ** m`` the divergence depends on ``S_alpha`` and
    ``S_(alpha - 1)`` (``alpha theta = alpha - 1``; Burg, ``theta = 0``, on
    ``sum_g q_g log s_g`` instead), and ``d S_m / dx = m k (S_(m + 1) - S_m)`` with
    ``k = delta / (delta + v_min)``. Returns the ratios ``p / q``.
    """
    theta = div.theta
    alpha = 1.0 / (1.0 - theta)

    def weights(x):
        delta = math.exp(-x)
        s = (delta + v_min) / (v + delta)  # in (0, 1]
        return s, _power(s, alpha), delta

    def evaluate(x):
        s, w, delta = weights(x)
        k = delta / (delta + v_min)
        s_mid = float(np.dot(q, w))
        s_high = float(np.dot(q, w * s))
        slope_mid = alpha * k * (s_high - s_mid)
        if theta == 0.0:  # Burg: log S_1 - sum_g q_g log s_g
            value = math.log(s_mid) - float(np.dot(q, np.log(s)))
            slope = slope_mid / s_mid - k * (s_mid - 1.0)
        else:
            s_low = float(np.dot(q, w / s))
            value, slope = _power_sum_value(
                div, s_mid, s_low, (alpha - 1.0) * k * (s_mid - s_low), slope_mid)
        if value < _PRECISE_BELOW:
            # Term by term: D = sum q phi(t), D' = sum q t phi'(t) (l' - E_p l') with
            # l' = d log w / dx = alpha k s + constant.
            t = w * (1.0 / s_mid)
            value = float(np.dot(q, div._phi(t)))
            centred = s - float(np.dot(q * t, s))
            slope = alpha * k * float(np.dot(q * div._t_phi_prime(t), centred))
        return value, slope

    if v_min > 0:
        x_hi = -math.log(v_min) + 37.0  # delta / v_min about 1e-16: the boundary itself
    else:
        x_hi = min(_LOG_SMALLEST, _LOG_SMALLEST / alpha)
    x0 = min(-math.log(alpha * math.sqrt(div.curvature * variance / (2.0 * rho))), x_hi)
    x = _newton_increasing(evaluate, rho, x0, x0 - _BELOW_GUESS, x_hi)
    w = weights(x)[1]
    return w * (1.0 / float(np.dot(q, w)))


def _solve_mixture_with_zero_group(div, q, t_boundary, rho):
    """Share ``s`` of the boundary solution mixed with the top zero-nominal group(s).

    ``D(s) = sum q phi(s t_b) + sigma (1 - s)`` decreases in ``s``; Newton on
    ``x = -log s``, starting from ``D(1) <= rho``.
    """
    sigma = div.slope_at_infinity

    def evaluate(x):
        s = math.exp(-x)
        u = t_boundary * s
        value = float(np.dot(q, div._phi(u))) + sigma * (1.0 - s)
        return value, sigma * s - float(np.dot(q, div._t_phi_prime(u)))

    if div.phi_at_zero < math.inf:
        x_hi = _LOG_SMALLEST + 50.0  # s = 0 to double precision, cost phi(0) + sigma
    else:
        # Keep s * t_b above about 1e-300 so that phi(s * t_b) stays finite.
        smallest = float(t_boundary.min(where=t_boundary > 0, initial=1.0))
        x_hi = max(_LOG_SMALLEST + math.log(smallest), 1e-12)
    x = _newton_increasing(evaluate, rho, 1.0, 0.0, x_hi)
    return math.exp(-x)


def _point_mass(q, mask):
    """Probability vector proportional to ``q`` on ``mask`` (uniform if ``q`` is 0 there)."""
    p = np.zeros_like(q)
    mass = float(np.add.reduce(q[mask]))
    if mass > 0:
        p[mask] = q[mask] / mass
    else:
        p[mask] = 1.0 / np.count_nonzero(mask)
    return p


def _solve_tv(losses, q, best, rho):
    """Total variation: move ``min(rho, 1 - q(top))`` from the lowest losses to the top."""
    top = losses == best
    q_top = float(np.add.reduce(q[top]))
    moved = min(rho, 1.0 - q_top)
    if moved >= 1.0 - q_top:
        return _point_mass(q, top)
    order = np.argsort(losses)
    cumulative = np.cumsum(q[order])
    k = min(int(np.searchsorted(cumulative, moved, side="left")), order.size - 1)
    level = losses[order[k]]
    if level == best:  # rounding pushed the cut into the top set
        level = losses[~top].max()
    p = q.copy()
    below = losses < level
    p[below] = 0.0
    rest = moved - float(np.add.reduce(q[below]))
    at_level = losses == level
    mass_at_level = float(np.add.reduce(q[at_level]))
    if rest > 0 and mass_at_level > 0:
        p[at_level] = q[at_level] * max(0.0, 1.0 - rest / mass_at_level)
    transferred = 1.0 - float(np.add.reduce(p[~top])) - q_top
    if q_top > 0:
        p[top] = q[top] * (1.0 + transferred / q_top)
    else:
        p[top] = transferred / np.count_nonzero(top)
    return p


def _scaled_gaps(losses, best, worst):
    """``(best - losses) / (best - worst)``, in [0, 1] and without overflow; ``None`` when
    ``best == worst``."""
    spread = best - worst
    if spread == 0:
        return None
    if math.isinf(spread):
        return (0.5 * best - 0.5 * losses) / (0.5 * best - 0.5 * worst)
    return (best - losses) / spread


def _solve(div, losses, q, positive, best, worst, rho):
    """Worst-case weights for validated inputs, ``rho > 0`` and unequal losses.

    ``positive`` is the mask ``q > 0``, or ``None`` when all of ``q`` is positive;
    ``best`` and ``worst`` are the largest and smallest losses. The result may exceed
    the radius by rounding (the caller corrects that).
    """
    if div.name == "tv":
        return _solve_tv(losses, q, best, rho)
    if positive is None:
        qp, lp, best_positive, worst_positive = q, losses, best, worst
    else:
        qp, lp = q[positive], losses[positive]
        best_positive, worst_positive = float(lp.max()), float(lp.min())
    zero_top = best > best_positive and div.slope_at_infinity < math.inf

    if not zero_top:
        # Only positive-nominal groups can (or are worth to) receive mass.
        v = _scaled_gaps(lp, best_positive, worst_positive)
        if v is None:
            return q.copy()
        top = v == 0
        q_top = float(np.dot(qp, top))
        if rho >= div._point_cost(q_top):
            pp = _point_mass(qp, top)
        else:
            mean = float(np.dot(qp, v))
            centred = v - mean
            variance = max(float(np.dot(qp * centred, centred)), 1e-300)
            if div.name == "kl" or div.theta > 1:
                # Smallest positive gap: where the point mass is reached (theta > 1) or
                # where the other weights underflow (KL).
                gap = float(v.min(where=~top, initial=1.0))
                if div.name == "kl":
                    pp = _solve_kl(qp, v, gap, mean, variance, rho)
                else:
                    ratios = _solve_power_above_one(div, qp, v, gap, variance, rho)
                    # The point mass is out of reach, so the answer is on the boundary;
                    # at large powers the fast solver can stop off it (mostly short).
                    if abs(float(np.dot(qp, div._phi(ratios))) / rho - 1.0) > _ON_BOUNDARY:
                        ratios = _solve_power_above_one_by_level(div, qp, v, variance, rho)
                    pp = qp * ratios
            else:
                pp = qp * _solve_power_below_one(div, qp, v, 0.0, variance, rho)
        if positive is None:
            return pp
        p = np.zeros_like(q)
        p[positive] = pp
        return p

    # theta < 1 and a zero-nominal group has the largest loss: mass may go there.
    top_zero = ~positive & (losses == best)
    if rho >= div.phi_at_zero + div.slope_at_infinity:
        return _point_mass(q, top_zero)
    v = _scaled_gaps(lp, best, worst_positive)  # in (0, 1]
    v_min = float(v.min())
    p = np.zeros_like(q)
    # Boundary of the interior regime: p ~ q (best - L) ** -alpha on positive groups.
    w_boundary = _power(v_min / v, 1.0 / (1.0 - div.theta))
    t_boundary = w_boundary / float(np.dot(qp, w_boundary))
    if rho < float(np.dot(qp, div._phi(t_boundary))):
        centred = v - float(np.dot(qp, v))
        variance = max(float(np.dot(qp * centred, centred)), 1e-300)
        p[positive] = qp * _solve_power_below_one(div, qp, v, v_min, variance, rho)
        return p
    s = _solve_mixture_with_zero_group(div, qp, t_boundary, rho)
    p[positive] = qp * t_boundary * s
    p[top_zero] = (1.0 - s) / np.count_nonzero(top_zero)
    return p


def _pull_toward_nominal(div, p, q, nominal, positive, rho):
    """Mix ``p`` with ``q`` just enough that ``I_phi(p || nominal)`` is at most ``rho``.

    ``q`` is ``nominal`` normalised to sum to one (the two differ by rounding at most);
    the divergence is measured against ``nominal`` as the caller would measure it. It is
    convex in ``p`` and (up to that rounding) zero at ``q``, so the mixture
    ``(1 - s) p + s q`` has divergence at most about ``(1 - s) I_phi(p || nominal)``.
    """
    value = div._value(p, nominal, positive)
    if value <= rho + _ROUNDING_SLACK * min(rho, 1.0):
        return p
    s = (value - rho) / value if math.isfinite(value) else 1e-12
    for _ in range(64):
        s = min(1.0, max(s, _MIN_MIX))
        candidate = p * (1.0 - s) + q * s
        if s == 1.0 or div._value(candidate, nominal, positive) <= rho:
            return candidate
        s *= 2.0
    return q.copy()


def worst_case_weights(losses, nominal, rho, divergence="kl"):
    """Exact worst-case group weights over a phi-divergence ball.

    Solves ``max_p sum_g p_g losses_g`` over probability vectors ``p`` with
    ``I_phi(p || nominal) <= rho`` (Algorithm 1, line 11 of the paper). The solution has
    a closed form up to one scalar found by a safeguarded Newton iteration (see the
    module docstring); the point mass on the highest-loss group(s) is returned whenever
    it is feasible. Ties between top groups are split in proportion to ``nominal``. For
    divergences with a finite ``lim phi(t) / t`` (``burg``, ``chi2``, ``tv``,
    ``hellinger``, Cressie-Read powers below 1) groups with zero nominal probability can
    receive mass; for the others they never do.

    Parameters
    ----------
    losses : array-like of shape (n_groups,)
        Finite per-group losses, any sign.
    nominal : array-like of shape (n_groups,)
        Centre of the ball: non-negative, summing to one within 1e-8 (renormalised to sum
        exactly to one before solving).
    rho : float
        Radius, finite and non-negative. ``rho = 0`` returns a copy of ``nominal``.
    divergence : str or CressieRead, default="kl"
        See :func:`check_divergence`.

    Returns
    -------
    p : ndarray of shape (n_groups,)
        Worst-case weights: on the simplex, with ``I_phi(p || nominal)`` as computed by
        :func:`divergence_value` at most ``rho`` (up to ``1e-13 * min(rho, 1)`` of
        rounding), and maximising ``p @ losses`` (to about 1e-9 relative).

    Raises
    ------
    ValueError
        If ``losses`` is not a finite 1-D array, ``nominal`` is not a probability vector of
        the same length, ``rho`` is negative or not finite, or the divergence is unknown.

    Examples
    --------
    >>> from pergdro_sklearn.divergences import worst_case_weights
    >>> worst_case_weights([1.0, 2.0, 3.0], [0.5, 0.3, 0.2], rho=0.1, divergence="kl")
    array([0.3096..., 0.3208..., 0.3694...])
    >>> worst_case_weights([1.0, 2.0, 3.0], [0.5, 0.3, 0.2], rho=0.1, divergence="tv")
    array([0.4, 0.3, 0.3])
    >>> worst_case_weights([1.0, 2.0, 3.0], [0.5, 0.3, 0.2], rho=5.0, divergence="kl")
    array([0., 0., 1.])
    """
    div = check_divergence(divergence)
    losses = _as_vector(losses, "losses")
    best = float(losses.max())
    worst = float(losses.min())
    if not (math.isfinite(best) and math.isfinite(worst)):
        raise ValueError("losses must be finite (no NaN or inf).")
    nominal, smallest, total = _probability_with_stats(nominal, "nominal", losses.size)
    if isinstance(rho, bool) or not isinstance(rho, numbers.Real):
        raise ValueError(f"rho must be a real number, got {rho!r}.")
    rho = float(rho)
    if not math.isfinite(rho) or rho < 0:
        raise ValueError(f"rho must be finite and non-negative, got {rho!r}.")
    if losses.size == 1:
        return np.ones(1)
    if rho == 0 or best == worst:
        return nominal.copy()
    q = nominal if total == 1.0 else nominal / total
    positive = None if smallest > 0 else q > 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        p = _solve(div, losses, q, positive, best, worst, rho)
        return _pull_toward_nominal(div, p, q, nominal, positive, rho)
