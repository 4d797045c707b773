"""Recommendation: the quality table, the Gowalla curve, speed against PyG's LightGCN, GF-CF against scipy.

Four parts, chosen by the first argument:

* ``table``: ml-100k and lastfm, popularity / MF / LightGCN, seeds 0 1 2,
  BPR with early stopping on validation recall@20 (validation carved from
  train), test metrics of the best epoch. Prints a markdown table of mean ± std.
* ``gowalla``: LightGCN at the paper's settings (64 dims, 3 layers, lr 1e-3,
  batch 2048, reg 1e-4) for at most ``--max-minutes``, checkpointing so that a
  later call continues; prints the validation curve and the final test figures.
* ``speed``: seconds per training epoch (negative sampling + steps) and per
  full test evaluation on Gowalla, gnnkit's trainer against PyG's
  ``LightGCN`` trained the way ``examples/lightgcn.py`` of torch_geometric
  does it (``edge_index`` propagation each batch, uniform random negatives,
  ``recommendation_loss``, dense-mask evaluation), same process, same
  threads, same batches. The epoch time is the mean step time over
  ``--batches`` batches times the number of batches per epoch, plus the
  measured sampling time.
* ``gfcf``: GF-CF end to end on Gowalla (SVD, scores, ranking of every test
  user), gnnkit's ``GFCF`` against a scipy reference (``svds``, sparse ×
  sparse products), alternating, same ranking code; min and median seconds.

    python benchmarks/recommendation.py table --root ../shared/data
    python benchmarks/recommendation.py gowalla --root ../shared/data --max-minutes 40 --checkpoint out/gowalla.pt
    python benchmarks/recommendation.py speed --root ../shared/data --batches 20
    python benchmarks/recommendation.py gfcf --root ../shared/data --threads 1 --repeats 5
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import environment, table  # noqa: E402
from gnnkit.datasets import load  # noqa: E402
from gnnkit.train.rec import RecommendationTrainer, RecTrainConfig, build_model  # noqa: E402
from gnnkit.train.runtime import seed_everything  # noqa: E402


METRICS = ("recall@20", "ndcg@20", "recall@10", "ndcg@10")


def _one_run(job: tuple) -> tuple:
    """One (dataset, model, seed) run at the CLI's per-model defaults, in a worker process."""
    root, name, kind, seed, device, threads = job
    torch.set_num_threads(threads)
    data = load(name, root=root)
    seed_everything(seed)
    model = build_model(kind, data.num_users, data.num_items, 64, 3)
    r = RecommendationTrainer(model, data, RecTrainConfig.for_model(kind, seed=seed, device=device)).fit()
    print(f"{name} {kind} seed {seed}: recall@20 {r['recall@20']:.4f} ndcg@20 {r['ndcg@20']:.4f} "
          f"epochs {r['epochs_run']} (best {r['best_epoch']}) {r['seconds']:.0f} s", flush=True)
    return name, kind, seed, {k: r[k] for k in (*METRICS, "epochs_run", "best_epoch", "seconds")}


def run_table(args) -> None:
    """Popularity, MF, LightGCN and GF-CF at ``RecTrainConfig.for_model`` (the
    CLI's defaults), one run per seed, ``--jobs`` runs at a time."""
    import multiprocessing as mp

    kinds = args.models
    jobs = [(args.root, name, kind, seed, args.device, args.threads or 1)
            for name in args.datasets for kind in kinds for seed in args.seeds]
    if args.jobs > 1:
        with mp.get_context("spawn").Pool(args.jobs) as pool:
            done = pool.map(_one_run, jobs, chunksize=1)
    else:
        done = [_one_run(job) for job in jobs]
    raw = {}
    for name, kind, seed, r in done:
        raw.setdefault(f"{name}/{kind}", []).append(r)
    rows = []
    for name in args.datasets:
        for kind in kinds:
            runs = raw[f"{name}/{kind}"]
            cells = []
            for m in METRICS:
                vals = [r[m] for r in runs]
                sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
                cells.append(f"{statistics.mean(vals):.4f} ± {sd:.4f}")
            rows.append([name, kind, *cells, "/".join(str(r["best_epoch"]) for r in runs)])
    print(f"seeds {args.seeds}, device {args.device}, {args.threads or 1} thread(s) per run, {args.jobs} runs at a time")
    print(table(rows, ["dataset", "model", *METRICS, "best epoch per seed"]))
    print(environment())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(raw, fh, indent=1)


def run_gowalla(args) -> None:
    data = load("gowalla", root=args.root)
    seed_everything(0)
    model = build_model("lightgcn", data.num_users, data.num_items, 64, 3)
    cfg = RecTrainConfig(epochs=1000, lr=1e-3, batch_size=2048, reg=1e-4, seed=0, device=args.device,
                         checkpoint=args.checkpoint, csv=args.csv, max_seconds=60 * args.max_minutes, progress=True)
    r = RecommendationTrainer(model, data, cfg).fit()
    rows = [[h["epoch"], f"{h['loss']:.4f}", f"{h['epoch_seconds']:.0f}", f"{h.get('val_recall@20', float('nan')):.4f}",
             f"{h.get('val_ndcg@20', float('nan')):.4f}"] for h in r["history"]]
    print(table(rows, ["epoch", "loss", "epoch s", "val recall@20", "val ndcg@20"]))
    print(f"test (best epoch {r['best_epoch']} of {r['epochs_run']}): recall@20 {r['recall@20']:.4f} "
          f"ndcg@20 {r['ndcg@20']:.4f}; {r['seconds']:.0f} s in all")
    print(environment())


def _pyg_eval(model, edge_index, train_eli, test_eli, num_users, k=20, batch_size=2048):
    """The evaluation of torch_geometric's examples/lightgcn.py (precision/recall@k)."""
    from torch_geometric.utils import degree

    emb = model.get_embedding(edge_index)
    user_emb, item_emb = emb[:num_users], emb[num_users:]
    precision = recall = total = 0
    for start in range(0, num_users, batch_size):
        end = start + batch_size
        logits = user_emb[start:end] @ item_emb.t()
        mask = (train_eli[0] >= start) & (train_eli[0] < end)
        logits[train_eli[0, mask] - start, train_eli[1, mask] - num_users] = float("-inf")
        truth = torch.zeros_like(logits, dtype=torch.bool)
        mask = (test_eli[0] >= start) & (test_eli[0] < end)
        truth[test_eli[0, mask] - start, test_eli[1, mask] - num_users] = True
        count = degree(test_eli[0, mask] - start, num_nodes=logits.size(0))
        hit = truth.gather(1, logits.topk(k, dim=-1).indices)
        precision += float((hit.sum(-1) / k).sum())
        recall += float((hit.sum(-1) / count.clamp(1e-6)).sum())
        total += int((count > 0).sum())
    return precision / total, recall / total


def _alternate(fns: dict, repeats: int) -> dict[str, list[float]]:
    """Seconds of each function per repeat, run in alternation (order flipped every repeat)."""
    times = {name: [] for name in fns}
    names = list(fns)
    for rep in range(repeats):
        for name in names if rep % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def run_speed(args) -> None:
    """Training steps and the full test evaluation: gnnkit's RecTask against
    torch_geometric's example, alternating in one process (min / median of ``--repeats``)."""
    from torch_geometric.nn.models import LightGCN as PyGLightGCN

    data = load(args.dataset, root=args.root)
    nu, ni = data.num_users, data.num_items
    seed_everything(0)
    trainer = RecommendationTrainer(build_model("lightgcn", nu, ni, 64, 3), data, RecTrainConfig(device="cpu"))
    task, engine = trainer.task, trainer.engine
    full = task.train_pairs
    n_train, bs = full.numel(), 2048
    batches_per_epoch = -(-n_train // bs)
    t0 = time.perf_counter()
    task.sampler.sample(full // ni, generator=task.generator)
    sample_s = time.perf_counter() - t0
    keys = full[torch.randperm(n_train)[: bs * args.batches]]
    users, pos = keys // ni, keys % ni
    neg = task.sampler.sample(users, generator=task.generator)

    def ours_steps():
        for b in range(args.batches):
            sl = slice(b * bs, (b + 1) * bs)
            engine.step(task._batch_loss(engine, users[sl], pos[sl], neg[sl]))

    train_eli = torch.stack([full // ni, full % ni + nu])
    edge_index = torch.cat([train_eli, train_eli.flip(0)], dim=1)
    test_eli = torch.stack([data.test_interactions[0], data.test_interactions[1] + nu])
    torch.manual_seed(0)
    model = PyGLightGCN(nu + ni, embedding_dim=64, num_layers=3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    index = torch.randperm(train_eli.size(1))[: bs * args.batches]

    def pyg_steps():  # as torch_geometric/examples/lightgcn.py
        for b in range(args.batches):
            pos_eli = train_eli[:, index[b * bs : (b + 1) * bs]]
            neg_eli = torch.stack([pos_eli[0], torch.randint(nu, nu + ni, (pos_eli.size(1),))])
            eli = torch.cat([pos_eli, neg_eli], dim=1)
            opt.zero_grad()
            pos_rank, neg_rank = model(edge_index, eli).chunk(2)
            model.recommendation_loss(pos_rank, neg_rank, node_id=eli.unique()).backward()
            opt.step()

    def pyg_eval():
        with torch.no_grad():
            _pyg_eval(model, edge_index, train_eli, test_eli, nu)

    ours_steps(), pyg_steps()  # warm-up (builds gnnkit's normalised adjacency once)
    steps = _alternate({"gnnkit": ours_steps, "pyg": pyg_steps}, args.repeats)
    evals = _alternate({"gnnkit": lambda: task.evaluate("test"), "pyg": pyg_eval}, args.repeats)
    rows = []
    for name in steps:
        per_batch = [t / args.batches for t in steps[name]]
        epoch = statistics.median(per_batch) * batches_per_epoch + (sample_s if name == "gnnkit" else 0.0)
        rows.append([name, f"{min(per_batch) * 1e3:.0f}", f"{statistics.median(per_batch) * 1e3:.0f}", f"{epoch:.0f}",
                     f"{min(evals[name]):.1f}", f"{statistics.median(evals[name]):.1f}"])
    med = {name: statistics.median(ts) for name, ts in steps.items()}
    emed = {name: statistics.median(ts) for name, ts in evals.items()}
    print(f"{args.dataset}: {n_train} training pairs, {batches_per_epoch} batches of {bs} per epoch; {args.repeats} "
          f"alternating repeats of {args.batches} batches; gnnkit sampling of one epoch's negatives {sample_s:.2f} s")
    print(table(rows, ["library", "min ms / batch", "median ms / batch", "s / epoch (median)",
                       "min s / evaluation", "median s / evaluation"]))
    print(f"speed-up (medians): per step {med['pyg'] / med['gnnkit']:.1f}x, per evaluation "
          f"{emed['pyg'] / emed['gnnkit']:.1f}x; (minima) per step "
          f"{min(steps['pyg']) / min(steps['gnnkit']):.1f}x, per evaluation {min(evals['pyg']) / min(evals['gnnkit']):.1f}x")
    print("note: gnnkit's evaluation computes recall/ndcg/precision/hit at 10 and 20; PyG's example precision/recall at 20")
    print(environment())


def _scipy_gfcf(train, nu: int, ni: int, k: int = 256, alpha: float = 0.3):
    """The straightforward scipy GF-CF (as the authors' code): ``svds`` of R̃,
    then per user batch ``X R̃ᵀ R̃`` (sparse x sparse) ``+ α X D^{-1/2} V Vᵀ D^{1/2}``."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    r = sp.csr_matrix((np.ones(train.size(1), dtype=np.float32), (train[0].numpy(), train[1].numpy())), shape=(nu, ni))
    r.data[:] = 1.0  # duplicates summed: back to binary
    du, di = np.asarray(r.sum(1)).ravel(), np.asarray(r.sum(0)).ravel()
    iu = np.where(du > 0, 1 / np.sqrt(np.maximum(du, 1)), 0).astype(np.float32)
    ii = np.where(di > 0, 1 / np.sqrt(np.maximum(di, 1)), 0).astype(np.float32)
    norm = (sp.diags(iu) @ r @ sp.diags(ii)).tocsr()
    norm_t = norm.T.tocsr()
    _, _, vt = svds(norm, k=k, random_state=0)
    left, right = (ii[:, None] * vt.T).astype(np.float32), (vt * np.sqrt(di)[None, :]).astype(np.float32)

    def scores(users):
        x = r[users.numpy()]
        return torch.from_numpy(np.asarray((x @ norm_t @ norm).todense()) + alpha * ((x @ left) @ right))
    return scores


def run_gfcf(args) -> None:
    """GF-CF end to end (filter + ranking of every test user): gnnkit against
    the scipy reference, alternating, same process, same ranking code."""
    from gnnkit.datasets.interactions import positives_csr
    from gnnkit.nn.models.gfcf import GFCF
    from gnnkit.train.ranking import evaluate_scores

    data = load(args.dataset, root=args.root)
    nu, ni, train, test = data.num_users, data.num_items, data.train_interactions, data.test_interactions
    seen = positives_csr(train[0], train[1], nu, ni)

    def ours():
        torch.manual_seed(0)
        model = GFCF(nu, ni).fit(train)
        return evaluate_scores(model.batch_scorer(), nu, ni, test, seen, batch_size=model.score_batch_size)

    def reference():
        return evaluate_scores(_scipy_gfcf(train, nu, ni), nu, ni, test, seen)

    times, metrics = {"gnnkit": [], "scipy": []}, {}
    for rep in range(args.repeats):
        order = [("gnnkit", ours), ("scipy", reference)]
        for name, fn in order if rep % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            metrics[name] = fn()
            times[name].append(time.perf_counter() - t0)
            print(f"repeat {rep} {name}: {times[name][-1]:.1f} s, recall@20 {metrics[name]['recall@20']:.4f} "
                  f"ndcg@20 {metrics[name]['ndcg@20']:.4f}", flush=True)
    rows = [[name, f"{min(ts):.1f}", f"{statistics.median(ts):.1f}", f"{metrics[name]['recall@20']:.4f}",
             f"{metrics[name]['ndcg@20']:.4f}"] for name, ts in times.items()]
    print(f"{args.dataset} GF-CF (k 256, alpha 0.3), {args.repeats} alternating repeats, end to end seconds")
    print(table(rows, ["implementation", "min s", "median s", "recall@20", "ndcg@20"]))
    print(f"speed-up (median) {statistics.median(times['scipy']) / statistics.median(times['gnnkit']):.1f}x, "
          f"(min) {min(times['scipy']) / min(times['gnnkit']):.1f}x")
    print(environment())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("part", choices=("table", "gowalla", "speed", "gfcf"))
    p.add_argument("--root", default=None, help="data root holding NAME/raw/")
    p.add_argument("--datasets", nargs="+", default=["ml-100k", "lastfm"])
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    p.add_argument("--models", nargs="+", default=["pop", "mf", "lightgcn", "gfcf"], help="table: models")
    p.add_argument("--jobs", type=int, default=1, help="table: runs at a time (separate processes)")
    p.add_argument("--repeats", type=int, default=5, help="gfcf, speed: alternating repeats of both contenders")
    p.add_argument("--json", default=None)
    p.add_argument("--device", default="auto")
    p.add_argument("--max-minutes", type=float, default=40.0)
    p.add_argument("--checkpoint", default="out/gowalla_lightgcn.pt")
    p.add_argument("--csv", default="out/gowalla_lightgcn.csv")
    p.add_argument("--dataset", default="gowalla")
    p.add_argument("--batches", type=int, default=3, help="speed: training batches per repeat")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    {"table": run_table, "gowalla": run_gowalla, "speed": run_speed, "gfcf": run_gfcf}[args.part](args)


if __name__ == "__main__":
    main()
