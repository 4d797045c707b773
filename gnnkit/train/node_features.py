"""Node features for graphs that have none: cheap structural statistics.

Social graphs such as MUSAE facebook or lastfm-asia come with labels and
edges only. ``structural_features`` describes each node by what the edges say
about it: its degree, clustering coefficient, PageRank and the mean degree of
its neighbours, plus a FastRP embedding (Chen et al. 2019,
https://arxiv.org/abs/1908.11512): a random projection of the identity
propagated a few steps along the normalised adjacency, which places nodes of
the same community near each other. Everything is a handful of sparse products,
deterministic given ``seed``; the columns are standardised.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

STAT_NAMES = ("log_degree", "clustering", "log_pagerank", "neighbour_log_degree")


def _adjacency(edge_index: Tensor, num_nodes: int) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency without self-loops."""
    ei = edge_index.detach().cpu().numpy()
    keep = ei[0] != ei[1]
    src, dst = ei[0, keep], ei[1, keep]
    a = sp.coo_matrix((np.ones(2 * src.size, dtype=np.float64), (np.r_[src, dst], np.r_[dst, src])),
                      shape=(num_nodes, num_nodes)).tocsr()
    a.data[:] = 1.0  # duplicates summed by tocsr: back to 0/1
    return a


def structural_features(edge_index: Tensor, num_nodes: int, dim: int = 32, steps: int = 3,
                        seed: int = 0) -> Tensor:
    """``[num_nodes, 4 + dim]`` standardised structural features.

    Columns: ``log(1 + deg)``, local clustering coefficient, ``log(N · PageRank)``
    (damping 0.85, 30 power iterations), the mean ``log(1 + deg)`` of the
    neighbours, then ``dim`` FastRP columns ``Σ_{k=1..steps} (D^{-1} A)^k R``
    (each power row-normalised) for a sparse random sign matrix ``R``.

    Args:
        edge_index: ``[2, E]`` edges (direction ignored).
        num_nodes: number of nodes.
        dim: FastRP columns (default 32; 0 for the statistics alone).
        steps: propagation steps of FastRP (default 3).
        seed: seed of the random projection.
    """
    if dim < 0 or steps < 1:
        raise ValueError(f"structural_features: need dim >= 0 and steps >= 1, got dim={dim}, steps={steps}")
    a = _adjacency(edge_index, num_nodes)
    deg = np.asarray(a.sum(1)).ravel()
    log_deg = np.log1p(deg)
    inv_deg = np.where(deg > 0, 1.0 / np.maximum(deg, 1), 0.0)
    walk = sp.diags(inv_deg) @ a  # D^-1 A, rows of isolated nodes stay zero
    triangles = np.asarray((a @ a).multiply(a).sum(1)).ravel() / 2
    pairs = deg * (deg - 1) / 2
    clustering = np.where(pairs > 0, triangles / np.maximum(pairs, 1), 0.0)
    pr = np.full(num_nodes, 1.0 / max(num_nodes, 1))
    walk_t = walk.T.tocsr()
    for _ in range(30):
        pr = 0.15 / max(num_nodes, 1) + 0.85 * (walk_t @ pr + pr[deg == 0].sum() / max(num_nodes, 1))
    columns = [log_deg, clustering, np.log(np.maximum(pr * num_nodes, 1e-12)), walk @ log_deg]
    feats = np.stack(columns, axis=1)
    if dim:
        rng = np.random.default_rng(seed)
        # Achlioptas' sparse projection: ±sqrt(3) with probability 1/6 each, else 0.
        r = rng.choice([-np.sqrt(3), 0.0, np.sqrt(3)], size=(num_nodes, dim), p=[1 / 6, 2 / 3, 1 / 6])
        h, emb = r, np.zeros((num_nodes, dim))
        for _ in range(steps):
            h = walk @ h
            emb += h / np.maximum(np.linalg.norm(h, axis=1, keepdims=True), 1e-12)
        feats = np.concatenate([feats, emb], axis=1)
    std = feats.std(axis=0)
    feats = (feats - feats.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return torch.from_numpy(feats.astype(np.float32))


def row_normalize(x: Tensor) -> Tensor:
    """Each row divided by the sum of its absolute values (rows of zeros stay
    0): for non-negative features, such as bag-of-words counts, its sum, the
    GCN paper's preprocessing; features of both signs keep their signs and
    are not blown up by a row sum near zero."""
    s = x.abs().sum(dim=1, keepdim=True)
    return x / torch.where(s == 0, torch.ones_like(s), s)


__all__ = ["STAT_NAMES", "row_normalize", "structural_features"]
