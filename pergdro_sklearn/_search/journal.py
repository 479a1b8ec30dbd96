"""The journal of a checkpoint: split scores saved the moment they are final.

A checkpoint's main file (:mod:`.checkpoint`) holds whole evaluations, a
candidate scored on every split. What is final earlier is kept in the journal,
the sidecar file ``<checkpoint>.journal``: each worker appends one line per
task as soon as scores are final (a candidate that successive halving dropped
at a rung, or a task's candidates once trained), so a kill loses only the
training in flight, never a score. Each line is one JSON object::

    {"fingerprint": ..., "round": r, "split": k, "scores": [{"x": [...], "score": {...}}]}

written with a single ``write`` in append mode and flushed to disk; a line cut
short by a kill (no final newline, or not JSON) is ignored when the journal is
read. The search that holds the checkpoint's lock empties the journal when a
round's evaluations are all in the main file.

The journal is written only where the workers share this machine's files
(joblib's sequential, thread, loky and multiprocessing backends); with other
backends (Dask, say) the main file alone is the checkpoint, as before.
"""

import contextlib
import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from .records import _plain

#: joblib backends whose workers write this machine's files
LOCAL_BACKENDS = ("SequentialBackend", "ThreadingBackend", "LokyBackend",
                  "MultiprocessingBackend")


def local_workers():
    """Whether joblib's active backend runs its workers on this machine."""
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return any(type(cls).__name__ in LOCAL_BACKENDS or cls.__name__ in LOCAL_BACKENDS
               for cls in type(backend).__mro__ if isinstance(cls, type))


def score_to_json(score):
    """A :class:`~_search.evaluate.SplitScore` as a JSON-ready dict (lossless)."""
    return {key: _plain(value) for key, value in asdict(score).items()}


def score_from_json(payload):
    """The :class:`~_search.evaluate.SplitScore` written by :func:`score_to_json`."""
    from .evaluate import SplitScore

    fields = dict(payload)
    for name in ("val_loss", "val_metric"):
        fields[name] = np.asarray(fields[name], dtype=float)
    if fields.get("predictions") is not None:
        fields["predictions"] = np.asarray(fields["predictions"], dtype=np.float32)
    return SplitScore(**fields)


@dataclass(frozen=True)
class JournalWriter:
    """What a worker needs to journal its final scores: picklable, no open file.

    Parameters
    ----------
    path : str
        The journal file.
    fingerprint : str
        The search's fingerprint, written on every line.
    round : int
        The round of the candidates.
    keys : tuple of tuple
        The point ``x`` of each candidate of the evaluation, by position.
    """

    path: str
    fingerprint: str
    round: int
    keys: tuple

    def write(self, split, positions, scores):
        """Append the final ``scores`` of candidates ``positions`` on ``split``."""
        if not positions:
            return
        line = json.dumps({
            "fingerprint": self.fingerprint, "round": int(self.round), "split": int(split),
            "scores": [{"x": list(self.keys[i]), "score": score_to_json(s)}
                       for i, s in zip(positions, scores)],
        }) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)


def read_journal(path, fingerprint):
    """``{(round, tuple(x), split): SplitScore}`` of the journal at ``path`` (empty if
    there is none). A last line cut short by a kill is dropped from the file; a
    line of another search is a ValueError naming the journal."""
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ValueError(f"checkpoint journal {path!r} cannot be read: {exc}") from None
    scores = {}
    complete = content[:content.rfind(b"\n") + 1]
    lines = complete.splitlines()
    for number, line in enumerate(lines):
        try:
            entry = json.loads(line)
            items = [((int(entry["round"]), tuple(float(v) for v in item["x"]),
                       int(entry["split"])), score_from_json(item["score"]))
                     for item in entry["scores"]]
        except (ValueError, KeyError, TypeError) as exc:
            if number == len(lines) - 1:
                break  # the last write, garbled by a crash: ignored
            raise ValueError(f"line {number + 1} of checkpoint journal {path!r} is not a "
                             f"journal entry: {exc!r:.200}") from None
        if entry.get("fingerprint") != fingerprint:
            raise ValueError(
                f"checkpoint journal {path!r} belongs to a different search (its "
                "arguments or data differ from this one's); delete it and its "
                "checkpoint, or pass another path.")
        scores.update(items)
    if len(complete) < len(content):  # a torn last write: cut it off before appending
        with open(path, "r+b") as handle:
            handle.truncate(len(complete))
    return scores


def clear_journal(path):
    """Empty the journal (its scores are all in the main file)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


__all__ = ["JournalWriter", "clear_journal", "local_workers", "read_journal",
           "score_from_json", "score_to_json"]
