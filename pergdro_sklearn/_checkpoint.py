"""The checkpoint of PerGDROSearchCV: evaluation records, fingerprint, atomic writes.

A checkpoint is one JSON file: a header (format, version, the search's
fingerprint, its seed, a hash of its splits, the dimension and group names) and
the list of finished evaluations, one :class:`EvaluationRecord` each. It is
rewritten atomically (temporary file, then ``os.replace``), so a reader sees the
old file or the new one, never a partial one.
"""

import contextlib
import dataclasses
import hashlib
import inspect
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from numbers import Integral, Real

import joblib
import numpy as np
from sklearn.base import is_classifier

from ._constants import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, NONFINITE_SCORE_PENALTY


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
    later must have a default, so that older checkpoints still load; arrays that
    only some searches need (for example each split's validation predictions)
    go into ``extra``, keyed by name.

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
    extra : dict
        Optional per-split arrays returned by the workers (name -> list per split).
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
        )

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
        return cls(**{k: v for k, v in payload.items() if k in names})


def stable_repr(value):
    """A repr without memory addresses (for fingerprints)."""
    if inspect.isfunction(value) or inspect.isclass(value):
        return f"{value.__module__}.{value.__qualname__}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {stable_repr(v)}"
                               for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))) + "}"
    if isinstance(value, np.ndarray):
        return f"array({value.tolist()!r})"
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def hash_folds(folds):
    """A hash of the ``(train, validation)`` index arrays."""
    digest = hashlib.sha256()
    for train, val in folds:
        digest.update(np.asarray(train, dtype=np.int64).tobytes())
        digest.update(b"|")
        digest.update(np.asarray(val, dtype=np.int64).tobytes())
        digest.update(b"#")
    return digest.hexdigest()


def fingerprint(data_digest, labels, group_index, arguments):
    """A hash of the data and of the arguments that change what a search evaluates.

    Parameters
    ----------
    data_digest : hashlib hash object
        Already updated with ``X`` and ``y`` (see :func:`digest_data`).
    labels : ndarray of shape (n_groups,)
    group_index : ndarray of shape (n_samples,)
    arguments : dict
        JSON-serialisable arguments (values through :func:`stable_repr`).

    Returns
    -------
    fingerprint : str
    """
    data_digest.update(repr(labels.tolist()).encode())
    data_digest.update(np.asarray(group_index, dtype=np.int64).tobytes())
    data_digest.update(json.dumps(arguments, sort_keys=True).encode())
    return data_digest.hexdigest()


def digest_data(X, y, is_classifier):
    """A sha256 object updated with ``X`` and ``y`` (classes by position)."""
    digest = hashlib.sha256()
    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        digest.update(repr(X.shape).encode())
        digest.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    else:  # what a Pipeline takes: a DataFrame, strings, ...
        digest.update(joblib.hash(X).encode())
    if is_classifier:
        classes, y_index = np.unique(y, return_inverse=True)
        digest.update(repr(classes.tolist()).encode())
        digest.update(np.asarray(y_index, dtype=np.int64).tobytes())
    else:
        digest.update(np.ascontiguousarray(y, dtype=np.float64).tobytes())
    return digest


def search_fingerprint_of(search, X, y, labels, group_index, space, template):
    """The fingerprint of a PerGDROSearchCV run: its data and every argument that
    changes what it evaluates (not ``n_iter``, ``n_points``, ``n_jobs``, ...)."""
    own = {template.path + name for name in ("rho", "epsilon", "verbose")}
    deep = template.is_pipeline  # a Pipeline's steps by their parameters
    estimator_params = {
        k: stable_repr(type(v) if deep and hasattr(v, "get_params") else v)
        for k, v in search.estimator.get_params(deep=deep).items()
        if k not in own and k != "steps"
    }
    cv = search.cv
    if not (cv is None or isinstance(cv, (Real, Integral)) or hasattr(cv, "split")):
        cv = "iterable"
    arguments = {
        "estimator": stable_repr(type(search.estimator)),
        "estimator_params": estimator_params,
        "space": space.describe(),
        "objective": stable_repr(search.objective),
        "n_initial_points": int(search.n_initial_points),
        "initial_point_generator": search.initial_point_generator,
        "acq_func": search.acq_func,
        "acq_optimizer": search.acq_optimizer,
        "acq_func_kwargs": stable_repr(search.acq_func_kwargs),
        "acq_optimizer_kwargs": stable_repr(search.acq_optimizer_kwargs),
        "cv": stable_repr(cv),
        "random_state": stable_repr(search.random_state),
        "error_score": stable_repr(search.error_score),
    }
    return fingerprint(digest_data(X, y, is_classifier(search.estimator)), labels,
                       group_index, arguments)


def write_json_atomic(path, payload):
    """Write ``payload`` as JSON to ``path`` atomically (temp file + ``os.replace``)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_checkpoint(path):
    """The header and records of the checkpoint at ``path`` (a dict), checked."""
    try:
        with open(path) as handle:
            payload = json.load(handle)
    except (OSError, ValueError) as exc:
        raise ValueError(f"checkpoint {os.fspath(path)!r} cannot be read as a "
                         f"PerGDROSearchCV checkpoint: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{os.fspath(path)!r} is not a PerGDROSearchCV checkpoint.")
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint {os.fspath(path)!r} has version {payload.get('version')}; "
                         f"this version of pergdro_sklearn reads version {CHECKPOINT_VERSION}.")
    evaluations = payload.get("evaluations")
    if not isinstance(evaluations, list):
        raise ValueError(f"checkpoint {os.fspath(path)!r} has no list of evaluations.")
    payload["evaluations"] = [
        EvaluationRecord.from_json(record, f"record {i} of checkpoint {os.fspath(path)!r}")
        for i, record in enumerate(evaluations)
    ]
    return payload


class Checkpoint:
    """The search's checkpoint file (``path=None``: no checkpoint, nothing saved).

    Parameters
    ----------
    path : str, path-like or None
    """

    def __init__(self, path):
        self.path = path
        self.header = None

    def load(self, fingerprint_):
        """The saved header and records of this search, or None for a new search.

        Raises ValueError when the directory is missing, the file is not a
        checkpoint, or it belongs to another search (another fingerprint).
        """
        if self.path is None:
            return None
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise ValueError(f"The directory of checkpoint {os.fspath(self.path)!r} "
                             "does not exist.")
        if not os.path.exists(self.path):
            return None
        payload = read_checkpoint(self.path)
        if payload.get("fingerprint") != fingerprint_:
            raise ValueError(
                f"checkpoint {os.fspath(self.path)!r} belongs to a different search (its "
                "arguments or data differ from this one's); delete it or pass another path "
                "to start a new search."
            )
        return payload

    def check_folds(self, state, folds_hash):
        """Refuse to resume a checkpoint written with other splits."""
        if state is not None and state.get("folds") != folds_hash:
            raise ValueError(
                f"checkpoint {os.fspath(self.path)!r} was written with other splits "
                "(a cv splitter without a fixed random_state?); it cannot be resumed."
            )

    def start(self, *, fingerprint, seed, folds_hash, dimensions, groups):
        """Set the header written with every save."""
        self.header = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                       "fingerprint": fingerprint, "seed": int(seed), "folds": folds_hash,
                       "dimensions": list(dimensions), "groups": list(groups)}

    def save(self, records):
        """Write the header and every record atomically (nothing without a path)."""
        if self.path is None:
            return
        write_json_atomic(self.path, {**self.header,
                                      "evaluations": [r.to_json() for r in records]})


__all__ = ["Checkpoint", "EvaluationRecord", "digest_data", "fingerprint", "hash_folds",
           "read_checkpoint", "search_fingerprint_of", "stable_repr", "write_json_atomic"]
