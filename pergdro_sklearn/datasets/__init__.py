"""Data sets with group structure: the paper's synthetic task and real tabular data.

``make_shifted_groups`` draws the synthetic task of the paper's Appendix E. The loaders
``fetch_compas``, ``fetch_adult``, ``fetch_communities_crime``, ``fetch_hmda`` and
``fetch_slid`` download public data sets with group labels once, check their SHA-256 and
cache them under :func:`get_data_home` (``$PERGDRO_DATA_HOME`` or
``~/pergdro_sklearn_data``).
``train_val_test_split_by_group`` splits them by group, as the benchmarks do.
"""

from ._adult import fetch_adult
from ._base import get_data_home
from ._communities import fetch_communities_crime
from ._compas import fetch_compas
from ._hmda import fetch_hmda
from ._slid import fetch_slid
from ._split import train_val_test_split_by_group
from ._synthetic import APPENDIX_E_MEANS, make_shifted_groups

__all__ = [
    "APPENDIX_E_MEANS",
    "fetch_adult",
    "fetch_communities_crime",
    "fetch_compas",
    "fetch_hmda",
    "fetch_slid",
    "get_data_home",
    "make_shifted_groups",
    "train_val_test_split_by_group",
]
