"""Fault injection on PerGDROSearchCV's checkpoint.

Faults: a kill at random points during a round (several seeds), two searches on
one checkpoint at once, truncated and corrupted files, and repeated interrupted
resumes. After every fault the resumed search holds every evaluation that was
scored before the fault, evaluates no point twice, and proposes the points the
uninterrupted search would have.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import pergdro_sklearn
from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
from pergdro_sklearn.datasets import make_shifted_groups

if sys.platform == "win32":  # pragma: no cover
    pytest.skip("checkpoint locks need fcntl (POSIX)", allow_module_level=True)

# One round of the initial design has 3 candidates (trained one by one, so each is
# scored, and saved, on its own), then the GP proposes 2 points per round.
BUILD_SOURCE = textwrap.dedent("""
    import json
    import os

    from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
    from pergdro_sklearn.datasets import make_shifted_groups


    class LoggedSearch(PerGDROSearchCV):
        '''Counts the candidates it trains; with ``log``, appends each scored point to
        that file (flushed to disk) before the search saves it.'''

        trained = []
        log = None

        def _evaluate_candidates(self, params_list, run, on_record=None):
            LoggedSearch.trained.extend(params_list)

            def scored(i, record):
                if LoggedSearch.log is not None:
                    with open(LoggedSearch.log, "a") as handle:
                        handle.write(json.dumps([params_list[i]["rho"],
                                                 list(params_list[i]["epsilon"])]) + "\\n")
                        handle.flush()
                        os.fsync(handle.fileno())
                on_record(i, record)

            return super()._evaluate_candidates(params_list, run, scored)


    def build(checkpoint, n_iter=9, **extra):
        d = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
        params = dict(n_iter=n_iter, n_initial_points=3, n_points=2, batch_candidates=1,
                      initial_point_generator="lhs", acq_optimizer="sampling",
                      acq_optimizer_kwargs={"n_points": 500}, random_state=0,
                      checkpoint=checkpoint, baselines=None, halving_factor=None,
                      selection="one_se")
        params.update(extra)
        search = LoggedSearch(
            PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0), **params)
        return search, d.X_train, d.y_train, d.groups_train
""")

SCRIPT = BUILD_SOURCE + textwrap.dedent("""
    import sys
    import time

    import torch

    torch.set_num_threads(1)

    def pause(result):
        time.sleep(float(sys.argv[3]))

    LoggedSearch.log = sys.argv[2]
    search, X, y, groups = build(sys.argv[1], callbacks=[pause])
    search.fit(X, y, groups=groups)
""")

NAMESPACE = {}
exec(BUILD_SOURCE, NAMESPACE)
LoggedSearch, build = NAMESPACE["LoggedSearch"], NAMESPACE["build"]


def _records(path):
    with open(path) as handle:
        return json.load(handle)["evaluations"]


def _points(records):
    """Each record's point as a tuple (rho, epsilons)."""
    return [(r["rho"], *r["epsilon"]) for r in records]


def _fit(checkpoint, **extra):
    LoggedSearch.trained = []
    search, X, y, groups = build(checkpoint, **extra)
    return search.fit(X, y, groups=groups)


def _result_points(search):
    res = search.cv_results_
    return [(float(p["rho"]), *map(float, p["epsilon"])) for p in res["params"]]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The points, in order, and objectives of the search run without a fault."""
    path = tmp_path_factory.mktemp("reference") / "search.json"
    search = _fit(str(path))
    return _result_points(search), list(search.cv_results_["mean_test_objective"])


def _spawn(tmp_path, checkpoint, pause=0.0):
    script = tmp_path / "search_script.py"
    script.write_text(SCRIPT)
    log = tmp_path / "scored.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(pergdro_sklearn.__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, str(script), str(checkpoint), str(log), str(pause)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, log


def _wait_for(proc, condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the search script ended early:\n{proc.stderr.read().decode()}")
        if time.monotonic() > deadline:
            pytest.fail("the search script did not get there in time")
        time.sleep(0.005)


def _logged(log):
    try:
        lines = Path(log).read_text().splitlines()
    except OSError:
        return []
    return [(rho, *eps) for rho, eps in map(json.loads, lines)]


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    proc.stderr.close()


def _check_resumed(search, saved_points, reference):
    points = _result_points(search)
    assert len(set(points)) == len(points), "a point was evaluated twice"
    assert set(saved_points) <= set(points), "an evaluation saved before the fault was lost"
    # the saved points are not trained again: only the others are
    trained = [(float(p["rho"]), *map(float, p["epsilon"])) for p in LoggedSearch.trained]
    assert not set(trained) & set(saved_points)
    assert len(trained) == len(points) - len(saved_points)
    # and the resumed search proposes what the uninterrupted one did
    assert points == reference[0]
    np.testing.assert_array_equal(search.cv_results_["mean_test_objective"], reference[1])


# --------------------------------------------------------------------------
# A kill at a random point of a round
# --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kill_at_a_random_point_loses_only_the_evaluation_in_flight(tmp_path, seed,
                                                                     uninterrupted):
    rng = np.random.default_rng(seed)
    checkpoint = tmp_path / "search.json"
    proc, log = _spawn(tmp_path, checkpoint)
    target = int(rng.integers(1, 8))  # evaluations scored before the kill...
    try:
        _wait_for(proc, lambda: len(_logged(log)) >= target)
        time.sleep(float(rng.uniform(0, 0.3)))  # ...and a random moment after
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _stop(proc)
    scored = _logged(log)
    saved = _points(_records(checkpoint)) if checkpoint.exists() else []
    # Everything scored is saved, except at most the last one, in flight when killed.
    assert set(scored[:-1]) <= set(saved)
    assert set(saved) <= set(scored)
    assert len(set(saved)) == len(saved)

    _check_resumed(_fit(str(checkpoint)), saved, uninterrupted)
    assert len(_records(checkpoint)) == 9
    # a write cut short by the kill leaves no temporary file behind once resumed
    assert not list(tmp_path.glob(".search.json.*.tmp"))


def test_kill_mid_round_saves_the_finished_candidates_of_that_round(tmp_path, uninterrupted):
    """Killed after 2 of the first round's 3 candidates: both are in the file (the old
    checkpoint, written once per round, had none)."""
    checkpoint = tmp_path / "search.json"
    proc, log = _spawn(tmp_path, checkpoint)
    try:
        _wait_for(proc, lambda: checkpoint.exists() and len(_records(checkpoint)) >= 2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        _stop(proc)
    records = _records(checkpoint)
    assert len(records) in (2, 3)
    assert {r["round"] for r in records} == {0}
    _check_resumed(_fit(str(checkpoint)), _points(records), uninterrupted)


# --------------------------------------------------------------------------
# Repeated interruptions (in-process: the records after a cut are dropped)
# --------------------------------------------------------------------------
def test_repeated_resumes_never_repeat_a_point(tmp_path, uninterrupted):
    """Six resumes with larger budgets (at round boundaries: rounds of 2, 1, 2, 2, 2
    points), each after losing the last 0 to 2 saved evaluations (mid-round too): every
    run equals the uninterrupted search point for point, and only lost points are
    trained again."""
    checkpoint = tmp_path / "search.json"
    rng = np.random.default_rng(0)
    n_trained = n_lost = 0
    for n_iter in (2, 3, 5, 7, 9, 9):
        search = _fit(str(checkpoint), n_iter=n_iter)
        n_trained += len(LoggedSearch.trained)
        payload = json.loads(checkpoint.read_text())
        points = _points(payload["evaluations"])
        assert len(set(points)) == len(points) == n_iter
        assert _result_points(search) == uninterrupted[0][:n_iter]
        cut = int(rng.integers(0, 3))  # the fault: the last evaluations are lost
        if cut:
            payload["evaluations"] = payload["evaluations"][:-cut]
            n_lost += cut
            checkpoint.write_text(json.dumps(payload))
    assert n_trained == 9 + n_lost - cut
    assert n_lost - cut > 0


def test_resume_with_other_round_sizes_still_never_repeats_a_point(tmp_path):
    checkpoint = tmp_path / "search.json"
    _fit(str(checkpoint), n_iter=6)
    saved = _points(_records(checkpoint))
    search = _fit(str(checkpoint), n_iter=10, n_points=3)  # rounds no longer match
    points = _result_points(search)
    assert len(set(points)) == len(points) == 10
    assert set(saved) <= set(points)
    assert len(set(_points(_records(checkpoint)))) == 10
    assert len(LoggedSearch.trained) == 4


# --------------------------------------------------------------------------
# Two searches on one checkpoint
# --------------------------------------------------------------------------
def test_second_search_on_a_checkpoint_in_use_is_refused(tmp_path, uninterrupted):
    checkpoint = tmp_path / "search.json"
    proc, log = _spawn(tmp_path, checkpoint, pause=0.3)
    try:
        _wait_for(proc, lambda: checkpoint.exists() and len(_records(checkpoint)) >= 1)
        before = checkpoint.read_bytes()
        LoggedSearch.trained = []
        search, X, y, groups = build(str(checkpoint))
        with pytest.raises(ValueError, match=rf"in use by another search \(process {proc.pid}\)"):
            search.fit(X, y, groups=groups)
        assert LoggedSearch.trained == []
        # the refused search wrote nothing; the first one goes on to the end
        assert len(_records(checkpoint)) >= len(json.loads(before)["evaluations"])
        proc.wait(timeout=300)
        assert proc.returncode == 0, proc.stderr.read().decode()
    finally:
        _stop(proc)
    records = _records(checkpoint)
    assert _points(records) == uninterrupted[0] or sorted(_points(records)) == sorted(
        uninterrupted[0])
    # once the first search is done, the second one resumes it: nothing left to train
    search = _fit(str(checkpoint))
    assert LoggedSearch.trained == []
    assert _result_points(search) == uninterrupted[0]


def test_two_searches_in_one_process_cannot_share_a_checkpoint(tmp_path):
    from pergdro_sklearn._search.checkpoint import Checkpoint

    first, second = Checkpoint(tmp_path / "c.json"), Checkpoint(tmp_path / "c.json")
    assert first.load("fingerprint") is None
    with pytest.raises(ValueError, match="in use by another search"):
        second.load("fingerprint")
    first.release()
    assert second.load("fingerprint") is None  # released: free again
    second.release()


def test_lock_is_released_when_fit_fails(tmp_path):
    d = make_shifted_groups(n_train=(60, 50, 20, 20), random_state=0)
    checkpoint = tmp_path / "search.json"
    bad = PerGDROSearchCV(PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=2),
                          n_iter=2, n_initial_points=2, checkpoint=checkpoint,
                          objective=lambda est, X, y: 1 / 0, error_score="raise")
    with pytest.raises(ZeroDivisionError):
        bad.fit(d.X_train, d.y_train, groups=d.groups_train)
    from pergdro_sklearn._search.checkpoint import Checkpoint

    free = Checkpoint(checkpoint)
    free.acquire()
    free.release()


# --------------------------------------------------------------------------
# Truncated and corrupted files
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    path = tmp_path_factory.mktemp("finished") / "search.json"
    _fit(str(path), n_iter=4)
    return path.read_text()


def _corrupt(payload, how):
    records = payload["evaluations"]
    if how == "evaluations null":
        payload["evaluations"] = None
    elif how == "x of the wrong dimension":
        records[1]["x"] = records[1]["x"][:-1]
    elif how == "epsilon of the wrong length":
        records[1]["epsilon"] = records[1]["epsilon"] + [0.5]
    elif how == "emptied test_objective":
        records[1]["test_objective"] = []
    elif how == "rho not a number":
        records[1]["rho"] = "abc"
    elif how == "val_loss of the wrong shape":
        records[1]["val_loss"] = [[0.1, 0.2]]
    elif how == "x outside the space":
        records[1]["x"][0] = 99.0
    elif how == "missing field":
        del records[1]["fit_time"]
    elif how == "negative round":
        records[1]["round"] = -1
    elif how == "record not an object":
        records[1] = [1, 2, 3]
    elif how == "null x":
        records[1]["x"] = None
    return payload


CORRUPTIONS = {
    "evaluations null": "no list of evaluations",
    "x of the wrong dimension": "record 1 of checkpoint .* x",
    "epsilon of the wrong length": "record 1 of checkpoint .* epsilon",
    "emptied test_objective": "record 1 of checkpoint .* test_objective",
    "rho not a number": "record 1 of checkpoint .* rho",
    "val_loss of the wrong shape": "record 1 of checkpoint .* val_loss",
    "x outside the space": "record 1 of checkpoint .* outside the search space",
    "missing field": r"record 1 of checkpoint .* lacks the field\(s\) \['fit_time'\]",
    "negative round": "record 1 of checkpoint .* round=-1",
    "record not an object": "record 1 of checkpoint .* is not an evaluation record",
    "null x": "record 1 of checkpoint .* no point x",
}


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupted_checkpoint_is_refused_before_training(tmp_path, finished, how):
    checkpoint = tmp_path / "search.json"
    checkpoint.write_text(json.dumps(_corrupt(json.loads(finished), how)))
    before = checkpoint.read_bytes()
    with pytest.raises(ValueError, match=CORRUPTIONS[how]) as info:
        _fit(str(checkpoint), n_iter=6)
    assert str(checkpoint) in str(info.value)
    assert LoggedSearch.trained == []  # validated before any training
    assert checkpoint.read_bytes() == before  # and left as it was
    if how != "x of the wrong dimension":
        return
    # once repaired, the search resumes with every saved evaluation
    checkpoint.write_text(finished)
    search = _fit(str(checkpoint), n_iter=6)
    assert _result_points(search)[:4] == _points(json.loads(finished)["evaluations"])
    assert len(LoggedSearch.trained) == 2


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.9])
def test_truncated_checkpoint_is_refused_before_training(tmp_path, finished, fraction):
    checkpoint = tmp_path / "search.json"
    checkpoint.write_text(finished[:int(len(finished) * fraction)])
    before = checkpoint.read_bytes()
    with pytest.raises(ValueError, match=f"checkpoint '{checkpoint}' cannot be read"):
        _fit(str(checkpoint), n_iter=6)
    assert LoggedSearch.trained == []
    assert checkpoint.read_bytes() == before


def test_emptied_evaluation_list_starts_from_the_first_point(tmp_path, finished):
    """A valid header with no evaluations is a search killed before its first one."""
    checkpoint = tmp_path / "search.json"
    payload = json.loads(finished)
    payload["evaluations"] = []
    checkpoint.write_text(json.dumps(payload))
    search = _fit(str(checkpoint), n_iter=4)
    assert _result_points(search) == _points(json.loads(finished)["evaluations"])
    assert len(LoggedSearch.trained) == 4


# --------------------------------------------------------------------------
# Kills during a search with successive halving
# --------------------------------------------------------------------------
# Two rounds of 4 candidates trained as one batch on each of 2 splits, halved at 3
# rungs: each (batch, split) journals the candidates dropped at a rung as soon as
# they are dropped, then the survivors of the last rung.
HALVING_SOURCE = textwrap.dedent("""
    import numpy as np

    from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
    from pergdro_sklearn.datasets import make_shifted_groups


    def build_halving(checkpoint):
        d = make_shifted_groups(n_train=(200, 200, 66, 66), random_state=0)
        order = np.random.default_rng(0).permutation(d.y_train.shape[0])
        halves = np.sort(order[::2]), np.sort(order[1::2])
        folds = [(halves[0], halves[1]), (halves[1], halves[0])]
        search = PerGDROSearchCV(
            PerGDROClassifier(hidden_layer_sizes=(8,), max_iter=9, learning_rate_init=0.01,
                              random_state=0),
            n_iter=8, n_initial_points=8, n_points=4, batch_candidates=4,
            halving_factor=2, halving_rungs=3, cv=folds, rho_bounds=(0.0, 2.0),
            epsilon_bounds=(0.0, 3.0), refit=False, initial_point_generator="lhs",
            acq_optimizer="sampling", random_state=0, checkpoint=checkpoint,
            baselines=None, selection="one_se")
        return search, d.X_train, d.y_train, d.groups_train
""")

HALVING_SCRIPT = HALVING_SOURCE + textwrap.dedent("""
    import json
    import sys

    import torch

    from pergdro_sklearn._search import evaluate

    torch.set_num_threads(1)
    halve = evaluate._evaluate_halving

    def logged(template, X, y, groups, fold, params_list, scoring, halving, known=None,
               report=None):
        # after each report of final scores, append them (point, split) to the log
        split = 0 if fold[1][0] == folds[1][0][0] else 1

        def report_and_log(positions, scores):
            report(positions, scores)
            with open(sys.argv[2], "a") as handle:
                handle.write(json.dumps([[params_list[c]["rho"], params_list[c]["epsilon"][0],
                                          split] for c in positions]) + "\\n")

        return halve(template, X, y, groups, fold, params_list, scoring, halving, known,
                     report_and_log)

    evaluate._evaluate_halving = logged
    search, X, y, groups = build_halving(sys.argv[1])
    folds = search.cv
    search.fit(X, y, groups=groups)
""")

HALVING = {}
exec(HALVING_SOURCE, HALVING)


def _final_scores(checkpoint):
    """``{(point, split)}`` of every split score saved: the main file and the journal."""
    final = set()
    if checkpoint.exists():
        for r in _records(checkpoint):
            final |= {(tuple(r["x"]), k) for k in range(len(r["test_objective"]))}
    journal = Path(str(checkpoint) + ".journal")
    if journal.exists():
        for line in journal.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:  # the write the kill cut short
                continue
            final |= {(tuple(item["x"]), entry["split"]) for item in entry["scores"]}
    return final


def _halving_fit(checkpoint, monkeypatch=None):
    """Fit the halving search in this process; with ``monkeypatch``, also the list of
    ``(point, split)`` it trained."""
    from pergdro_sklearn._search import evaluate

    trained = []
    if monkeypatch is not None:
        original = evaluate._evaluate_halving

        def tracked(template, X, y, groups, fold, params_list, scoring, halving,
                    known=None, report=None):
            split = 0 if fold[1][0] == folds[1][0][0] else 1
            # the search has one shared radius: its point is (rho, epsilon)
            trained.extend(((float(p["rho"]), float(p["epsilon"][0])), split)
                           for c, p in enumerate(params_list) if c not in (known or {}))
            return original(template, X, y, groups, fold, params_list, scoring, halving,
                            known, report)

        monkeypatch.setattr(evaluate, "_evaluate_halving", tracked)
    search, X, y, groups = HALVING["build_halving"](str(checkpoint))
    folds = search.cv
    search.fit(X, y, groups=groups)
    return search, trained


@pytest.fixture(scope="module")
def halving_reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("halving") / "search.json"
    search, _ = _halving_fit(path)
    return search, _records(path)


def _same_records(records, reference):
    """The records of two searches agree (in the order they finished, which may differ):
    points, scores, halving's epochs."""
    records = sorted(records, key=lambda r: r["x"])
    reference = sorted(reference, key=lambda r: r["x"])
    assert [r["x"] for r in records] == [r["x"] for r in reference]
    for got, want in zip(records, reference):
        assert got["epochs"] == want["epochs"]
        assert got["collapsed"] == want["collapsed"]
        np.testing.assert_allclose(got["test_objective"], want["test_objective"], rtol=1e-6)
        np.testing.assert_allclose(got["val_loss"], want["val_loss"], rtol=1e-6)
        np.testing.assert_allclose(got["val_metric"], want["val_metric"], rtol=1e-6)


@pytest.mark.parametrize("seed", [0])
def test_halving_kills_lose_nothing_final(tmp_path, seed, halving_reference, monkeypatch):
    reference, reference_records = halving_reference
    assert reference.cv_results_["dropped"].any()  # the rungs do drop candidates
    rng = np.random.default_rng(seed)
    checkpoint = tmp_path / "search.json"
    script = tmp_path / "halving_script.py"
    script.write_text(HALVING_SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(pergdro_sklearn.__file__).resolve().parents[1])}
    saved, final = set(), set()
    for kill in range(3):  # three kills at random moments, each run resuming the last
        log = tmp_path / f"final{kill}.log"
        proc = subprocess.Popen([sys.executable, str(script), str(checkpoint), str(log)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        target = int(rng.integers(1, 4))  # reports of final scores before the kill...
        try:
            _wait_for(proc, lambda log=log, target=target, proc=proc: proc.poll() == 0 or (
                log.exists() and len(log.read_text().splitlines()) >= target))
            time.sleep(float(rng.uniform(0, 0.2)))  # ...and a random moment after
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
        finally:
            _stop(proc)
        if log.exists():  # what was final before the kill (the last line may be torn)
            for line in log.read_text().splitlines():
                with contextlib.suppress(ValueError):
                    final |= {((rho, eps), split) for rho, eps, split in json.loads(line)}
        now = _final_scores(checkpoint)
        assert final <= now, "a score final before the kill was not saved"
        assert saved <= now, "a final score saved before a kill was lost"
        saved = now
    assert final, "no kill came after a final score"

    search, trained = _halving_fit(checkpoint, monkeypatch)
    assert search.dimension_names_ == ["rho", "epsilon"]
    # nothing final before the kills is trained again, on any split
    assert not set(trained) & saved
    assert len(trained) == len(set(trained))
    records = _records(checkpoint)
    points = [tuple(r["x"]) for r in records]
    assert len(points) == len(set(points)) == 8, "a point was evaluated twice"
    _same_records(records, reference_records)
    assert _result_points(search) == _result_points(reference)  # in the rounds' order
    np.testing.assert_allclose(search.cv_results_["mean_test_objective"],
                               reference.cv_results_["mean_test_objective"], rtol=1e-6)
    np.testing.assert_array_equal(search.cv_results_["dropped"],
                                  reference.cv_results_["dropped"])
    np.testing.assert_array_equal(search.cv_results_["n_epochs"],
                                  reference.cv_results_["n_epochs"])
    assert not Path(str(checkpoint) + ".journal").exists()  # emptied: all in the main file


def test_halving_resume_trains_only_what_was_not_final(tmp_path, halving_reference,
                                                      monkeypatch):
    """A journal holding the rung-1 drops of the first batch on split 0 (as a kill right
    after them leaves it): those are not trained again, and the rest is as uninterrupted."""
    from pergdro_sklearn._search import journal

    reference, reference_records = halving_reference
    checkpoint = tmp_path / "search.json"
    lines = []
    write = journal.JournalWriter.write

    def first_only(self, split, positions, scores):
        if not lines:
            write(self, split, positions, scores)
            lines.append([self.keys[i] for i in positions])
        raise KeyboardInterrupt  # the "kill", right after the first journal write

    monkeypatch.setattr(journal.JournalWriter, "write", first_only)
    with pytest.raises(KeyboardInterrupt):
        _halving_fit(checkpoint)
    monkeypatch.setattr(journal.JournalWriter, "write", write)
    assert not checkpoint.exists() and lines and lines[0]
    search, trained = _halving_fit(checkpoint, monkeypatch)
    dropped_first = {(tuple(x), 0) for x in lines[0]}
    assert not set(trained) & dropped_first
    assert len(trained) == 8 * 2 - len(dropped_first)
    _same_records(_records(checkpoint), reference_records)


# --------------------------------------------------------------------------
# One checkpoint, two paths
# --------------------------------------------------------------------------
def test_a_symlink_to_a_checkpoint_in_use_is_refused_and_stays_a_link(tmp_path):
    real = tmp_path / "real" / "search.json"
    real.parent.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(real)
    proc, log = _spawn(tmp_path, real, pause=0.3)
    try:
        _wait_for(proc, lambda: real.exists() and len(_records(real)) >= 1)
        LoggedSearch.trained = []
        search, X, y, groups = build(str(link))
        with pytest.raises(ValueError, match=rf"in use by another search \(process {proc.pid}\)"):
            search.fit(X, y, groups=groups)
        assert LoggedSearch.trained == []
    finally:
        _stop(proc)
    # the search through the link resumes the real file and saves through the link
    search = _fit(str(link))
    assert link.is_symlink() and os.path.realpath(link) == str(real.resolve())
    assert len(_records(real)) == 9
    assert not (tmp_path / "link.json.lock").exists()


def test_checkpoint_mode_follows_the_umask_and_is_kept(tmp_path, uninterrupted):
    path = tmp_path / "search.json"
    old = os.umask(0o027)
    try:
        _fit(str(path), n_iter=3)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640
    path.chmod(0o600)
    _fit(str(path), n_iter=5)  # resumed and saved again: the mode the user set stays
    assert path.stat().st_mode & 0o777 == 0o600
