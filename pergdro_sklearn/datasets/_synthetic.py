"""Synthetic data with group structure and a group-specific shift."""

import numpy as np
from sklearn.utils import Bunch, check_random_state

# Appendix E of the paper: four Gaussian groups in R^2, symmetric about x1 = 0.
APPENDIX_E_MEANS = np.array([[5, 5], [-5, -5], [5, -5], [-5, 5]], dtype=float) / 3.0
APPENDIX_E_LABELS = np.array([0, 1, 0, 1])
APPENDIX_E_TRAIN_COUNTS = (500, 420, 140, 140)
APPENDIX_E_SHIFT_MEAN = np.array([-2.0, -0.5])
APPENDIX_E_SHIFT_VARIANCE = 0.3
APPENDIX_E_SHIFTED_GROUP = 3


def make_shifted_groups(n_train=APPENDIX_E_TRAIN_COUNTS, n_val=None, n_test=None,
                        shuffle=True, random_state=None):
    """The synthetic task of the paper's Appendix E.

    Four groups in R^2 with ``x | g ~ N(mu_g, I)``, ``mu = (5/3, 5/3), (-5/3, -5/3),
    (5/3, -5/3), (-5/3, 5/3)`` and ``y = 0`` for groups 0 and 2, ``y = 1`` for
    groups 1 and 3. The rows of group 3 in the training and validation splits get an
    additive shift drawn from ``N((-2, -0.5), 0.3 I)``; the test split is clean.

    Parameters
    ----------
    n_train : sequence of 4 int, default=(500, 420, 140, 140)
        Rows per group in the training split (the paper's imbalance).
    n_val, n_test : sequence of 4 int, default=None
        Rows per group in the validation and test splits; by default half of
        ``n_train`` each (the paper does not state them).
    shuffle : bool, default=True
        Whether to put the rows of each split in random order, as
        :func:`sklearn.datasets.make_classification` does. With False the rows come
        sorted by group (group 0 first), which an unshuffled ``KFold`` (``cv=3`` in
        :func:`~sklearn.model_selection.cross_validate`, say) cuts into folds that miss
        whole groups. Both orders hold the same rows for the same ``random_state``:
        the shuffle permutes them after they are drawn.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train``, ``y_train``, ``groups_train`` and the same for ``_val`` and
        ``_test``; ``shifted_group`` (3) and ``description``.

    Examples
    --------
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> data = make_shifted_groups(random_state=0)
    >>> data.X_train.shape, data.X_val.shape, data.X_test.shape
    ((1200, 2), (600, 2), (600, 2))
    >>> import numpy as np
    >>> np.bincount(data.groups_train).tolist()
    [500, 420, 140, 140]
    >>> data.groups_train[:8].tolist()  # shuffled rows
    [0, 0, 3, 1, 1, 0, 0, 3]
    >>> make_shifted_groups(shuffle=False, random_state=0).groups_train[:3].tolist()
    [0, 0, 0]
    """
    rng = check_random_state(random_state)
    n_train = _check_counts(n_train, "n_train")
    n_val = _check_counts(n_val if n_val is not None else n_train // 2, "n_val")
    n_test = _check_counts(n_test if n_test is not None else n_train // 2, "n_test")
    splits, order = {}, {}
    for name, counts, shifted in (("train", n_train, True), ("val", n_val, True),
                                  ("test", n_test, False)):
        groups = np.repeat(np.arange(4), counts)
        X = APPENDIX_E_MEANS[groups] + rng.standard_normal((groups.size, 2))
        if shifted:
            rows = groups == APPENDIX_E_SHIFTED_GROUP
            noise = rng.standard_normal((int(rows.sum()), 2))
            X[rows] += APPENDIX_E_SHIFT_MEAN + np.sqrt(APPENDIX_E_SHIFT_VARIANCE) * noise
        splits[f"X_{name}"] = X
        splits[f"y_{name}"] = APPENDIX_E_LABELS[groups]
        splits[f"groups_{name}"] = groups
        order[name] = groups.size
    if shuffle:  # after every draw, so that both orders hold the same rows
        for name, n_rows in order.items():
            permutation = rng.permutation(n_rows)
            for key in (f"X_{name}", f"y_{name}", f"groups_{name}"):
                splits[key] = splits[key][permutation]
    return Bunch(
        **splits,
        shifted_group=APPENDIX_E_SHIFTED_GROUP,
        description="Appendix E of Per-GDRO: 4 Gaussian groups, group 3 shifted in "
        "train/validation only.",
    )


def _check_counts(counts, name):
    counts = np.asarray(counts, dtype=int)
    if counts.shape != (4,) or np.any(counts < 1):
        raise ValueError(f"{name} must hold 4 positive counts, got {counts.tolist()}.")
    return counts


__all__ = ["make_shifted_groups"]
