"""The checkpoint file of PerGDROSearchCV: fingerprint, lock, validation, atomic writes.

A checkpoint is one JSON file: a header (format, version, the search's
fingerprint, its seed, a hash of its splits, the dimension and group names) and
the list of finished evaluations, one :class:`~_search.records.EvaluationRecord`
each. It is
rewritten atomically (temporary file, then ``os.replace``) after every scored
evaluation, so a reader sees the old file or the new one, never a partial one.
Split scores that are final before their evaluation is complete (candidates that
successive halving dropped, single splits) are appended at once to the journal
``<checkpoint>.journal`` (:mod:`.journal`), so a kill loses only the training in
flight; the journal is emptied when its round is in the main file.

The path is resolved (``os.path.realpath``) before anything else: the lock, the
journal, the temporary files and the saves all belong to the file itself, so two
searches reaching one checkpoint by two paths (one through a symlink) are two
searches on one checkpoint, and a save through a symlink replaces the target,
never the link. A save keeps the file's mode; a new checkpoint gets the mode that
``open`` gives a new file (``0o666`` less the umask), so a shared directory's
umask decides who may read it, as for any file the user writes.

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
import hashlib
import inspect
import json
import os
import re
import tempfile
from numbers import Integral, Real

import joblib
import numpy as np
from sklearn.base import is_classifier

from .._constants import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from .journal import JournalWriter, clear_journal, local_workers, read_journal
from .records import EvaluationRecord, check_record
from .selection import PREDICTION_RULES

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: checkpoints are not locked
    fcntl = None


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
    own = {template.path + name for name in ("rho", "epsilon", "verbose", "callbacks")}
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
        "objective": stable_repr(search._objective()),
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
    if search._halving() is not None:  # absent otherwise: older checkpoints still match
        arguments["halving"] = [float(search._halving()), int(search.halving_rungs)]
        if search.selection != "one_se":  # halving without the one-SE band
            arguments["halving"].append("no band")
    return fingerprint(digest_data(X, y, is_classifier(search.estimator)), labels,
                       group_index, arguments)


def _umask():
    """The process's file mode creation mask (read without changing it where possible)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: read by setting it, then restored
    os.umask(mask)
    return mask


def file_mode(path):
    """The mode a save of ``path`` gets: the existing file's, else that of a new file
    made by ``open`` (``0o666`` less the umask)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~_umask()


def write_json_atomic(path, payload):
    """Write ``payload`` as JSON to ``path`` atomically (temp file + ``os.replace``).

    ``path`` is resolved first (a symlink stays a symlink: its target is
    replaced), and the file keeps its mode; a new file gets the mode ``open``
    would give it (``0o666`` less the umask), not the temporary file's 0600.
    """
    path = os.path.realpath(os.fspath(path))
    directory = os.path.dirname(path)
    mode = file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        os.fchmod(fd, mode)
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

    :meth:`load` takes the file's lock (held until :meth:`release`) and reads and
    validates it; :meth:`append` adds one scored evaluation and rewrites the file
    atomically.

    Parameters
    ----------
    path : str, path-like or None
    """

    def __init__(self, path):
        self.given = None if path is None else os.fspath(path)
        # one file, whatever the path it is reached by (a symlink, a relative path):
        # the lock, the journal and every save go to the file itself
        self.path = None if path is None else os.path.realpath(self.given)
        self.header = None
        self.records = []
        self.journaled = {}
        self._round = None
        self._lock = None

    @property
    def _name(self):
        if self.given is not None and self.given != self.path:
            return f"{self.given} (= {self.path})"
        return self.given

    @property
    def journal_path(self):
        """The journal of split scores not yet in the main file (see :mod:`.journal`)."""
        return None if self.path is None else self.path + ".journal"

    def acquire(self):
        """Take the exclusive lock of the checkpoint, or raise ValueError if another
        search (in this or another process) holds it."""
        if self.path is None or fcntl is None or self._lock is not None:
            return
        handle = open(self.path + ".lock", "a+")
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
            self.journaled = read_journal(self.journal_path, fingerprint_)
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

    def check_predictions(self, state, selection):
        """Refuse to resume, with a rule of ``PREDICTION_RULES``, evaluations
        saved without the validation predictions these rules need (written by a search
        with another ``selection``), before any training."""
        if state is None or selection not in PREDICTION_RULES:
            return
        missing = [i for i, r in enumerate(state["evaluations"])
                   if r.predictions is None and not r.failed]
        if missing:
            raise ValueError(
                f"checkpoint {self._name!r} holds {len(missing)} saved evaluation(s) without "
                f"validation predictions (record {missing[0]} first): it was written by a "
                f"search with a selection that keeps none, and selection={selection!r} "
                "needs them to pick. Resume it with the "
                "selection it was written with (the pick can then be changed with "
                "pick_candidates), or pass another checkpoint path.")

    def start(self, *, fingerprint, seed, folds_hash, dimensions, groups):
        """Set the header written with every save."""
        self.header = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                       "fingerprint": fingerprint, "seed": int(seed), "folds": folds_hash,
                       "dimensions": list(dimensions), "groups": list(groups)}

    def begin_round(self, number, xs):
        """The points ``xs`` of round ``number`` go to the workers (in this order)."""
        self._round = (int(number), [tuple(float(v) for v in x) for x in xs])

    def journaled_points(self, number, n_splits):
        """The points of round ``number`` whose every split score is in the journal."""
        count = {}
        for r, x, _ in self.journaled:
            if r == number:
                count[x] = count.get(x, 0) + 1
        return {x for x, c in count.items() if c == n_splits}

    def round_context(self, n_candidates):
        """``(known, journal)`` for the candidates of the current round: the journal's
        final scores ``{(i, k): SplitScore}`` and the writer the workers append to
        (None without a path, or with workers on other machines)."""
        if self.path is None or self._round is None or len(self._round[1]) != n_candidates:
            return {}, None
        number, keys = self._round
        position = {x: i for i, x in enumerate(keys)}
        known = {(position[x], k): score for (r, x, k), score in self.journaled.items()
                 if r == number and x in position}
        writer = None
        if self._lock is not None or fcntl is None:
            if local_workers():
                writer = JournalWriter(self.journal_path, self.header["fingerprint"], number,
                                       tuple(keys))
        return known, writer

    def end_round(self, number):
        """Every evaluation of round ``number`` is in the main file: empty the journal."""
        if self.path is not None:
            self.journaled = {key: s for key, s in self.journaled.items() if key[0] > number}
            if not self.journaled:
                clear_journal(self.journal_path)
        self._round = None

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


__all__ = [
    "Checkpoint",
    "Replay",
    "digest_data",
    "fingerprint",
    "hash_folds",
    "read_checkpoint",
    "search_fingerprint_of",
    "stable_repr",
    "write_json_atomic",
]
