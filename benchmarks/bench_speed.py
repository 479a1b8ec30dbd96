"""Speed of the package, as ratios against baselines run in the same process.

Run from the repository root::

    python -m benchmarks.bench_speed            # everything (about 15 minutes)
    python -m benchmarks.bench_speed --quick    # smaller sizes

Parts: the default search on the real data sets against one MLPClassifier fit
(``--parts default``), the lower level (Per-GDRO fit vs our ERM fit vs sklearn's MLPClassifier),
batched candidates (one batched network vs sequential fits), the peak memory of a
16-candidate batched round against its data, and large data
(time and memory from 10^3 to 10^6 rows and from 2 to 1,000 groups). Writes
``benchmarks/results/speed[_quick].md``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import torch

from pergdro_sklearn._constants import DEFAULT_HALVING_RUNGS

from ._common import logger, markdown_table, mean_std, paired, setup_logging, write_result

ARCH = (64, 64, 64)


def _timed(fn, repeats=1):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def lower_level(epochs, repeats):
    """Per-GDRO with a k-step attack and with FGSM against ERM and sklearn's MLP."""
    from sklearn.neural_network import MLPClassifier

    from pergdro_sklearn import GroupDROClassifier, PerGDROClassifier
    from pergdro_sklearn.datasets import make_shifted_groups

    data = make_shifted_groups(shuffle=False, random_state=0)
    fit = (data.X_train, data.y_train)
    net = dict(hidden_layer_sizes=ARCH, max_iter=epochs, batch_size=128, random_state=0)

    def ours(**kw):
        return lambda: PerGDROClassifier(**{**net, **kw}).fit(*fit, groups=data.groups_train)

    def sk():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MLPClassifier(ARCH, batch_size=128, max_iter=epochs, random_state=0,
                          n_iter_no_change=10**9, tol=0.0).fit(*fit)

    ours(rho=0.0, epsilon=0.0, max_iter=2)()  # warm up torch
    erm = _timed(ours(rho=0.0, epsilon=0.0), repeats)
    times = {
        "ERM (ours)": erm,
        "sklearn MLPClassifier": _timed(sk, repeats),
        "GroupDRO": _timed(lambda: GroupDROClassifier(**net).fit(
            *fit, groups=data.groups_train), repeats),
    }
    rows = [["ERM (ours)", f"{erm:.2f}", "1.00", "-", "-"]]
    rows.append(["sklearn MLPClassifier", f"{times['sklearn MLPClassifier']:.2f}",
                 f"{times['sklearn MLPClassifier'] / erm:.2f}", "ERM <= sklearn",
                 str(erm <= times["sklearn MLPClassifier"])])
    rows.append(["GroupDRO", f"{times['GroupDRO']:.2f}", f"{times['GroupDRO'] / erm:.2f}",
                 "-", "-"])
    for k in (1, 3, 5, 10):
        t = _timed(ours(rho=0.5, epsilon=0.5, attack_steps=k), repeats)
        target = 1.2 * (k + 1)
        rows.append([f"Per-GDRO, PGD k={k}", f"{t:.2f}", f"{t / erm:.2f}",
                     f"<= {target:.1f}", str(t / erm <= target)])
    t = _timed(ours(rho=0.5, epsilon=0.5, attack="fgsm"), repeats)
    rows.append(["Per-GDRO, FGSM", f"{t:.2f}", f"{t / erm:.2f}", "<= 2.5", str(t / erm <= 2.5)])
    header = ["fit (Appendix E data, 1200 rows)", "seconds", "ratio to our ERM", "target",
              "met"]
    return markdown_table(header, rows)


def batched_candidates(epochs, n_candidates, repeats=3):
    """Candidates per minute: one batched network against sequential fits (each timing
    the best of ``repeats``, as the lower-level table, so that one slow moment of the
    machine does not decide a ratio)."""
    from pergdro_sklearn import PerGDROClassifier
    from pergdro_sklearn._estimators.batched import fit_candidates
    from pergdro_sklearn.datasets import make_shifted_groups

    data = make_shifted_groups(shuffle=False, random_state=0)
    rng = np.random.default_rng(0)
    params = [dict(rho=float(rng.uniform(0, 3)),
                   epsilon=rng.uniform(0, [3, 3, 5, 5])) for _ in range(n_candidates)]
    template = PerGDROClassifier(hidden_layer_sizes=ARCH, max_iter=epochs, random_state=0)
    fit = (data.X_train, data.y_train, data.groups_train)
    seq = _timed(lambda: [PerGDROClassifier(hidden_layer_sizes=ARCH, max_iter=epochs,
                                            random_state=0, **p).fit(*fit[:2], groups=fit[2])
                          for p in params], repeats)
    rows = [["sequential", n_candidates, f"{seq:.1f}", f"{60 * n_candidates / seq:.1f}",
             "1.00"]]
    for c in sorted({4, 8, 16, n_candidates}):
        if c > n_candidates:
            continue
        chunks = [params[i:i + c] for i in range(0, n_candidates, c)]
        t = _timed(lambda ch=chunks: [fit_candidates(template, chunk, *fit) for chunk in ch],
                   repeats)
        rows.append([f"batched, {c} per network", n_candidates, f"{t:.1f}",
                     f"{60 * n_candidates / t:.1f}", f"{seq / t:.2f}"])
    from joblib import Parallel, delayed

    def two_jobs():
        halves = [params[:n_candidates // 2], params[n_candidates // 2:]]
        Parallel(n_jobs=2)(delayed(_fit_chunk_one_thread)(template, half, fit)
                           for half in halves)

    t = _timed(two_jobs, repeats)
    rows.append([f"batched, {n_candidates // 2} per network x 2 processes (both cores)",
                 n_candidates, f"{t:.1f}", f"{60 * n_candidates / t:.1f}", f"{seq / t:.2f}"])
    header = ["training", "candidates", "seconds", "candidates / minute", "speed-up"]
    return markdown_table(header, rows)


def _fit_chunk_one_thread(template, params, fit):
    from pergdro_sklearn._estimators.batched import fit_candidates

    torch.set_num_threads(1)
    return len(fit_candidates(template, params, *fit))


# Rounds of 32 proposals (16 per job) and 64-candidate rounds of the grid (32 per job):
# halving saves epochs, and a round's wall time is set by the survivors that train to
# max_iter, so fewer, larger rounds save the most. The GP's cost is one fit and one
# acquisition per proposed point whatever the round size; 1,000 acquisition samples
# and a kernel refit every 20 rounds keep it to about 30 s.
PROTOCOL_SETTINGS = dict(n_points=32, batch_candidates=32, gp_refit_every=20,
                         acq_optimizer="sampling", acq_optimizer_kwargs={"n_points": 1000})


def _pick_test_score(search, template, data, n_seeds=5):
    """Worst-group test accuracy of the search's pick, refit as an average of
    ``n_seeds`` networks of the picked radii (seeds 0 to ``n_seeds - 1``) on train +
    validation: the search's own refit (``refit_seeds=5``) averages as many networks,
    seeded from the template's ``random_state``, but would run inside the timing."""
    from sklearn.base import clone

    from pergdro_sklearn import EnsembleSelectionClassifier
    from pergdro_sklearn.metrics import group_scores

    X = np.vstack([data.X_train, data.X_val])
    y = np.concatenate([data.y_train, data.y_val])
    groups = np.concatenate([data.groups_train, data.groups_val])
    models = [clone(template).set_params(random_state=seed, **search.best_params_)
              .fit(X, y, groups=groups) for seed in range(n_seeds)]
    ensemble = EnsembleSelectionClassifier.from_fitted(models)
    return min(group_scores(data.y_test, ensemble.predict(data.X_test),
                            data.groups_test).values())


def paper_protocol(epochs, n_initial, n_iter, n_jobs, halving_factor=3, seeds=(0,),
                   halving_rungs=(3,), arms=("full", "halving")):
    """The paper's Appendix E search budget, with and without successive halving.

    One search per seed and setting on the Appendix E data (5 dimensions: rho and one
    radius per group, the paper's bounds), timed; each pick is then refit (outside the
    timing) and scored on the test rows. The halving arm runs once per number of rungs
    in ``halving_rungs``, each paired with the same search without halving.
    """
    from sklearn.model_selection import PredefinedSplit

    from pergdro_sklearn import PerGDROClassifier, PerGDROSearchCV
    from pergdro_sklearn.datasets import make_shifted_groups

    rows = []
    per_arm = {}  # (factor, rungs) -> lists of walls and pick scores, seed by seed
    for seed in seeds:
        data = make_shifted_groups(shuffle=False, random_state=seed)
        X = np.vstack([data.X_train, data.X_val])
        y = np.concatenate([data.y_train, data.y_val])
        groups = np.concatenate([data.groups_train, data.groups_val])
        split = PredefinedSplit(np.r_[np.full(len(data.y_train), -1),
                                      np.zeros(len(data.y_val))])
        template = PerGDROClassifier(hidden_layer_sizes=ARCH, max_iter=epochs, random_state=seed)
        full_wall = None
        settings = [(None, None)] if "full" in arms else []
        if "halving" in arms:
            settings += [(halving_factor, int(r)) for r in halving_rungs]
        for factor, rungs in settings:
            search = PerGDROSearchCV(
                template, rho_bounds=(0.0, 3.0),
                epsilon_bounds={0: (0, 3), 1: (0, 3), 2: (0, 5), 3: (0, 5)},
                shared_epsilon=False, objective="worst_group_loss",
                n_initial_points=n_initial, n_iter=n_iter, initial_point_generator="grid",
                cv=split, refit=False, random_state=seed, n_jobs=n_jobs,
                halving_factor=factor, halving_rungs=rungs or DEFAULT_HALVING_RUNGS,
                **PROTOCOL_SETTINGS)
            start = time.perf_counter()
            search.fit(X, y, groups=groups)
            total = time.perf_counter() - start
            if factor is None:
                full_wall = total
            res = search.cv_results_
            fit_total = float(np.sum(res["mean_fit_time"])) / max(1, n_jobs)
            score = _pick_test_score(search, template, data)
            arm = per_arm.setdefault((factor, rungs), {"wall": [], "score": []})
            arm["wall"].append(total)
            arm["score"].append(score)
            rows.append([
                seed, f"{n_initial} grid + {n_iter - n_initial} GP", epochs,
                "off" if factor is None else f"factor {factor:g}, {rungs} rungs",
                f"{total:.0f}", f"{fit_total:.0f}", f"{total - fit_total:.0f}",
                f"{int(np.sum(res['n_epochs'])):,}", int(np.sum(res["dropped"])),
                f"rho={search.best_params_['rho']:.2f}, "
                f"eps={np.round(search.best_params_['epsilon'], 2).tolist()}",
                f"{score:.3f}",
                "-" if factor is None else
                (f"{full_wall / total:.2f}x; " if full_wall is not None else "")
                + f"< 120 s: {total < 120}",
            ])
            logger.info("protocol seed %d halving %s, %s rungs: %.0f s, pick's worst-group "
                        "test accuracy %.3f", seed, factor, rungs, total, score)
    header = ["seed", "evaluations", "epochs", "halving", "wall (s)", "training (s, approx.)",
              "GP + scoring (s, approx.)", "epochs trained", "dropped", "pick",
              "pick's worst-group test accuracy", "speed-up; target"]
    note = (f"Both searches: n_jobs={n_jobs}, " + ", ".join(
        f"{k}={v!r}" for k, v in PROTOCOL_SETTINGS.items())
        + ". The pick is the default rule (one_se), "
        "refit as an average of 5 networks on train + validation.")
    text = markdown_table(header, rows) + "\n\n" + note
    if (None, None) in per_arm and len(per_arm) > 1 and len(seeds) >= 2:
        text += "\n\n" + _protocol_summary(per_arm)
    return text


def _protocol_summary(per_arm):
    """Mean ± std of every arm over the seeds, and each halving arm's pick against the
    search without halving (paired by seed, 95% t-interval)."""

    full = np.asarray(per_arm[None, None]["score"])
    rows = []
    for (factor, rungs), arm in per_arm.items():
        walls = np.asarray(arm["wall"])
        if factor is None:
            name, diff = "off", "-"
        else:
            name = f"factor {factor:g}, {rungs} rungs"
            mean, low, high = paired(100 * np.asarray(arm["score"]), 100 * full)
            diff = f"{mean:+.1f} [{low:+.1f}, {high:+.1f}]"
        rows.append([name, len(walls), mean_std(walls, 0), f"{walls.max():.0f}",
                     int(np.sum(walls < 120)), mean_std(arm["score"]), diff])
    header = ["halving", "seeds", "wall (s), mean ± std", "slowest (s)", "seeds under 120 s",
              "pick's worst-group test accuracy",
              "pick minus off (points, 95% interval; positive is better)"]
    return markdown_table(header, rows)


LARGE_SCRIPT = """
import json, sys, time
import numpy as np, torch
from pergdro_sklearn import PerGDROClassifier
n, d, G, epochs, batch = (int(a) for a in sys.argv[1:6])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d))
groups = rng.integers(0, G, size=n)
y = (X[:, 0] + 0.1 * groups / G + 0.5 * rng.standard_normal(n) > 0).astype(int)
est = PerGDROClassifier(hidden_layer_sizes=(64, 64, 64), rho=0.5, epsilon=0.1,
                        max_iter=epochs, batch_size=batch, random_state=0)
start = time.perf_counter()
est.fit(X, y, groups=groups)
fit_time = time.perf_counter() - start
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
with open("/proc/self/status") as status:
    rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 1024
print(json.dumps({"fit_s": fit_time, "peak_rss_mb": rss, "data_mb": X.nbytes / 2**20}))
"""


def _large_run(n, d, groups, epochs, batch):
    out = subprocess.run([sys.executable, "-c", LARGE_SCRIPT, str(n), str(d), str(groups),
                          str(epochs), str(batch)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def large_data(max_rows, epochs, batch):
    rows = []
    for n in [10**3, 10**4, 10**5, 10**6]:
        if n > max_rows:
            break
        r = _large_run(n, 50, 100, 1, batch)
        rows.append([f"{n:,}", 50, 100, 1, f"{r['fit_s']:.1f}",
                     f"{r['fit_s'] / n * 1e6:.1f}", f"{r['peak_rss_mb']:.0f}"])
        logger.info("rows %d: %s", n, r)
    n_groups_rows = min(10**5, max_rows)
    for g in [2, 10, 100, 1000]:
        r = _large_run(n_groups_rows, 50, g, 1, batch)
        rows.append([f"{n_groups_rows:,}", 50, g, 1, f"{r['fit_s']:.1f}",
                     f"{r['fit_s'] / n_groups_rows * 1e6:.1f}", f"{r['peak_rss_mb']:.0f}"])
        logger.info("groups %d: %s", g, r)
    full = _large_run(max_rows, 50, 100, epochs, batch)
    rows.append([f"**{max_rows:,}**", 50, 100, epochs, f"**{full['fit_s']:.1f}**",
                 f"{full['fit_s'] / max_rows / epochs * 1e6:.1f}",
                 f"**{full['peak_rss_mb']:.0f}**"])
    header = ["rows", "features", "groups", "epochs", "fit seconds",
              "microseconds / row / epoch", "peak RSS (MB)"]
    note = (f"Per-GDRO (rho=0.5, epsilon=0.1, PGD k=5, order 2), MLP 50-64-64-64-2, batch "
            f"{batch}, each run in a fresh process (peak RSS includes the data, "
            f"{full['data_mb']:.0f} MB for the largest X). A fresh process's first fit also pays "
            "about 1 s of torch's one-time start-up, which dominates the smallest sizes.")
    return note + "\n\n" + markdown_table(header, rows), full


MEMORY_SCRIPT = """
import json, sys, time, warnings
import numpy as np, torch
torch.set_num_threads(1)
from pergdro_sklearn import PerGDROClassifier
from pergdro_sklearn._estimators.batched import fit_candidates
n, d, n_candidates, epochs = (int(a) for a in sys.argv[1:5])
dtype = np.dtype(sys.argv[5])
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d), dtype=np.float32).astype(dtype, copy=False)
groups = rng.integers(0, 4, size=n)
y = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(int)


def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key)) / 1024


before = status("VmRSS")
params = [dict(rho=0.2 * (c % 4), epsilon=0.05 * (c // 4)) for c in range(n_candidates)]
template = PerGDROClassifier(hidden_layer_sizes=(64, 64, 64), max_iter=epochs, batch_size=1024,
                             attack="fgsm", random_state=0)
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fitted = fit_candidates(template, params, X, y, groups)
seconds = time.perf_counter() - start
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
print(json.dumps({"data_mb": X.nbytes / 2**20, "rss_before_fit_mb": before,
                  "peak_rss_mb": status("VmHWM"), "fit_s": seconds,
                  "candidates": len(fitted)}))
"""


def batched_memory(n_rows, n_features, n_candidates, epochs, dtypes=("float32", "float64")):
    """Peak memory of one batched round against the size of its data."""
    rows = []
    for dtype in dtypes:
        out = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(n_rows), str(n_features),
                              str(n_candidates), str(epochs), dtype],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        logger.info("memory %s: %s", dtype, r)
        budget = r["data_mb"] + 1536
        rows.append([dtype, f"{r['data_mb']:.0f}", f"{r['rss_before_fit_mb']:.0f}",
                     f"{r['peak_rss_mb']:.0f}", f"{r['peak_rss_mb'] - r['data_mb']:.0f}",
                     f"{r['fit_s']:.0f}", f"<= {budget:.0f}: {r['peak_rss_mb'] <= budget}"])
    note = (f"{n_candidates} Per-GDRO candidates (rho and epsilon varied; FGSM, whose one "
            "attack step keeps the run short: the attack's memory is per minibatch) trained as "
            f"one batched network by `fit_candidates` on {n_rows:,} rows x {n_features} "
            f"features, {epochs} epoch(s), batch 1024, MLP {n_features}-64-64-64-2, in a "
            "fresh process. Peak RSS is the process's VmHWM (data, Python, torch and "
            "training); 'before fit' is its RSS with the data made and libraries imported.")
    header = ["X dtype", "data (MB)", "RSS before fit (MB)", "peak RSS (MB)",
              "peak minus data (MB)", "fit seconds", "target: peak <= data + 1.5 GB"]
    return note + "\n\n" + markdown_table(header, rows)


def default_search_time(seeds, data_home=None):
    """The fully default search against one sklearn MLP fit, per real data set.

    For each data set and seed: ``PerGDROSearchCV(PerGDROClassifier())`` (or the
    regressor) with every parameter at its default, refit included, on the rows a
    user trains on (train + validation of ``benchmarks.real_data``'s split), and one
    ``MLPClassifier`` / ``MLPRegressor`` with the same layers for 100 epochs on the
    same rows, timed in this process (both on one thread). Target: ratio <= 10.
    """
    import numpy as np

    from pergdro_sklearn.datasets import train_val_test_split_by_group

    from . import real_data
    from ._common import benchmark_data_home, feature_scaler

    home = benchmark_data_home(data_home)
    rows = []
    for name, (_, _, task) in real_data.DATASETS.items():
        bunch = real_data.load(name, home)
        for seed in seeds:
            split = train_val_test_split_by_group(
                bunch.data, bunch.target, bunch.groups,
                min_group_size=real_data.MIN_GROUP_SIZE, random_state=seed)
            X = np.vstack([split["X_train"], split["X_val"]])
            X = feature_scaler(X).transform(X)
            y = np.concatenate([split["y_train"], split["y_val"]])
            g = np.concatenate([split["groups_train"], split["groups_val"]])
            mlp = real_data.mlp_seconds(task, X, y, seed)
            search = real_data.default_search(task, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                begin = time.perf_counter()
                search.fit(X, y, groups=g)
                seconds = time.perf_counter() - begin
            ratio = seconds / mlp
            rows.append([name, seed, f"{len(y):,}", f"{mlp:.1f}", f"{seconds:.1f}",
                         f"{ratio:.2f}", str(ratio <= 10)])
            logger.info("%s seed %d: search %.1f s, MLP %.1f s", name, seed, seconds, mlp)
    return markdown_table(["data", "seed", "rows", "MLP 100 epochs (s)",
                           "default search (s)", "ratio", "<= 10"], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--parts", default="lower,batched,memory,protocol,large,default")
    parser.add_argument("--default-seeds", default="0",
                        help="comma-separated seeds of the default-search part")
    parser.add_argument("--protocol-seeds", default="0",
                        help="comma-separated seeds of the protocol part")
    parser.add_argument("--protocol-arms", default="full,halving",
                        help="which searches of the protocol part: full, halving or both")
    parser.add_argument("--halving-rungs", default=str(DEFAULT_HALVING_RUNGS),
                        help="comma-separated numbers of rungs, one halving arm each")
    args = parser.parse_args(argv)
    setup_logging()
    torch.set_num_threads(1)
    start = time.perf_counter()
    parts = args.parts.split(",")
    sections = ["All fits on one torch thread, in this process or in fresh subprocesses "
                "(large data); ratios compare runs made in the same invocation."]
    if "lower" in parts:
        epochs = 30 if args.quick else 100
        sections += [f"## Lower level ({epochs} epochs, batch 128, MLP 2-64-64-64-2, best "
                     "of 3)", lower_level(epochs, 3)]
        logger.info(sections[-1])
    if "batched" in parts:
        epochs, n = (30, 16) if args.quick else (100, 16)
        sections += [f"## Batched candidates ({n} candidates, {epochs} epochs, PGD k=5, best "
                     "of 3)",
                     batched_candidates(epochs, n)]
        logger.info(sections[-1])
    if "memory" in parts:
        n_rows = 10**5 if args.quick else 10**6
        sections += [f"## Memory of a 16-candidate batched round ({n_rows:,} x 50)",
                     batched_memory(n_rows, 50, 16, 1)]
        logger.info(sections[-1])
    if "protocol" in parts:
        n_initial, n_iter, epochs = (27, 51, 30) if args.quick else (243, 543, 100)
        sections += ["## The paper's Appendix E search protocol, with and without halving",
                     paper_protocol(epochs, n_initial, n_iter, n_jobs=2,
                                    seeds=[int(v) for v in args.protocol_seeds.split(",")],
                                    halving_rungs=[int(v) for v in
                                                   args.halving_rungs.split(",")],
                                    arms=args.protocol_arms.split(","))]
        logger.info(sections[-1])
    if "default" in parts:
        sections += ["## The default search against one MLP fit, real data",
                     default_search_time([int(v) for v in args.default_seeds.split(",")])]
        logger.info(sections[-1])
    if "large" in parts:
        max_rows, epochs = (10**5, 2) if args.quick else (10**6, 5)
        table, _ = large_data(max_rows, epochs, batch=1024)
        sections += ["## Large data", table]
        logger.info(sections[-1])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sections.append(f"Peak RSS of the driver process: {peak:.0f} MB.")
    if args.parts != parser.get_default("parts"):
        sections.insert(1, f"Parts run: {args.parts}.")
    name = "speed_quick" if args.quick else "speed"
    if args.parts != parser.get_default("parts"):
        name += "_" + args.parts.replace(",", "_")
    write_result(name, "Speed benchmarks", sections,
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
