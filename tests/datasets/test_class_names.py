"""The catalog's class names: label c of the files is class_names[c]."""
from __future__ import annotations

import pytest
import torch

from gnnkit.datasets import load
from gnnkit.datasets.catalog import get
from gnnkit_testing import dataset_dir

# Topic sizes of the original collections (P. Sen et al., AI Magazine 2008; https://linqs.org/datasets/).
ORIGINAL_SIZES = {
    "cora": {"Case_Based": 298, "Genetic_Algorithms": 418, "Neural_Networks": 818, "Probabilistic_Methods": 426,
             "Reinforcement_Learning": 217, "Rule_Learning": 180, "Theory": 351},
    "citeseer": {"Agents": 596, "AI": 249, "DB": 701, "IR": 668, "ML": 590, "HCI": 508},
}
UNLABELLED_AS_CLASS_0 = {"cora": 0, "citeseer": 15}  # CiteSeer nodes the Planetoid files give no label


@pytest.mark.data
@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_planetoid_class_names_match_the_class_sizes(data_root, name):
    dataset_dir(data_root, name)
    graph = load(name, root=data_root, download=False, progress=False)
    names = get(name).class_names
    counts = torch.bincount(graph.y, minlength=len(names)).tolist()
    assert len(counts) == len(names) == len(ORIGINAL_SIZES[name])
    expected = [ORIGINAL_SIZES[name][n] for n in names]
    expected[0] += UNLABELLED_AS_CLASS_0[name]
    assert counts == expected


def test_karate_class_names():
    graph = load("karate", progress=False)
    names = get("karate").class_names
    assert names[int(graph.y[0])] == "Mr. Hi" and names[int(graph.y[33])] == "Officer"  # the two leaders


def test_datasets_without_known_names_say_so():
    assert get("facebook").class_names == () and get("ml-100k").class_names == ()
