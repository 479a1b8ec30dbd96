"""Evaluation records: typed fields, optional arrays from the workers, JSON round trip."""

import json

import numpy as np
from conftest import MECHANICS

from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn._search.checkpoint import read_checkpoint
from pergdro_sklearn._search.records import EvaluationRecord
from pergdro_sklearn._splits import make_group_folds
from pergdro_sklearn.datasets import make_shifted_groups

NET = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)


def validation_predictions(candidate, X_val, y_val, groups_val):
    return {"val_predictions": candidate.predict_proba(X_val)}


class PredictionsSearch(PerGDROSearchCV):
    _worker_extras = (validation_predictions,)


def test_workers_send_back_validation_predictions_into_the_records(tmp_path):
    d = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
    X, y, groups = d.X_train, d.y_train, d.groups_train
    folds = make_group_folds(0.25, groups, np.arange(4), classes_index=y, random_state=0)
    (train, val), = folds
    checkpoint = tmp_path / "search.json"
    search = PredictionsSearch(PerGDROClassifier(**NET), cv=folds, n_iter=3, n_initial_points=3,
                               checkpoint=checkpoint, refit=False, random_state=0,
                               **MECHANICS)
    search.fit(X, y, groups=groups)
    records = read_checkpoint(checkpoint)["evaluations"]
    assert len(records) == 3
    for record, params in zip(records, search.cv_results_["params"]):
        (predictions,) = record.extra["val_predictions"]  # one split
        candidate = PerGDROClassifier(**NET).set_params(**params).fit(
            X[train], y[train], groups=groups[train])
        np.testing.assert_allclose(predictions, candidate.predict_proba(X[val]), atol=1e-5)
    # the plain search sends back numbers only
    plain = tmp_path / "plain.json"
    PerGDROSearchCV(PerGDROClassifier(**NET), cv=folds, n_iter=2, n_initial_points=2,
                    checkpoint=plain, refit=False, random_state=0, selection="one_se",
                    **MECHANICS).fit(X, y, groups=groups)
    for r in json.loads(plain.read_text())["evaluations"]:
        # the pick's numbers, in typed fields: a standard error and a collapse flag per
        # split, no arrays, nothing left in extra
        assert "extra" not in r and "predictions" not in r
        assert len(r["std_error"]) == len(r["collapsed"]) == 1
        assert r["std_error"][0] > 0 and r["collapsed"] == [False]


def test_record_json_round_trip_and_older_records_without_new_fields():
    record = EvaluationRecord(rho=0.5, epsilon=[0.1, 0.2], test_objective=[0.3],
                              fit_time=[1.0], score_time=[0.1], val_loss=[[0.2, 0.3]],
                              val_metric=[[0.9, 0.8]], x=[0.5, 0.1, 0.2], origin=0,
                              extra={"val_predictions": [np.ones((2, 2))]})
    payload = json.loads(json.dumps(record.to_json()))
    assert EvaluationRecord.from_json(payload) == EvaluationRecord(
        **{**record.__dict__, "extra": {"val_predictions": [[[1.0, 1.0], [1.0, 1.0]]]}})
    del payload["extra"], payload["x"], payload["origin"]  # fields with defaults
    older = EvaluationRecord.from_json(payload)
    assert older.extra == {} and older.origin is None


def test_records_written_with_the_picks_numbers_in_extra_still_load():
    """Checkpoints from before the typed fields kept std_error, collapsed and
    predictions in ``extra``; they load into the fields."""
    payload = dict(rho=0.5, epsilon=[0.1], test_objective=[0.3], fit_time=[1.0],
                   score_time=[0.1], val_loss=[[0.2]], val_metric=[[0.9]], x=[0.5, 0.1],
                   extra={"std_error": [0.05], "collapsed": [True], "predictions": [[0.5]],
                          "mine": [1]})
    record = EvaluationRecord.from_json(payload)
    assert record.std_error == [0.05] and record.collapsed == [True]
    assert record.predictions == [[0.5]] and record.extra == {"mine": [1]}
