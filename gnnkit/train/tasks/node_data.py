"""The labels and split masks a node-classification run trains on: checked
before anything is trained (``prepare_graph`` calls these)."""
from __future__ import annotations

import warnings
import weakref
from typing import TYPE_CHECKING

import torch

from gnnkit.graph import Graph
from gnnkit.train.splits import stratified_split

if TYPE_CHECKING:
    from gnnkit.train.tasks.node import NodeConfig

_DEFAULT_SPLIT = (0.6, 0.2, 0.2)


def check_labels(graph: Graph) -> None:
    """Raise ``ValueError`` unless ``graph`` has one integer class per node."""
    if graph.y is None:
        raise ValueError("the graph has no labels (y is None): node classification needs one class id per node")
    if graph.y.dim() != 1 or graph.y.dtype.is_floating_point or graph.y.dtype == torch.bool:
        raise ValueError(f"node classification needs y as [num_nodes] integer class ids, got shape "
                         f"{tuple(graph.y.shape)} and dtype {graph.y.dtype}")
    if not bool((graph.y >= 0).any()):
        raise ValueError("no node has a label (every y is negative): node classification needs labelled nodes")
    classes = torch.unique(graph.y[graph.y >= 0])
    top = int(classes[-1])
    if top >= 1 << 16 and top + 1 > 16 * classes.numel():  # the output layer would be sized by the largest id
        raise ValueError(f"class id {top} would give the model {top + 1} outputs, but only {classes.numel()} "
                         f"distinct classes appear; number the classes 0..C-1")
    said = _ONE_CLASS_WARNED.get(id(graph.y))
    if classes.numel() == 1 and (said is None or said() is not graph.y):
        _ONE_CLASS_WARNED[id(graph.y)] = weakref.ref(graph.y)
        warnings.warn(f"every labelled node has class {int(classes[0])}: there is nothing to tell apart, so the "
                      f"accuracy says nothing about the model; check the labels file", stacklevel=2)


# label tensors already warned about (prepare_graph runs once per seed): a weak reference per id, so a
# new tensor that reuses a freed one's id is not taken for it
_ONE_CLASS_WARNED: dict[int, weakref.ref] = {}


def check_split_options(graph: Graph, config: NodeConfig, seed: int) -> None:
    """``split`` / ``per_class`` / ``split_seed`` draw a split: on a graph with
    its own masks (Cora's public split) they would be ignored. Masks that are
    the very split these options draw (a graph this function prepared, moved
    to another device) pass."""
    asked = [name for name, given in (("per_class", config.per_class is not None),
                                      ("split", config.split != _DEFAULT_SPLIT),
                                      ("split_seed", config.split_seed is not None)) if given]
    if not asked or any(m is None for m in (graph.train_mask, graph.val_mask, graph.test_mask)):
        return
    split_seed = seed if config.split_seed is None else config.split_seed
    try:
        drawn = stratified_split(graph.y.cpu(), config.split, per_class=config.per_class, seed=split_seed)
    except ValueError:
        drawn = None
    if drawn is not None and all(torch.equal(d, m.cpu()) for d, m in
                                 zip(drawn, (graph.train_mask, graph.val_mask, graph.test_mask))):
        return
    raise ValueError(f"the graph has its own split masks (train/val/test), so {' and '.join(asked)} would be "
                     f"ignored; drop {'them' if len(asked) > 1 else 'it'}, or remove the masks "
                     f"(graph.replace(train_mask=None, val_mask=None, test_mask=None)) to draw a split")


def check_masks(graph: Graph) -> None:
    y = graph.y
    masks = {name: getattr(graph, name) for name in ("train_mask", "val_mask", "test_mask")}
    for name, mask in masks.items():
        if not bool(mask.any()):
            raise ValueError(f"{name} selects no node: the split leaves it empty")
        if bool((y[mask] < 0).any()):
            raise ValueError(f"{name} selects unlabelled nodes (negative y); remove them from the mask")
    classes = torch.unique(y[y >= 0])
    seen = torch.unique(y[graph.train_mask])
    empty = sorted(set(classes.tolist()) - set(seen.tolist()))
    if empty:
        raise ValueError(f"the training split has no node of class(es) {empty}: a model cannot learn a class it "
                         f"never sees; use a larger training fraction or per_class")
    for a, b in (("train_mask", "val_mask"), ("train_mask", "test_mask"), ("val_mask", "test_mask")):
        both = masks[a] & masks[b]
        if bool(both.any()):
            raise ValueError(f"{a} and {b} overlap in {int(both.sum())} node(s) (first: node "
                             f"{int(both.nonzero()[0])}); a node must be in one split only")
