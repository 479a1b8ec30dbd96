"""User callbacks of the network estimators: ``callbacks=[obj, ...]``.

Each object has ``on_epoch_end(estimator, epoch, logs)``; it is called after
every training epoch with the estimator being fitted, the epoch number (1-based,
counted across warm starts) and a dict of what the epoch left behind. A callback
that returns True, or raises :class:`StopTraining`, ends training after that
epoch; the fit then finishes as if ``max_iter`` had been that epoch. Any other
exception propagates out of ``fit``, which leaves the estimator as it was.

The training loop (:mod:`.._train.loop`) calls one epoch function per epoch and
stops when it returns True; this module turns the user's objects into that
function and the loop's :class:`~.._train.loop.EpochRecord` into the logs.
"""

import numpy as np


class StopTraining(Exception):
    """Raised by a callback's ``on_epoch_end`` to end training after this epoch.

    The fit ends cleanly: the fitted attributes describe the epochs run, and
    ``n_iter_`` is the epoch in which the callback raised. Returning True from
    ``on_epoch_end`` does the same.

    Examples
    --------
    >>> from pergdro_sklearn import PerGDROClassifier, StopTraining
    >>> from pergdro_sklearn.datasets import make_shifted_groups
    >>> class StopAt:
    ...     def __init__(self, epoch):
    ...         self.epoch = epoch
    ...     def on_epoch_end(self, estimator, epoch, logs):
    ...         if epoch == self.epoch:
    ...             raise StopTraining
    >>> data = make_shifted_groups(random_state=0)
    >>> clf = PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0,
    ...                         callbacks=[StopAt(3)])
    >>> clf.fit(data.X_train, data.y_train, groups=data.groups_train).n_iter_
    3
    """


def check_callbacks(callbacks):
    """The callbacks as a list; a ValueError unless each has a callable ``on_epoch_end``."""
    if callbacks is None:
        return []
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(getattr(callback, "on_epoch_end", None)):
            raise ValueError(
                "every callback needs a method on_epoch_end(estimator, epoch, logs); "
                f"{callback!r} has none.")
    return callbacks


def epoch_logs(record, labels):
    """The logs of one epoch, from the loop's record (one candidate).

    Keys: ``loss`` (mean robust training loss), ``group_losses`` and
    ``group_weights`` (arrays in ``groups_`` order), ``groups`` (the labels), and
    with early stopping ``validation_group_losses`` and ``validation_loss`` (the
    worst group's), else None for both. Any further per-group array the loop
    records (e.g. ``group_accuracies``) is passed on under its own name.
    """
    val = record.validation_group_losses
    logs = {
        "loss": float(np.asarray(record.loss, dtype=float)),
        "group_losses": np.array(record.group_losses, dtype=float),
        "group_weights": np.array(record.group_weights, dtype=float),
        "groups": labels,
        "validation_group_losses": None if val is None else np.array(val, dtype=float),
        "validation_loss": None if val is None else float(np.max(val)),
    }
    for name, value in vars(record).items():
        if name not in logs and name != "epoch" and value is not None:
            logs[name] = np.array(value) if isinstance(value, np.ndarray) else value
    return logs


def user_epoch_callback(estimator, callbacks, labels):
    """``fn(trainer, record) -> bool`` calling every callback; True asks the loop to stop.

    All callbacks see every epoch they are called in; the epoch ends training when
    any of them returns True or raises :class:`StopTraining`.
    """
    def on_epoch_end(trainer, record):
        stop = False
        for callback in callbacks:
            logs = epoch_logs(record, labels)
            try:
                stop = bool(callback.on_epoch_end(estimator, int(record.epoch), logs)) or stop
            except StopTraining:
                stop = True
        return stop

    return on_epoch_end


__all__ = ["StopTraining", "check_callbacks", "epoch_logs", "user_epoch_callback"]
