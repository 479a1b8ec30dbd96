"""``group_shift_report``: each group's metric under a within-group shift of its features.

numpy and scikit-learn only: the gradient attack of the package's networks is
reached through their private ``_shift_attack`` / ``_shift_losses`` methods
(:mod:`._estimators.shift`), so this module never imports torch. Any other fitted
model with ``predict`` (and ``predict_proba`` where it has one) is attacked by a
gradient-free random search. pandas is imported only for the frame that comes back.
"""

import math
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.utils import check_random_state

from ._constants import (
    DEFAULT_BOOTSTRAP_CONFIDENCE,
    DEFAULT_N_BOOTSTRAP,
    DEFAULT_SHIFT_POINTS,
    DEFAULT_SHIFT_QUERIES,
    DEFAULT_SHIFT_RADII,
    EVAL_ATTACK_STEPS,
)
from ._orders import check_order
from ._report import _check_options, _import_pandas, bootstrap_interval
from ._scores import _check_groups

ATTACK_OPTIONS = ("auto", "gradient", "random")
# log loss of a predicted probability of 0 is that of this one (as log_loss clips)
_PROBABILITY_FLOOR = 1e-15
# a metric that moved by k points to within this much counts as moved by k points
_POINTS_TOLERANCE = 1e-9


# ---- validation ------------------------------------------------------------------


def check_shift_order(order):
    """``1``, ``2`` or ``"inf"`` from the spellings ``wasserstein_order`` accepts."""
    return check_order(order, "order")


def check_radii(radii):
    """The radii sorted, as floats: a non-empty sequence of distinct finite values >= 0."""
    if isinstance(radii, (str, bytes)) or np.ndim(radii) != 1:
        raise ValueError(f"radii must be a sequence of non-negative floats such as "
                         f"[0, 0.1, 0.5]; got {radii!r}.")
    values = []
    for radius in radii:
        if isinstance(radius, bool) or not isinstance(radius, (Real, np.number)) or \
                not math.isfinite(radius) or radius < 0:
            raise ValueError(f"every radius must be a finite float >= 0; got {radius!r} "
                             f"in radii={list(radii)!r}.")
        values.append(float(radius))
    if not values:
        raise ValueError("radii is empty: give at least one radius, e.g. [0, 0.1, 0.5].")
    names = [radius_name(r) for r in values]
    if len(set(names)) != len(names):
        raise ValueError(f"radii holds the same radius twice (as a column name): {names}.")
    return sorted(values)


def check_points(points):
    """The accuracy points as a list of positive floats."""
    listed = [points] if isinstance(points, (Real, np.number)) else list(points)
    for value in listed:
        if isinstance(value, bool) or not isinstance(value, (Real, np.number)) or \
                not math.isfinite(value) or value <= 0:
            raise ValueError(f"points must be a positive float or a sequence of them; got "
                             f"{points!r}.")
    if not listed:
        raise ValueError("points is empty: give e.g. points=5 (five accuracy points).")
    return [float(value) for value in listed]


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1; got {value!r}.")
    return int(value)


def radius_name(radius):
    """A radius as it appears in the column names: ``0.1``, ``1``, ``1e-05``."""
    return f"{float(radius):g}"


def points_name(points):
    return f"{float(points):g}pt"


# ---- the model under attack ----------------------------------------------------------


def _network(estimator):
    """The package's network behind ``estimator`` (itself, a search's refit, an ensemble
    of networks such as the refit of ``refit_seeds`` > 1), or None."""
    model = estimator
    if hasattr(model, "best_estimator_") and hasattr(model, "cv_results_"):
        model = model.best_estimator_
    if hasattr(model, "_shift_attack"):
        return model
    members, weights = getattr(model, "estimators_", None), getattr(model, "weights_", None)
    if members and weights is not None and all(hasattr(m, "_shift_attack") and hasattr(
            m, "module_") for m in members) and len(
            {(m._is_classifier_flag, m._loss_name) for m in members}) == 1:
        return _NetworkEnsemble(list(members), weights)
    return None


class _NetworkEnsemble:
    """The ``_shift_*`` protocol of a weighted average of the package's networks."""

    def __init__(self, networks, weights):
        self.networks, self.weights = networks, np.asarray(weights, dtype=float)
        self._is_classifier_flag = networks[0]._is_classifier_flag

    def _shift_attack(self, X, y, radius, order, steps):
        return self.networks[0]._shift_attack(X, y, radius, order, steps,
                                              ensemble=(self.networks, self.weights))

    def _shift_losses(self, X, y):
        return self.networks[0]._shift_losses(X, y, ensemble=(self.networks, self.weights))

    def _shift_lipschitz(self, X, y, radius, order):
        return self.networks[0]._shift_lipschitz(X, y, radius, order,
                                                 ensemble=(self.networks, self.weights))


class _Model:
    """One fitted model and what the report needs of it, row by row.

    ``harm(X, y)`` returns per-row arrays: for a classifier ``(wrong, loss, pred)``
    (``loss`` None without ``predict_proba`` or a network's own loss), for a
    regressor ``(squared_error, loss, pred)``.
    """

    def __init__(self, estimator, X, network):
        if not hasattr(estimator, "predict"):
            raise ValueError(f"{type(estimator).__name__} has no predict: "
                             "group_shift_report needs a fitted model.")
        self.estimator, self.network = estimator, network
        self.classifier = bool(is_classifier(estimator) or getattr(
            network, "_is_classifier_flag", False))
        self.columns = getattr(X, "columns", None)
        self.proba = self.classifier and network is None and hasattr(estimator,
                                                                    "predict_proba")
        self.classes = np.asarray(getattr(estimator, "classes_", [])) if self.proba else None
        self.argmax_is_predict = None

    def _input(self, X):
        """``X`` as the model was given it: a DataFrame with the user's columns, or an array."""
        if self.columns is None:
            return X
        pandas = _import_pandas()
        return pandas.DataFrame(X, columns=self.columns)

    def predict(self, X):
        return np.asarray(self.estimator.predict(self._input(X)))

    def harm(self, X, y, fast=False):
        """``(wrong or squared error, loss or None, predictions)`` per row.

        ``fast``: a classifier whose ``predict`` was seen to be the argmax of its
        ``predict_proba`` (on the clean rows) is called once, for the probabilities.
        """
        loss = None
        if self.proba:
            proba = np.asarray(self.estimator.predict_proba(self._input(X)), dtype=float)
            loss = self._log_loss(proba, y)
            argmax = self.classes[np.argmax(proba, axis=1)]
            if fast and self.argmax_is_predict:
                pred = argmax
            else:
                pred = self.predict(X)
                if self.argmax_is_predict is None:
                    self.argmax_is_predict = bool(np.array_equal(argmax, pred))
        else:
            pred = self.predict(X)
        if self.network is not None:
            loss = self.network._shift_losses(X, y)
        if self.classifier:
            return pred != y, loss, pred
        squared = np.square(pred.astype(float) - y).reshape(pred.shape[0], -1).mean(axis=1)
        return squared, (squared if loss is None else loss), pred

    def _log_loss(self, proba, y):
        classes = self.classes
        column = np.clip(np.searchsorted(classes, y), 0, classes.shape[0] - 1)
        if not np.all(classes[column] == y):
            raise ValueError("y holds classes the model was not fitted on.")
        return -np.log(np.clip(proba[np.arange(proba.shape[0]), column],
                               _PROBABILITY_FLOOR, None))

    def metric(self, y, pred):
        if self.classifier:
            return float(accuracy_score(y, pred))
        return float(mean_squared_error(y, pred))


def _more_harm(a, b):
    """Rows where the per-row harm ``a`` exceeds ``b``: misclassified first, then the loss."""
    first, loss_a = a[0], a[1]
    second, loss_b = b[0], b[1]
    if first.dtype == bool:
        worse = first & ~second
        if loss_a is not None:
            worse |= (first == second) & (loss_a > loss_b)
        return worse
    return first > second


def _pick(mask, a, b):
    """Per row, ``a`` where ``mask`` else ``b`` (for harm triples and arrays)."""
    picked = []
    for x, z in zip(a, b):
        if x is None:
            picked.append(None)
        else:
            shape = (-1,) + (1,) * (np.ndim(x) - 1)
            picked.append(np.where(mask.reshape(shape), x, z))
    return tuple(picked)


def _group_more_harm(a, b):
    """Whether the whole group's harm ``a`` exceeds ``b`` (its metric first, then its loss)."""
    keys_a = [float(np.mean(a[0]))] + ([float(np.mean(a[1]))] if a[1] is not None else [])
    keys_b = [float(np.mean(b[0]))] + ([float(np.mean(b[1]))] if b[1] is not None else [])
    return keys_a > keys_b


def _clip_rows(delta, radius):
    """Each row of ``delta`` scaled into the L2 ball of ``radius``."""
    norms = np.linalg.norm(delta, axis=1, keepdims=True)
    scale = np.where(norms > radius, radius / np.where(norms > 0, norms, 1.0), 1.0)
    return delta * scale


def random_search(model, X, y, radius, start, start_harm, n_queries, rng):
    """The gradient-free attack: a greedy random search in every row's ball of ``radius``.

    From ``start`` (the best perturbation found at a smaller radius, or zero),
    each query moves every row by a step from its best point so far and keeps the
    move where the row's harm grew (misclassified first, then the log loss; the
    squared error for a regressor); each move is clipped to the row's ball
    (``||delta_i|| <= radius``, L2). The first ``2 * n_features`` queries step by
    ``radius`` along each feature, up and down (the moves a tree's splits answer
    to); the others along a uniformly random direction, by a length uniform in
    ``(0, radius]``. A query is one call of ``predict`` (and one of
    ``predict_proba``) on the group's rows.
    """
    n, d = X.shape
    delta, harm = start.copy(), start_harm
    for query in range(n_queries):
        if query < 2 * d:
            step = np.zeros((n, d))
            step[:, query // 2] = radius if query % 2 == 0 else -radius
        else:
            direction = rng.standard_normal((n, d))
            direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-300)
            step = direction * (radius * (1.0 - rng.uniform(size=(n, 1))))
        candidate = _clip_rows(delta + step, radius)
        new = model.harm(X + candidate, y, fast=True)
        better = _more_harm(new, harm)
        if better.any():
            delta = np.where(better[:, None], candidate, delta)
            harm = _pick(better, new, harm)
    return delta


def _gradient_attack(model, X, y, radii, order, steps):
    """One group's rows attacked by the network at every radius (ascending)."""
    clean = model.harm(X, y)
    best_delta, best = np.zeros_like(X), clean
    out = []
    for radius in radii:
        if radius == 0:
            out.append(X)  # no call of the attack: the clean rows themselves
            continue
        X_raw = model.network._shift_attack(X, y, radius, order, steps)
        raw = model.harm(X_raw, y)
        # a row the ascent left less harmed than clean goes back to its clean point
        # (always inside the budget)
        revert = _more_harm(clean, raw)
        delta = np.where(revert[:, None], 0.0, X_raw - X)
        harm = _pick(revert, clean, raw)
        # what was found at a smaller radius is inside this one's budget too
        if order == "inf":
            keep = _more_harm(best, harm)
            delta = np.where(keep[:, None], best_delta, delta)
            harm = _pick(keep, best, harm)
        elif _group_more_harm(best, harm):
            delta, harm = best_delta, best
        best_delta, best = delta, harm
        out.append(X + delta)
    return out


def _random_attack(model, X, y, radii, n_queries, rng):
    """Every row attacked by the random search at every radius (ascending).

    Each row's ball is its own, so all the rows are searched at once (one model
    call per query for all the groups); a radius starts from the best points of
    the radius below it.
    """
    best_delta = np.zeros_like(X)
    best = model.harm(X, y, fast=True)
    out = []
    for radius in radii:
        if radius == 0:
            out.append(X)
            continue
        best_delta = random_search(model, X, y, radius, best_delta, best, n_queries, rng)
        best = model.harm(X + best_delta, y, fast=True)
        out.append(X + best_delta)
    return out


# ---- the report ------------------------------------------------------------------------


def _check_X(X, y):
    if sp.issparse(X):
        raise ValueError("group_shift_report attacks dense numeric features; give X as a "
                         "dense array (X.toarray()).")
    try:
        X_array = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("X must be numeric: the attack moves the features the model is "
                         "given (encode categories first, e.g. in a Pipeline's earlier "
                         "steps, and report on the encoded X).") from None
    if X_array.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features); got shape {X_array.shape}.")
    if not np.all(np.isfinite(X_array)):
        raise ValueError("X holds NaN or infinite values; the attack needs finite features.")
    y = np.asarray(y)
    if y.shape[0] != X_array.shape[0]:
        raise ValueError(f"X has {X_array.shape[0]} rows but y has {y.shape[0]}.")
    return X_array, y


def _resolve_attack(attack, network):
    if attack not in ATTACK_OPTIONS:
        raise ValueError(f"attack must be one of {ATTACK_OPTIONS}; got {attack!r}.")
    if attack == "auto":
        return "gradient" if network is not None else "random"
    if attack == "gradient" and network is None:
        raise ValueError("attack='gradient' needs one of the package's network estimators "
                         "(a search whose refit is one, an average of them); a Pipeline or any "
                         "other model is attacked with attack='random' (or 'auto').")
    return attack


def _first_radius_losing(metric, values, radii, points, lower_is_better):
    """The smallest radius whose metric is ``points`` (hundredths) worse than ``metric``."""
    for radius, value in zip(radii, values):
        cost = value - metric if lower_is_better else metric - value
        if cost >= points / 100.0 - _POINTS_TOLERANCE:
            return radius
    return float("nan")


def group_shift_report(estimator, X, y, groups, radii=DEFAULT_SHIFT_RADII, order="inf", *,
                       points=DEFAULT_SHIFT_POINTS, attack="auto",
                       attack_steps=EVAL_ATTACK_STEPS, n_queries=DEFAULT_SHIFT_QUERIES,
                       n_bootstrap=DEFAULT_N_BOOTSTRAP,
                       confidence=DEFAULT_BOOTSTRAP_CONFIDENCE, random_state=0):
    """Each group's metric under a worst-case shift of its own features, radius by radius.

    For every group ``g``, its rows alone are attacked within a Wasserstein ball
    of radius ``r`` around them (the labels stay; only ``g``'s rows move) to
    maximise the loss, and the metric (accuracy for a classifier, mean squared
    error for a regressor) is computed again on the attacked rows. The budget is
    the package's (:class:`~pergdro_sklearn.PerGDROClassifier`'s
    ``wasserstein_order``, L2 ground norm): ``order="inf"`` lets every row move
    by at most ``r`` (``||delta_i||_2 <= r``), ``2`` bounds the group's
    ``mean ||delta_i||^2`` by ``r^2``, ``1`` its ``mean ||delta_i||`` by ``r``.

    Two attacks (``attack="auto"`` chooses):

    - ``"gradient"``, for the package's network estimators, a search whose refit
      is one, and the average of several that ``refit_seeds`` makes (its loss is
      that of the average): projected gradient ascent on the training loss,
      ``attack_steps`` steps of ``2.5 r / attack_steps`` from the clean rows, the
      within-group attack of training and of ``robust_risk``.
    - ``"random"``, for any fitted model with ``predict`` (a Pipeline, a
      gradient-boosted tree): a gradient-free greedy random search in every row's
      ball of radius ``r``, ``n_queries`` model calls per radius and group, seeded
      by ``random_state`` (the first ``2 * n_features`` queries step along each
      feature, up and down; see :ref:`group_shift_report`). It never uses a shared
      budget: for orders 1 and 2 it attacks within the per-row ball of radius
      ``r``, which lies inside the shared budget, so it reports a weaker shift
      than the budget allows.

    Both attacks keep a row's clean point where the attack found nothing more
    harmful (misclassified first, then the loss), and keep what a smaller radius
    found (it lies inside the larger budget too), so a group's accuracy never
    rises with the radius (its MSE never falls), and at radius 0 the rows are not
    moved: ``metric_at_0`` is the clean ``metric`` exactly. The attacks find a
    shift, not the worst one: the columns are upper bounds on the worst-case
    accuracy (lower bounds on the worst-case MSE).

    For the package's networks (default ``module=``) the report adds
    Proposition 1's certified bound on the group's attacked mean loss: with the
    group alone (``p = p_hat = 1``) the bound is ``L_g + Lip(l) * r``, the clean
    mean loss plus the certified Lipschitz constant of the loss in the features
    (the spectral norms of the layers, :meth:`~pergdro_sklearn.PerGDROClassifier.risk_bound`)
    times the radius, and it holds for every shift within the budget, whatever
    attack found ``loss_at_<r>``.

    Parameters
    ----------
    estimator : fitted estimator
        A classifier or regressor with ``predict``: one of the package's, a
        :class:`~pergdro_sklearn.PerGDROSearchCV`, a Pipeline, any scikit-learn
        model.
    X : array-like of shape (n_samples, n_features)
        Numeric features, in the space the model is given them (a Pipeline's
        input): the attack moves these. A DataFrame is given back to the model as
        one, with its columns. Standardise them, or read the radii in their units.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    groups : array-like of shape (n_samples,) or (n_samples, n_attributes)
        Group label of each row; several columns are intersected, as in ``fit``.
    radii : sequence of float, default=(0.0, 0.1, 0.25, 0.5, 1.0)
        Non-negative, distinct radii, attacked in increasing order (sorted).
    order : {1, 2, "inf"}, default="inf"
        The budget (see above); ``"infinity"`` and ``np.inf`` mean ``"inf"``.
    points : float or sequence of float, default=5.0
        For each ``k``, the column ``radius_to_lose_<k>pt``: the smallest radius of
        ``radii`` at which the group's metric is ``k`` hundredths worse than clean
        (accuracy ``k`` percentage points lower; MSE ``k / 100`` higher), NaN when no
        radius given costs that much. The answer is read off the grid: a finer
        ``radii`` gives a finer answer.
    attack : {"auto", "gradient", "random"}, default="auto"
        ``"auto"``: the gradient attack for the package's networks, the random
        search for any other model.
    attack_steps : int, default=10
        Steps of the gradient attack.
    n_queries : int, default=100
        Model calls of the random search per radius and group.
    n_bootstrap : int, default=1000
        Resamples of the clean metric's bootstrap interval (0 leaves it NaN).
    confidence : float, default=0.95
        Coverage of the interval.
    random_state : int, RandomState instance or None, default=0
        Seeds the bootstrap and the random search.

    Returns
    -------
    report : pandas.DataFrame
        One row per group (index ``group``, sorted labels), wide: ``n`` (rows),
        ``metric``, ``metric_low``, ``metric_high`` (clean, with its bootstrap
        interval), ``metric_at_<r>`` per radius, ``loss`` and ``loss_at_<r>`` (the
        mean loss: a network's training loss, the log loss of a classifier with
        ``predict_proba``, the squared error of a regressor; NaN for a classifier
        with ``predict`` only), ``certified_bound_at_<r>`` (NaN but for the
        package's networks) and ``radius_to_lose_<k>pt`` per ``points``. ``<r>``
        is the radius as ``f"{r:g}"`` (``metric_at_0.25``). ``attrs`` holds
        ``metric`` (``"accuracy"`` or ``"mse"``), ``lower_is_better``, ``radii``,
        ``order``, ``attack`` (``"gradient"`` or ``"random"``), ``attack_steps`` or
        ``n_queries``, ``points``, ``n_bootstrap`` and ``confidence``.

    See Also
    --------
    group_report : the clean metrics per group.
    pergdro_sklearn.plotting.GroupShiftDisplay : the report drawn, one curve per group.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> from pergdro_sklearn.metrics import group_shift_report
    >>> data = make_shifted_groups(random_state=0)
    >>> model = HistGradientBoostingClassifier(max_iter=20, random_state=0)
    >>> model = model.fit(data.X_train, data.y_train)
    >>> report = group_shift_report(model, data.X_test, data.y_test, data.groups_test,
    ...                             radii=[0, 0.5], n_queries=20, n_bootstrap=100)
    >>> bool((report["metric_at_0"] == report["metric"]).all())
    True
    >>> bool((report["metric_at_0.5"] <= report["metric"]).all())
    True
    >>> report.attrs["attack"]
    'random'
    """
    pandas = _import_pandas()
    _check_options(n_bootstrap, confidence, ())
    radii = check_radii(radii)
    order = check_shift_order(order)
    points = check_points(points)
    attack_steps = _check_positive_int(attack_steps, "attack_steps")
    n_queries = _check_positive_int(n_queries, "n_queries")
    network = _network(estimator)
    attack = _resolve_attack(attack, network)
    X_model, (X, y) = X, _check_X(X, y)
    labels = _check_groups(y, groups)
    model = _Model(estimator, X_model, network)
    rng = check_random_state(random_state)
    search_rng = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
    metric_fn = accuracy_score if model.classifier else mean_squared_error
    names = [radius_name(r) for r in radii]
    columns = ["n", "metric", "metric_low", "metric_high"]
    columns += [f"metric_at_{n}" for n in names] + ["loss"]
    columns += [f"loss_at_{n}" for n in names] + [f"certified_bound_at_{n}" for n in names]
    columns += [f"radius_to_lose_{points_name(k)}" for k in points]
    present = np.unique(labels)
    masks = [labels == label for label in present]
    if attack == "random":
        attacked = _random_attack(model, X, y, radii, n_queries, search_rng)
    else:
        attacked = [X if radius == 0 else X.copy() for radius in radii]
        for mask in masks:
            for k, X_adv in enumerate(_gradient_attack(model, X[mask], y[mask], radii,
                                                       order, attack_steps)):
                if radii[k] > 0:
                    attacked[k][mask] = X_adv
    _, clean_loss, clean_pred = model.harm(X, y)
    at = [model.harm(X_adv, y) for X_adv in attacked]  # row by row: sliced per group
    rows = []
    for mask in masks:
        y_g, pred = y[mask], clean_pred[mask]
        row = {"n": int(mask.sum()), "metric": model.metric(y_g, pred)}
        row["metric_low"], row["metric_high"] = bootstrap_interval(
            y_g, pred, metric_fn, n_bootstrap, confidence, rng)
        row["loss"] = float("nan") if clean_loss is None else float(np.mean(clean_loss[mask]))
        for radius, name, (_, adv_loss, adv_pred) in zip(radii, names, at):
            row[f"metric_at_{name}"] = model.metric(y_g, adv_pred[mask])
            row[f"loss_at_{name}"] = (float("nan") if adv_loss is None
                                      else float(np.mean(adv_loss[mask])))
            lipschitz = None if network is None else network._shift_lipschitz(
                X[mask], y_g, radius, order)
            row[f"certified_bound_at_{name}"] = (
                float("nan") if lipschitz is None else row["loss"] + lipschitz * radius)
        for k in points:
            row[f"radius_to_lose_{points_name(k)}"] = _first_radius_losing(
                row["metric"], [row[f"metric_at_{n}"] for n in names], radii, k,
                not model.classifier)
        rows.append(row)
    index = pandas.Index([v.item() if hasattr(v, "item") else v for v in present],
                         name="group")
    report = pandas.DataFrame(rows, index=index, columns=columns)
    report.attrs.update(
        metric="accuracy" if model.classifier else "mse",
        lower_is_better=not model.classifier, radii=tuple(radii), order=order,
        attack=attack, points=tuple(points), n_bootstrap=int(n_bootstrap),
        confidence=float(confidence),
        **({"attack_steps": attack_steps} if attack == "gradient" else
           {"n_queries": n_queries}))
    return report


__all__ = ["check_radii", "check_shift_order", "group_shift_report", "random_search"]
