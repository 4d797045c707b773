"""Sampling for link prediction: edge splits, negative pairs, link-neighbourhood mini-batches.

``split_edges`` divides a graph's edges into training, validation and test
links without leakage; ``negative_sampling`` / ``bipartite_negative_sampling``
draw non-edges; ``LinkNeighborLoader`` yields mini-batches of pairs with the
sampled neighbourhoods of their endpoints (built on the neighbour sampler,
``gnnkit.sampling.neighbor``: ``NeighborLoader``, ``sample_neighbors``).
"""
from gnnkit.sampling.neighbor import NeighborLoader, SampledBatch, sample_neighbors
from gnnkit.sampling.link import LinkBatch, LinkNeighborLoader
from gnnkit.sampling.negative import EdgeSet, NegativeSamplingError, bipartite_negative_sampling, negative_sampling
from gnnkit.sampling.split import LinkSplit, is_undirected, split_edges
from gnnkit.sampling.structured import structured_negative_sampling

__all__ = ["EdgeSet", "LinkBatch", "LinkNeighborLoader", "LinkSplit", "NegativeSamplingError", "NeighborLoader", "SampledBatch",
           "bipartite_negative_sampling", "is_undirected", "negative_sampling", "sample_neighbors", "split_edges",
           "structured_negative_sampling"]
