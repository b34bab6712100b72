"""IRT benchmark: dense recovery vs girth and mirt, sparse scale, and LSAT7 vs R mirt.

    .venv/bin/python bench/irt.py [--skip-sparse] [--sparse-scale 1.0] [--skip-dense] [--skip-real]
                                  [--backend numpy|torch] [--device cuda]

Progress goes to stderr; the last stdout line is one JSON object.

1. dense: 2,000 persons x 50 items, 2PL, seed 20260101. Ours, girth's
   ``twopl_mml`` and PyPI mirt's ``fit_mirt`` fit the same responses in this
   run; each fit is timed three times and the fastest is reported (first calls
   pay imports and caches). RMSE is against the simulated truth.
2. sparse: 100,000 persons, 5,000 items, 10,000,000 responses (times
   ``--sparse-scale``), each person a random subset of 100 distinct items.
   Runs in a child process so its peak RSS (ru_maxrss of the child) is the
   bench's own, simulation included. ``--backend torch --device cuda`` runs the
   E-step on a GPU.
3. real: LSAT7 (Bock & Lieberman 1970; bench/data/lsat7.csv, pattern counts as
   printed by R mirt's ``expand.table(LSAT7)``), 2PL without priors, compared
   with R mirt's published estimates (slope a1 and intercept d, from mirt's
   own regression test tests/testthat/test-05-confmirtOne.R, 4 decimals).
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models.irt import IRTModel  # noqa: E402

SEED = 20260101
# R mirt 2PL on expand.table(LSAT7): coef(mirt(dat, 1)), items 1-5.
R_MIRT_LSAT7 = {"a1": [0.9879, 1.0809, 1.7058, 0.7652, 0.7358], "d": [1.8561, 0.808, 1.8042, 0.486, 1.8545]}
# One run of this bench on a GPU machine, kept for the report (NOT measured by a CPU run):
#   python3 bench/irt.py --skip-dense --skip-real --backend torch --device cuda --sparse-scale 13.1
GPU_REFERENCE_131M = {
    "device": "NVIDIA H100 80GB HBM3, torch 2.11.0+cu130",
    "responses": 131_000_000,
    "persons": 1_310_000,
    "items": 65_500,
    "fit_seconds": 52.91,
    "em_iters": 20,
    "gpu_peak_gb": 5.94,
    "host_peak_rss_gb": 13.2,
    "note": "synthetic, uniform (100 items/person); recorded 2026-11-25, not measured in this run",
}
R_MIRT_SOURCE = "philchalmers/mirt tests/testthat/test-05-confmirtOne.R (coef of mirt(expand.table(LSAT7), 1))"


def log(msg: str) -> None:
    print(f"[irt bench] {msg}", file=sys.stderr, flush=True)


def rmse(x: np.ndarray, y: np.ndarray) -> float:
    return round(float(np.sqrt(np.mean((np.asarray(x) - y) ** 2))), 4)


def best_time(fn, repeats: int = 3):
    """Run fn ``repeats`` times; return (last result, fastest seconds)."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, min(times)


def dense_bench() -> dict:
    rng = np.random.default_rng(SEED)
    n_p, n_i = 2000, 50
    a = rng.lognormal(0.0, 0.3, n_i)
    b = rng.normal(0.0, 1.0, n_i)
    theta = rng.normal(size=n_p)
    x = (rng.random((n_p, n_i)) < 1 / (1 + np.exp(-a * (theta[:, None] - b)))).astype(np.int64)
    person, item = np.nonzero(np.ones_like(x))  # the long format our model takes
    correct = x[person, item]
    out: dict = {"persons": n_p, "items": n_i, "model": "2pl", "seed": SEED, "timing": "fastest of 3 fits"}

    log("dense: fitting ours")
    ours, t_ours = best_time(lambda: IRTModel(model="2pl").fit(person, item, correct))
    p = ours.item_params_
    out["ours"] = {"rmse_a": rmse(p.a, a), "rmse_b": rmse(p.b, b), "seconds": round(t_ours, 4), "iters": ours.n_iter_}

    try:
        import girth

        log(f"dense: fitting girth {_version('girth')} twopl_mml")
        g, t_g = best_time(lambda: girth.twopl_mml(x.T))  # girth wants items x persons
        out["girth"] = {
            "version": _version("girth"),
            "rmse_a": rmse(g["Discrimination"], a),
            "rmse_b": rmse(g["Difficulty"], b),
            "seconds": round(t_g, 4),
        }
        out["speedup_vs_girth"] = round(t_g / t_ours, 1)
        out["targets"] = {
            "rmse_a_within_girth_plus_0.005": out["ours"]["rmse_a"] <= out["girth"]["rmse_a"] + 0.005,
            "rmse_b_within_girth_plus_0.005": out["ours"]["rmse_b"] <= out["girth"]["rmse_b"] + 0.005,
            "at_least_3x_faster_than_girth": out["speedup_vs_girth"] >= 3,
        }
    except ImportError as exc:
        out["girth"] = f"not installed: {exc}"

    try:
        import mirt

        log("dense: fitting PyPI mirt fit_mirt")
        m, t_m = best_time(lambda: mirt.fit_mirt(x, model="2PL", verbose=False))
        out["mirt_pypi"] = {
            "version": _version("mirt"),
            "rmse_a": rmse(m.model.discrimination, a),
            "rmse_b": rmse(m.model.difficulty, b),
            "seconds": round(t_m, 4),
            "loglik": round(float(m.log_likelihood), 3),
        }
        out["ours"]["loglik"] = round(ours.loglik_, 3)
    except ImportError as exc:
        out["mirt_pypi"] = f"not installed: {exc}"
    except TypeError:  # an older fit_mirt without verbose
        m, t_m = best_time(lambda: mirt.fit_mirt(x, model="2PL"))
        out["mirt_pypi"] = {"rmse_a": rmse(m.model.discrimination, a), "rmse_b": rmse(m.model.difficulty, b)}
    return out


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def simulate_sparse(scale: float, rng: np.random.Generator):
    """Each person answers up to 100 distinct random items: 130 drawn with replacement per person,
    duplicates dropped row by row, 100 kept in random order (fewer only when there are < 130 items)."""
    n_p, n_i, per = max(int(100_000 * scale), 10), max(int(5_000 * scale), 100), 100
    draws = np.sort(rng.integers(0, n_i, size=(n_p, int(per * 1.3))), axis=1)
    priority = rng.random(draws.shape)
    priority[:, 1:][draws[:, 1:] == draws[:, :-1]] = 2.0  # a repeat of the item to its left
    pick = np.argsort(priority, axis=1)[:, :per]
    item = np.take_along_axis(draws, pick, axis=1)
    valid = np.take_along_axis(priority, pick, axis=1) < 2.0
    person = np.broadcast_to(np.arange(n_p, dtype=np.int64)[:, None], item.shape)[valid]
    item = item[valid]
    a = rng.lognormal(0.0, 0.3, n_i)
    b = rng.normal(0.0, 1.0, n_i)
    theta = rng.normal(size=n_p)
    p = 1 / (1 + np.exp(-a[item] * (theta[person] - b[item])))
    correct = (rng.random(len(p)) < p).astype(np.int8)
    return person, item, correct, a, b


def sparse_child(scale: float, backend: str, device: str | None) -> dict:
    """Runs inside the child process: simulate, fit, report."""
    rng = np.random.default_rng(SEED + 1)
    t0 = time.perf_counter()
    person, item, correct, a, b = simulate_sparse(scale, rng)
    t_sim = time.perf_counter() - t0
    log(f"sparse: {len(person):,} responses simulated in {t_sim:.1f}s; fitting ({backend})")
    t0 = time.perf_counter()
    model = IRTModel(model="2pl", backend=backend, device=device, n_items=len(a)).fit(person, item, correct)
    t_fit = time.perf_counter() - t0
    p = model.item_params_
    ok = np.isfinite(p.a)
    out = {
        "persons": int(person.max()) + 1,
        "items_answered": int(np.unique(item).size),
        "items": len(a),
        "responses": len(person),
        "backend": backend,
        "simulate_seconds": round(t_sim, 2),
        "fit_seconds": round(t_fit, 2),
        "em_iters": model.n_iter_,
        "seconds_per_em_iter": round(t_fit / model.n_iter_, 3),  # setup and SEs included
        "responses_per_second": round(len(person) * model.n_iter_ / t_fit),
        "responses_per_second_note": "responses x EM iterations / fit seconds",
        "rmse_a": rmse(p.a[ok], a[ok]),
        "rmse_b": rmse(p.b[ok], b[ok]),
        "degenerate_items": len(model.degenerate_items_),
    }
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            out["gpu"] = torch.cuda.get_device_name()
            out["gpu_peak_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    return out


def sparse_bench(scale: float, backend: str, device: str | None) -> dict:
    cmd = [sys.executable, __file__, "--_sparse-child", "--sparse-scale", str(scale), "--backend", backend]
    if device:
        cmd += ["--device", device]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": f"child exited {proc.returncode}"}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["child_wall_seconds"] = round(wall, 2)
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6, 3)  # KiB on Linux
    full = scale >= 1.0
    out["targets"] = {
        "fit_under_120s": out["fit_seconds"] < 120 if full else "n/a (scaled run)",
        "peak_rss_under_4gb": out["peak_rss_gb"] < 4 if full else "n/a (scaled run)",
    }
    per_iter = out["fit_seconds"] / out["em_iters"]
    out["ednet_131m_estimate"] = {
        "seconds_per_em_iter": round(per_iter * 131e6 / out["responses"], 2),
        "seconds_for_same_iters": round(out["fit_seconds"] * 131e6 / out["responses"], 1),
        "assumption": (
            "cost linear in responses (two sparse products of nnz x n_quad per EM iteration), same EM "
            f"iteration count, measured on this run's hardware/backend ({backend}); EdNet's skew "
            "(few heavy users, 13k items) is ignored"
        ),
        "gpu_reference_run": GPU_REFERENCE_131M,
    }
    return out


def real_bench() -> dict:
    rows = list(csv.DictReader(open(ROOT / "bench" / "data" / "lsat7.csv")))
    total = sum(int(r["count"]) for r in rows)
    x = np.array([[int(ch) for ch in r["pattern"]] for r in rows for _ in range(int(r["count"]))])
    person, item = np.nonzero(np.ones_like(x))
    correct = x[person, item]
    log("real: LSAT7 2PL")
    model = IRTModel(model="2pl", prior_a=None, tol=1e-6).fit(person, item, correct)
    p = model.item_params_
    ra, rd = np.array(R_MIRT_LSAT7["a1"]), np.array(R_MIRT_LSAT7["d"])
    ours_d = -p.a * p.b
    diff = {
        "a": float(np.abs(p.a - ra).max()),
        "d": float(np.abs(ours_d - rd).max()),
        "b": float(np.abs(p.b - (-rd / ra)).max()),
    }
    return {
        "dataset": "LSAT7",
        "examinees": total,
        "patterns": len(rows),
        "ours": {
            "a": np.round(p.a, 4).tolist(),
            "d": np.round(ours_d, 4).tolist(),
            "b": np.round(p.b, 4).tolist(),
            "se_a": np.round(model.se_.a, 4).tolist(),
            "se_b": np.round(model.se_.b, 4).tolist(),
            "loglik": round(model.loglik_, 4),
        },
        "r_mirt": {**R_MIRT_LSAT7, "b": np.round(-rd / ra, 4).tolist(), "source": R_MIRT_SOURCE},
        "max_abs_diff": {k: round(v, 4) for k, v in diff.items()},
        "within_0.01": max(diff.values()) <= 0.01,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-sparse", action="store_true")
    ap.add_argument("--skip-dense", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--sparse-scale", type=float, default=1.0, help="fraction of 100k persons/5k items/10M responses")
    ap.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    ap.add_argument("--device", default=None)
    ap.add_argument("--_sparse-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._sparse_child:
        print(json.dumps(sparse_child(args.sparse_scale, args.backend, args.device)))
        return
    result: dict = {"bench": "irt"}
    if not args.skip_dense:
        result["dense"] = dense_bench()
    if not args.skip_real:
        result["real"] = real_bench()
    if not args.skip_sparse:
        result["sparse"] = sparse_bench(args.sparse_scale, args.backend, args.device)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
