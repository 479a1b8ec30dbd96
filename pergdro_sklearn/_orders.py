"""The Wasserstein order's spellings, checked in one place (no numpy, no torch).

Training (:mod:`._train.wasserstein`) and the shift report (:mod:`._shift`) accept the
same orders: ``1``, ``2`` and infinity (``"inf"``, ``"infinity"``, ``math.inf``).
"""

import math
from numbers import Real

from ._constants import WASSERSTEIN_ORDERS


def check_order(order, name="order"):
    """Normalise a Wasserstein order to one of ``1``, ``2`` or ``"inf"``.

    Examples
    --------
    >>> check_order("Infinity"), check_order(2.0), check_order(math.inf)
    ('inf', 2, 'inf')
    """
    if isinstance(order, str):
        if order.lower() in ("inf", "infinity"):
            return "inf"
    elif isinstance(order, Real) and not isinstance(order, bool):
        if order == math.inf:
            return "inf"
        if order in (1, 2):
            return int(order)
    raise ValueError(f"{name} must be one of {WASSERSTEIN_ORDERS} (or 'infinity', np.inf); "
                     f"got {order!r}.")


__all__ = ["check_order"]
