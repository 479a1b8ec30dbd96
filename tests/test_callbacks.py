"""callbacks= on the network estimators, and the device parameter's validation."""

import numpy as np
import pytest
import torch

from pergdro_sklearn import (
    GroupDROClassifier,
    GroupDRORegressor,
    PerGDROClassifier,
    PerGDRORegressor,
    PerGDROSearchCV,
    StopTraining,
)
from pergdro_sklearn._estimators.batched import fit_candidates

FAST = dict(hidden_layer_sizes=(8,), random_state=0)


class Recorder:
    """Keeps every call; stops at ``stop_at`` by returning True or raising StopTraining."""

    def __init__(self, stop_at=None, how="return"):
        self.stop_at, self.how, self.calls = stop_at, how, []

    def on_epoch_end(self, estimator, epoch, logs):
        self.calls.append((estimator, epoch, logs))
        if epoch == self.stop_at:
            if self.how == "raise":
                raise StopTraining
            return True
        return None


@pytest.mark.parametrize("how", ["return", "raise"])
@pytest.mark.parametrize("cls", [PerGDROClassifier, PerGDRORegressor, GroupDROClassifier,
                                 GroupDRORegressor])
def test_a_callback_stops_training_at_epoch_3(cls, how, shifted):
    y = shifted.y_train if "Classifier" in cls.__name__ else shifted.y_train.astype(float)
    recorder = Recorder(stop_at=3, how=how)
    est = cls(max_iter=20, callbacks=[recorder], **FAST)
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")  # no ConvergenceWarning for a stop
        est.fit(shifted.X_train, y, groups=shifted.groups_train)
    assert est.n_iter_ == 3
    assert len(est.loss_curve_) == 3 and len(est.group_weight_history_) == 3
    assert [epoch for _, epoch, _ in recorder.calls] == [1, 2, 3]
    assert all(called is est for called, _, _ in recorder.calls)
    est.predict(shifted.X_test[:5])  # a usable fitted model


def test_logs_hold_the_epoch_numbers(shifted):
    recorder = Recorder()
    est = PerGDROClassifier(max_iter=4, epsilon=0.1, early_stopping=True, callbacks=[recorder],
                            **FAST)
    est.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    logs = [calls[2] for calls in recorder.calls]
    assert len(logs) == est.n_iter_
    np.testing.assert_allclose([entry["loss"] for entry in logs], est.loss_curve_)
    for entry, group_losses, weights, val in zip(logs, est.group_loss_curve_,
                                                 est.group_weight_history_,
                                                 est.validation_group_loss_curve_):
        np.testing.assert_allclose(entry["group_losses"], group_losses)
        np.testing.assert_allclose(entry["group_weights"], weights)
        np.testing.assert_allclose(entry["validation_group_losses"], val)
        assert entry["validation_loss"] == pytest.approx(float(np.max(val)))
        assert entry["groups"].tolist() == est.groups_.tolist()
    plain = Recorder()
    PerGDROClassifier(max_iter=2, callbacks=[plain], early_stopping=False, **FAST).fit(
        shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert plain.calls[0][2]["validation_loss"] is None


def test_stop_counts_epochs_across_warm_starts(shifted):
    est = PerGDROClassifier(max_iter=2, warm_start=True, **FAST)
    est.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    recorder = Recorder(stop_at=3)
    est.set_params(max_iter=10, callbacks=[recorder]).fit(
        shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3
    assert [epoch for _, epoch, _ in recorder.calls] == [3]


def test_another_exception_leaves_the_estimator_unfitted(shifted):
    class Boom:
        def on_epoch_end(self, estimator, epoch, logs):
            if epoch == 2:
                raise KeyError("boom")

    est = PerGDROClassifier(max_iter=5, callbacks=[Boom()], **FAST)
    with pytest.raises(KeyError, match="boom"):
        est.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert not hasattr(est, "module_") and not hasattr(est, "n_iter_")


def test_bad_callbacks_are_refused_before_training(shifted):
    with pytest.raises(ValueError, match="on_epoch_end"):
        PerGDROClassifier(callbacks=[lambda *a: None], **FAST).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    with pytest.raises(ValueError, match="callbacks"):
        PerGDROClassifier(callbacks=Recorder(), **FAST).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)


def test_batched_fits_with_callbacks_run_one_by_one(shifted):
    est = PerGDROClassifier(max_iter=6, callbacks=[Recorder(stop_at=2)], **FAST)
    assert not est._can_fit_batched([{"rho": 0.0}, {"rho": 1.0}])
    fitted = fit_candidates(est, [{"rho": 0.0}, {"rho": 1.0}], shifted.X_train,
                            shifted.y_train, groups=shifted.groups_train)
    assert [f.n_iter_ for f in fitted] == [2, 2]
    assert [f.rho for f in fitted] == [0.0, 1.0]
    # each candidate got its own copy of the callback, which saw that candidate only
    for f in fitted:
        assert [epoch for _, epoch, _ in f.callbacks[0].calls] == [1, 2]
        assert all(called is f for called, _, _ in f.callbacks[0].calls)


# Every copy of SharedLog (clone deep-copies callbacks) appends to this one list.
SHARED_EPOCHS = []


class SharedLog(Recorder):
    def on_epoch_end(self, estimator, epoch, logs):
        SHARED_EPOCHS.append((id(estimator), epoch))
        return super().on_epoch_end(estimator, epoch, logs)


def test_search_with_callbacks_stops_every_candidate(shifted):
    SHARED_EPOCHS.clear()
    est = PerGDROClassifier(max_iter=8, callbacks=[SharedLog(stop_at=2)], **FAST)
    search = PerGDROSearchCV(est, n_iter=3, n_initial_points=2, n_points=2, refit=False,
                             random_state=0, baselines=None)
    search.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert len(search.cv_results_["mean_test_objective"]) == 3
    # the search's fits ran in this process (n_jobs=None): each of the 3 candidates
    # trained epochs 1 and 2, then its callback stopped it
    fits = {}
    for fit_id, epoch in SHARED_EPOCHS:
        fits.setdefault(fit_id, []).append(epoch)
    assert len(fits) == 3 and all(epochs == [1, 2] for epochs in fits.values())


# ---- device ---------------------------------------------------------------------
@pytest.mark.parametrize("device", ["cpu", torch.device("cpu"), "cpu:0"])
def test_cpu_devices_are_accepted(device, shifted):
    est = PerGDROClassifier(max_iter=1, device=device, **FAST)
    est.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert next(est.module_.parameters()).device.type == "cpu"


@pytest.mark.parametrize("device, match", [
    ("gpu", "not a device torch understands"),
    ("cuda:x", "not a device torch understands"),
])
def test_unknown_device_strings_are_refused(device, match, shifted):
    est = PerGDROClassifier(max_iter=1, device=device, **FAST)
    with pytest.raises(ValueError, match=match):
        est.fit(shifted.X_train, shifted.y_train, groups=shifted.groups_train)
    assert not hasattr(est, "module_")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_a_gpu_is_a_clear_error(device, shifted):
    with pytest.raises(ValueError, match="torch sees no CUDA device"):
        PerGDROClassifier(max_iter=1, device=device, **FAST).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)


@pytest.mark.skipif(torch.backends.mps.is_available(), reason="needs a machine without MPS")
def test_mps_without_the_backend_is_a_clear_error(shifted):
    with pytest.raises(ValueError, match="'mps' backend is not available"):
        PerGDROClassifier(max_iter=1, device="mps", **FAST).fit(
            shifted.X_train, shifted.y_train, groups=shifted.groups_train)


def test_device_of_another_type_is_refused():
    with pytest.raises(ValueError, match="device"):
        PerGDROClassifier(max_iter=1, device=3, **FAST).fit(np.zeros((4, 2)), [0, 1, 0, 1])
