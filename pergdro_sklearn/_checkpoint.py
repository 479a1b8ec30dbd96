"""The checkpoint of PerGDROSearchCV: evaluation records, fingerprint, atomic writes.

A checkpoint is one JSON file: a header (format, version, the search's
fingerprint, its seed, a hash of its splits, the dimension and group names) and
the list of finished evaluations, one :class:`EvaluationRecord` each. It is
rewritten atomically (temporary file, then ``os.replace``) after every scored
evaluation, so a reader sees the old file or the new one, never a partial one,
and a kill loses only the evaluations in flight.

While a search uses a checkpoint it holds an exclusive lock (``fcntl.flock`` on
the sidecar file ``<checkpoint>.lock``, released by the system when the process
ends, however it ends): a second search on the same checkpoint is refused with a
ValueError before it trains anything, so two processes never overwrite each
other's evaluations. Where ``fcntl`` is missing (Windows) there is no lock.

The whole file is validated when it is loaded, before any training: a broken
record is an error that names the checkpoint and the record, and the file is
left untouched.
"""

import contextlib
import dataclasses
import hashlib
import inspect
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from numbers import Integral, Real

import joblib
import numpy as np
from sklearn.base import is_classifier

from ._constants import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, NONFINITE_SCORE_PENALTY

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: checkpoints are not locked
    fcntl = None


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
    round : int or None
        The round of the search that proposed the point (None in checkpoints
        written before rounds were recorded); a resumed search replays the
        rounds in order so that it proposes what the uninterrupted one would have.
    epochs : list or None
        Per split, the epochs the candidate trained before successive halving
        dropped it, or None where it trained to ``max_iter``; None for the whole
        record when it was never dropped.
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
        )

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
        "space": space if isinstance(space, dict) else space.describe(),
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
    if search.halving_factor is not None:  # absent otherwise: older checkpoints still match
        arguments["halving"] = [float(search.halving_factor), int(search.halving_rungs)]
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
    if record.epochs is not None:
        if not isinstance(record.epochs, list) or len(record.epochs) != n_splits or any(
                e is not None and (isinstance(e, bool) or not isinstance(e, Integral) or e < 1)
                for e in record.epochs):
            raise ValueError(f"{where} has epochs={record.epochs!r:.60}; expected null or one "
                             f"entry per split ({n_splits}), each null or an integer >= 1.")


class Checkpoint:
    """The search's checkpoint file (``path=None``: no checkpoint, nothing saved).

    :meth:`load` takes the file's lock (held until :meth:`release`) and reads and
    validates it; :meth:`append` adds one scored evaluation and rewrites the file
    atomically.

    Parameters
    ----------
    path : str, path-like or None
    """

    def __init__(self, path):
        self.path = path
        self.header = None
        self.records = []
        self._lock = None

    @property
    def _name(self):
        return os.fspath(self.path)

    def acquire(self):
        """Take the exclusive lock of the checkpoint, or raise ValueError if another
        search (in this or another process) holds it."""
        if self.path is None or fcntl is None or self._lock is not None:
            return
        handle = open(self._name + ".lock", "a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise ValueError(
                f"checkpoint {self._name!r} is in use by another search (process {owner}); "
                "two searches on one checkpoint would overwrite each other's evaluations. "
                "Wait for it to finish, then fit again to resume, or pass another path."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def release(self):
        """Release the lock (the lock file stays; it is reused)."""
        if self._lock is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def load(self, fingerprint_):
        """Lock the checkpoint; its saved header and records, or None for a new search.

        Raises ValueError when the directory is missing, another search holds the
        lock, the file is not a checkpoint, or it belongs to another search
        (another fingerprint). On error the lock is released.
        """
        if self.path is None:
            return None
        directory = os.path.dirname(os.path.abspath(self.path))
        if not os.path.isdir(directory):
            raise ValueError(f"The directory of checkpoint {self._name!r} does not exist.")
        self.acquire()
        try:
            if self._lock is not None:
                self._remove_stale_temporaries(directory)
            if not os.path.exists(self.path):
                return None
            payload = read_checkpoint(self.path)
            if payload.get("fingerprint") != fingerprint_:
                raise ValueError(
                    f"checkpoint {self._name!r} belongs to a different search (its "
                    "arguments or data differ from this one's); delete it or pass another "
                    "path to start a new search."
                )
        except BaseException:
            self.release()
            raise
        self.records = list(payload["evaluations"])
        return payload

    def _remove_stale_temporaries(self, directory):
        """Delete the temporary files of writes cut short by a kill (under the lock, no
        other search writes this checkpoint)."""
        prefix = "." + os.path.basename(self.path) + "."
        for name in os.listdir(directory):
            if name.startswith(prefix) and name.endswith(".tmp"):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))

    def check_folds(self, state, folds_hash):
        """Refuse to resume a checkpoint written with other splits."""
        if state is not None and state.get("folds") != folds_hash:
            raise ValueError(
                f"checkpoint {self._name!r} was written with other splits "
                "(a cv splitter without a fixed random_state?); it cannot be resumed."
            )

    def validate(self, state, dimensions, bounds, groups, n_splits):
        """Check the loaded header and every record against this search, before any
        training; a ValueError names the checkpoint and the record. With
        ``n_splits=None`` only the header is checked."""
        if state is None:
            return
        name = f"checkpoint {self._name!r}"
        if not isinstance(state.get("seed"), Integral) or isinstance(state.get("seed"), bool):
            raise ValueError(f"{name} has seed={state.get('seed')!r}; expected an integer.")
        for key, expected in (("dimensions", list(dimensions)), ("groups", list(groups))):
            if state.get(key) != expected:
                raise ValueError(f"{name} has {key}={state.get(key)!r:.200}; this search has "
                                 f"{expected!r:.200}.")
        if n_splits is None:
            return
        for i, record in enumerate(state["evaluations"]):
            check_record(record, f"record {i} of {name}", bounds, len(groups), n_splits)

    def start(self, *, fingerprint, seed, folds_hash, dimensions, groups):
        """Set the header written with every save."""
        self.header = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                       "fingerprint": fingerprint, "seed": int(seed), "folds": folds_hash,
                       "dimensions": list(dimensions), "groups": list(groups)}

    def append(self, record):
        """Add one scored evaluation and rewrite the file (nothing without a path)."""
        self.records.append(record)
        self.save()

    def save(self, records=None):
        """Write the header and every record atomically (nothing without a path)."""
        if records is not None:
            self.records = list(records)
        if self.path is None:
            return
        write_json_atomic(self.path, {**self.header,
                                      "evaluations": [r.to_json() for r in self.records]})


class Replay:
    """The saved records of a resumed search, handed back round by round.

    A resumed search runs its rounds again from the start: it proposes each
    round's points as the interrupted run did (the same seed and the same
    results told in the same order give the same proposals), takes the saved
    results of the points it finds in the checkpoint and evaluates only the
    others (those of the round that was cut short). So it proposes what the
    uninterrupted search would have, and never evaluates a saved point again.
    Records without a round (older checkpoints), and all the rest when a round's
    proposals no longer contain its saved points (``n_points`` or ``n_jobs``
    changed, say), are told to the optimiser at once instead.

    Parameters
    ----------
    records : list of EvaluationRecord
        The checkpoint's records, in file order.
    """

    def __init__(self, records):
        self._saved = {}  # point -> record, not replayed yet
        self._unrounded = []
        for record in records:
            if record.round is None:
                self._unrounded.append(record)
            else:
                self._saved.setdefault(tuple(record.x), record)
        self.next_free_round = 1 + max((r.round for r in self._saved.values()), default=-1)

    def unrounded(self):
        """The records saved without a round (to tell at once, before the rounds)."""
        records, self._unrounded = self._unrounded, []
        return records

    def match(self, round_number, xs):
        """``{tuple(x): record}`` of the points of ``xs`` saved in any round (consumed),
        when every saved point of round ``round_number`` is among ``xs``; else None
        (nothing consumed)."""
        wanted = {tuple(x) for x in xs}
        if any(r.round == round_number and point not in wanted
               for point, r in self._saved.items()):
            return None
        return {point: self._saved.pop(point) for point in wanted if point in self._saved}

    def take_rest(self):
        """Every record not replayed yet, in round order."""
        rest = sorted(self._saved.values(), key=lambda r: r.round)
        self._saved = {}
        return rest


def evaluate_round(saved, number, xs, origins, evaluate, params, checkpoint):
    """The records of round ``number`` in ``xs`` order: the ``saved`` ones (by point)
    reused, the others evaluated with ``evaluate`` and appended to ``checkpoint`` one
    by one, as soon as each is scored."""
    todo = [j for j, x in enumerate(xs) if tuple(x) not in saved]

    def keep(position, record):
        j = todo[position]
        record.x, record.origin, record.round = xs[j], origins[j], number
        checkpoint.append(record)

    fresh = evaluate([params(xs[j]) for j in todo], on_record=keep) if todo else []
    fresh = dict(zip(todo, fresh))
    return [saved[tuple(x)] if tuple(x) in saved else fresh[j] for j, x in enumerate(xs)]


def replace_repeats(xs, evaluated, space, rng):
    """``xs`` with every point already in ``evaluated`` (or repeated within ``xs``)
    replaced by a random point of ``space`` drawn with ``rng``: no point is
    evaluated twice."""
    seen = set(evaluated)
    unique = []
    for x in xs:
        while tuple(x) in seen:
            x = [float(v) for v in space.rvs(random_state=rng)[0]]
        seen.add(tuple(x))
        unique.append(x)
    return unique


__all__ = ["Checkpoint", "EvaluationRecord", "Replay", "check_record", "digest_data",
           "evaluate_round", "fingerprint", "hash_folds", "read_checkpoint", "replace_repeats",
           "search_fingerprint_of", "stable_repr", "write_json_atomic"]
