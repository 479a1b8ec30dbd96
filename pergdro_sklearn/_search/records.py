"""The record of one evaluated candidate of the search, and its validation.

Every field is typed: the workers fill them (:mod:`.evaluate`), the checkpoint
saves and reloads them (:mod:`.checkpoint`), the pick rules read them.
"""

import dataclasses
import math
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from .._constants import NONFINITE_SCORE_PENALTY


def _plain(value):
    """``value`` with numpy arrays and scalars turned into JSON's lists and floats."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class EvaluationRecord:
    """One evaluated candidate: its radii and, per split, what the workers measured.

    Lists indexed by split hold one entry per validation split. Fields added
    later must have a default, so that older checkpoints still load. What every
    search's pick reads (``std_error``, ``collapsed``, ``predictions``) has a field
    of its own; ``extra`` holds only what a subclass's ``_worker_extras`` add.

    Attributes
    ----------
    rho : float
    epsilon : list of float
        One radius per group, in ``groups_`` order.
    test_objective : list of float
        Validation objective per split (lower is better); ``error_score`` where
        the fit or the scoring failed.
    fit_time, score_time : list of float
        Seconds per split.
    val_loss : list of list of float
        Clean validation loss per split and group (NaN for a group absent from
        a validation part).
    val_metric : list of list of float
        Validation accuracy (classifiers) or mean squared error (regressors)
        per split and group.
    error : str or None
        The first traceback of a failed fit or scoring, else None.
    x : list of float or None
        The point of the optimiser's space.
    origin : int or None
        Position in the initial design, None for a point the optimiser proposed.
    std_error : list of float or None
        Per split, the standard error of the worst group's mean row loss (or
        error rate) on the validation rows; NaN for objectives without one. None
        in records written before it was recorded.
    collapsed : list of bool or None
        Per split, whether the candidate predicted one class (or a constant) for
        every validation row.
    predictions : list or None
        Per split, the validation predictions (probabilities or predicted values),
        kept only by ``selection="ensemble"``.
    extra : dict
        Per-split values that a subclass's ``_worker_extras`` return (name -> list
        per split); empty for the package's own searches.
    round : int or None
        The round of the search that proposed the point (None in checkpoints
        written before rounds were recorded); a resumed search replays the
        rounds in order so that it proposes what the uninterrupted one would have.
    epochs : list or None
        Per split, the epochs the candidate trained before successive halving
        dropped it, or None where it trained to ``max_iter``; None for the whole
        record when it was never dropped.
    params : dict
        The candidate's values of the parameters searched beside the radii
        (``search_spaces``); empty when only the radii are searched.
    model : str or None
        The name of a baseline (``baselines``; its radii are NaN), None for a
        candidate of the search. Baselines are never saved in checkpoints.
    """

    rho: float
    epsilon: list
    test_objective: list
    fit_time: list
    score_time: list
    val_loss: list
    val_metric: list
    error: object = None
    x: object = None
    origin: object = None
    extra: dict = field(default_factory=dict)
    round: object = None
    epochs: object = None
    std_error: object = None
    collapsed: object = None
    predictions: object = None
    params: dict = field(default_factory=dict)
    model: object = None

    # Checkpoints written before the fields above existed kept them in ``extra``.
    _LEGACY_EXTRA = ("std_error", "collapsed", "predictions")

    @classmethod
    def from_splits(cls, params, splits, x=None, origin=None):
        """A record from a candidate's parameters and one ``SplitScore`` per split."""
        error = next((s.error for s in splits if s.error is not None), None)
        extra = {}
        for name in sorted({key for s in splits for key in s.extra}):
            extra[name] = [_plain(s.extra.get(name)) for s in splits]
        return cls(
            rho=float(params["rho"]),
            epsilon=[float(v) for v in params["epsilon"]],
            test_objective=[float(s.objective) for s in splits],
            fit_time=[float(s.fit_time) for s in splits],
            score_time=[float(s.score_time) for s in splits],
            val_loss=[[float(v) for v in s.val_loss] for s in splits],
            val_metric=[[float(v) for v in s.val_metric] for s in splits],
            error=error, x=x, origin=origin, extra=extra,
            epochs=(None if all(s.epochs is None for s in splits)
                    else [None if s.epochs is None else int(s.epochs) for s in splits]),
            std_error=[float(s.std_error) for s in splits],
            collapsed=[bool(s.collapsed) for s in splits],
            predictions=(None if all(s.predictions is None for s in splits)
                         else [_plain(s.predictions) for s in splits]),
            params={k: _plain(v) for k, v in params.items() if k not in ("rho", "epsilon")},
        )

    @property
    def candidate_params(self):
        """The candidate's parameters: ``rho``, ``epsilon`` (an array) and the others;
        ``{"model": name}`` for a baseline."""
        if self.model is not None:
            return {"model": self.model}
        return {"rho": self.rho, "epsilon": np.array(self.epsilon), **self.params}

    @property
    def dropped(self):
        """Whether successive halving dropped this candidate on some split."""
        return self.epochs is not None and any(e is not None for e in self.epochs)

    @property
    def mean_objective(self):
        """Mean validation objective across splits."""
        return float(np.mean(self.test_objective))

    @property
    def failed(self):
        """Whether a fit or a scoring of this candidate failed on some split."""
        return self.error is not None

    def penalised(self):
        """The value told to the optimiser: the mean objective, or the penalty.

        Non-finite means and failed candidates (whatever their ``error_score``)
        become ``NONFINITE_SCORE_PENALTY``.
        """
        value = self.mean_objective
        return value if np.isfinite(value) and not self.failed else NONFINITE_SCORE_PENALTY

    def to_json(self):
        """The record as a JSON-ready dict (``extra`` only when it holds something)."""
        payload = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        if not payload["extra"]:
            del payload["extra"]
        if payload["predictions"] is None:
            del payload["predictions"]
        if not payload["params"]:
            del payload["params"]
        if payload["model"] is None:
            del payload["model"]
        return payload

    @classmethod
    def from_json(cls, payload, where="a checkpoint"):
        """Read a record written by :meth:`to_json`; ``where`` names it in errors."""
        if not isinstance(payload, dict):
            raise ValueError(f"{where} is not an evaluation record: {payload!r:.80}.")
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - set(payload))
        if missing:
            raise ValueError(f"{where} lacks the field(s) {missing}.")
        fields = {k: v for k, v in payload.items() if k in names}
        extra = fields.get("extra")
        if isinstance(extra, dict) and any(k in extra for k in cls._LEGACY_EXTRA):
            extra = dict(extra)
            for name in cls._LEGACY_EXTRA:
                if name in extra and fields.get(name) is None:
                    fields[name] = extra.pop(name)
            fields["extra"] = extra
        return cls(**fields)


def _is_number(value, finite=True):
    """A JSON number (not a bool); finite unless ``finite=False`` (NaN, inf allowed)."""
    if isinstance(value, bool) or not isinstance(value, (Integral, Real)):
        return False
    return not finite or math.isfinite(value)


def _check_list(value, length, where, name, finite=True, nested=None):
    """``value`` is a list of ``length`` numbers (or of lists of ``nested`` numbers)."""
    if not isinstance(value, list) or len(value) != length:
        got = f"{len(value)} entries" if isinstance(value, list) else repr(value)[:60]
        raise ValueError(f"{where} has {name} with {got}; expected a list of {length}.")
    for item in value:
        if nested is not None:
            _check_list(item, nested, where, f"an entry of {name}", finite)
        elif not _is_number(item, finite):
            raise ValueError(f"{where} has {name} with the entry {item!r}; expected "
                             f"{'finite ' if finite else ''}numbers.")


def check_record(record, where, bounds, n_groups, n_splits):
    """Raise ValueError (naming ``where``) unless ``record`` fits this search.

    ``bounds`` are the ``(low, high)`` of the search's dimensions.
    """
    if not _is_number(record.rho) or record.rho < 0:
        raise ValueError(f"{where} has rho={record.rho!r}; expected a number >= 0.")
    _check_list(record.epsilon, n_groups, where, "epsilon")
    if any(value < 0 for value in record.epsilon):
        raise ValueError(f"{where} has a negative epsilon {record.epsilon}.")
    _check_list(record.test_objective, n_splits, where, "test_objective", finite=False)
    _check_list(record.fit_time, n_splits, where, "fit_time")
    _check_list(record.score_time, n_splits, where, "score_time")
    _check_list(record.val_loss, n_splits, where, "val_loss", finite=False, nested=n_groups)
    _check_list(record.val_metric, n_splits, where, "val_metric", finite=False,
                nested=n_groups)
    if record.error is not None and not isinstance(record.error, str):
        raise ValueError(f"{where} has error={record.error!r:.60}; expected a string or null.")
    if record.x is None:
        raise ValueError(f"{where} has no point x.")
    _check_list(record.x, len(bounds), where, "x (the point in the search space)")
    for value, (low, high) in zip(record.x, bounds):
        if not low <= value <= high:
            raise ValueError(f"{where} has x={record.x}, outside the search space {bounds}.")
    for name in ("origin", "round"):
        value = getattr(record, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, Integral)
                                  or value < 0):
            raise ValueError(f"{where} has {name}={value!r}; expected an integer >= 0 or null.")
    if not isinstance(record.extra, dict):
        raise ValueError(f"{where} has extra={record.extra!r:.60}; expected an object.")
    if not isinstance(record.params, dict) or not all(
            _is_number(v) for v in record.params.values()):
        raise ValueError(f"{where} has params={record.params!r:.60}; expected an object of "
                         "numbers.")
    # entries may be null where a split's fit failed (records written before 0.4)
    if record.std_error is not None and (
            not isinstance(record.std_error, list) or len(record.std_error) != n_splits
            or not all(e is None or _is_number(e, finite=False) for e in record.std_error)):
        raise ValueError(f"{where} has std_error={record.std_error!r:.60}; expected null or "
                         f"one number per split ({n_splits}).")
    if record.collapsed is not None and (
            not isinstance(record.collapsed, list) or len(record.collapsed) != n_splits
            or not all(c is None or isinstance(c, bool) for c in record.collapsed)):
        raise ValueError(f"{where} has collapsed={record.collapsed!r:.60}; expected null or "
                         f"one true/false per split ({n_splits}).")
    if record.predictions is not None and (
            not isinstance(record.predictions, list) or len(record.predictions) != n_splits):
        raise ValueError(f"{where} has predictions with {len(record.predictions)} entries"
                         if isinstance(record.predictions, list) else
                         f"{where} has predictions={record.predictions!r:.60}"
                         f"; expected null or one entry per split ({n_splits}).")
    if record.epochs is not None:
        if not isinstance(record.epochs, list) or len(record.epochs) != n_splits or any(
                e is not None and (isinstance(e, bool) or not isinstance(e, Integral) or e < 1)
                for e in record.epochs):
            raise ValueError(f"{where} has epochs={record.epochs!r:.60}; expected null or one "
                             f"entry per split ({n_splits}), each null or an integer >= 1.")


__all__ = [
    "EvaluationRecord",
    "check_record",
]
