"""Recommendation defaults on data they were not chosen on: LightGCN > MF > popularity?

The per-model defaults of ``gnnkit train rec`` were chosen on ml-100k and
lastfm. This script derives two other interaction sets from the shared data
root and runs the CLI on each with its defaults (``--model pop``, ``mf``,
``lightgcn``, seeds given), so that the order the docs promise can be checked
on data whose density, size and domain differ:

* ``ml100k-4plus``: ml-100k's ratings of 4 and 5 only (implicit positives),
  users with at least 5 of them, a per-user random 80/20 split (seed 7):
  a MovieLens-style set with another density and another split protocol;
* ``gowalla-4k``: 4,000 Gowalla users drawn at random (seed 7) with their
  published train/test items, item ids renumbered: check-ins, not ratings,
  about 25 training interactions per user over ~20,000 items.

Each derived set is written as a LightGCN-format folder (``train.txt``,
``test.txt``) under ``--work``; the runs are ``gnnkit train rec --dataset
FOLDER --model M --seed S --threads T --json ...``, one at a time::

    python benchmarks/rec_holdout.py --root ../shared/data --seeds 0 --threads 1
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

MODELS = ("pop", "mf", "lightgcn")


def _write(folder: Path, train: dict[int, list[int]], test: dict[int, list[int]]) -> None:
    users = sorted(train)
    items = sorted({i for u in users for i in train[u] + test.get(u, [])})
    uid, iid = {u: k for k, u in enumerate(users)}, {i: k for k, i in enumerate(items)}
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.txt", "w") as tr, open(folder / "test.txt", "w") as te:
        for u in users:
            tr.write(" ".join(map(str, [uid[u]] + [iid[i] for i in train[u]])) + "\n")
            if test.get(u):
                te.write(" ".join(map(str, [uid[u]] + [iid[i] for i in test[u]])) + "\n")


def ml100k_4plus(root: Path, folder: Path, rng: random.Random) -> None:
    liked: dict[int, list[int]] = {}
    for line in open(root / "ml-100k" / "raw" / "u.data"):
        user, item, rating, _ = line.split()
        if int(rating) >= 4:
            liked.setdefault(int(user), []).append(int(item))
    train, test = {}, {}
    for user in sorted(u for u in liked if len(liked[u]) >= 5):
        items = liked[user][:]
        rng.shuffle(items)
        cut = max(1, int(0.2 * len(items)))
        test[user], train[user] = items[:cut], items[cut:]
    _write(folder, train, test)


def gowalla_4k(root: Path, folder: Path, rng: random.Random, users: int = 4000) -> None:
    def read(path: Path) -> dict[int, list[int]]:
        rows = (line.split() for line in open(path))
        return {int(r[0]): [int(i) for i in r[1:]] for r in rows if len(r) > 1}

    train, test = read(root / "gowalla" / "raw" / "train.txt"), read(root / "gowalla" / "raw" / "test.txt")
    drawn = rng.sample(sorted(train), users)
    _write(folder, {u: train[u] for u in drawn}, {u: test[u] for u in drawn if u in test})


def run(folder: Path, model: str, seed: int, threads: int, out: Path) -> dict:
    report = out / f"{folder.name}-{model}-{seed}.json"
    cmd = [sys.executable, "-m", "gnnkit", "train", "rec", "--dataset", str(folder), "--model", model,
           "--seed", str(seed), "--threads", str(threads), "--json", str(report), "--quiet"]
    subprocess.run(cmd, check=True, env={**os.environ, "OMP_NUM_THREADS": str(threads)})
    return json.loads(report.read_text())


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=os.environ.get("GNNKIT_DATA"), help="data root with ml-100k/ and gowalla/")
    p.add_argument("--work", default="results/rec-holdout", help="folder for the derived sets and the JSON reports")
    p.add_argument("--sets", nargs="+", default=["ml100k-4plus", "gowalla-4k"], choices=["ml100k-4plus", "gowalla-4k"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if args.root is None:
        p.error("--root (or GNNKIT_DATA) is needed: the data root holding ml-100k/ and gowalla/")
    root, work = Path(args.root), Path(args.work)
    makers = {"ml100k-4plus": ml100k_4plus, "gowalla-4k": gowalla_4k}
    results: dict = {}
    print("| set | model | recall@20 | ndcg@20 | seeds |\n|---|---|---|---|---|")
    for name in args.sets:
        folder = work / name
        makers[name](root, folder, random.Random(7))
        for model in MODELS:
            runs = [run(folder, model, seed, args.threads, work) for seed in args.seeds]
            recall = [r["recall@20"] for r in runs]
            ndcg = [r["ndcg@20"] for r in runs]
            results[(name, model)] = (statistics.mean(recall), statistics.mean(ndcg))
            spread = (lambda v: f" ± {statistics.pstdev(v):.4f}" if len(v) > 1 else "")
            print(f"| {name} | {model} | {statistics.mean(recall):.4f}{spread(recall)} | "
                  f"{statistics.mean(ndcg):.4f}{spread(ndcg)} | {len(runs)} |", flush=True)
        pop, mf, lightgcn = (results[(name, m)] for m in MODELS)
        order = all(lightgcn[k] > mf[k] > pop[k] for k in (0, 1))
        print(f"{name}: LightGCN > MF > popularity at recall@20 and ndcg@20: {'yes' if order else 'NO'}", flush=True)
    return {f"{s}/{m}": v for (s, m), v in results.items()}


if __name__ == "__main__":
    main()
