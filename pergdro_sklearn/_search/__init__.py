"""PerGDROSearchCV: Algorithm 2, the search over the radii.

- :mod:`.search`: the estimator (set-up, ``fit``); :mod:`.loop`: the ask/tell rounds;
  :mod:`.pick` and :mod:`.selection`: the pick rules and the refit; :mod:`.delegate`:
  prediction through the best estimator.
- :mod:`.space` and :mod:`.bounds`: the search space and its data-scaled bounds.
- :mod:`.evaluate`: fitting and scoring candidates in the workers; :mod:`.template`:
  Pipelines as candidates; :mod:`.halving`: successive halving.
- :mod:`.records` and :mod:`.checkpoint`: what every evaluation records, and the file.
- :mod:`.surrogate`: the Gaussian process.
"""

from .search import PerGDROSearchCV

__all__ = ["PerGDROSearchCV"]
