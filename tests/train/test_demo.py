"""`make demo` runs `gnnkit demo`: it must train, not just start."""
from gnnkit.cli import main
from gnnkit.train.demo import karate_demo, karate_graph


def test_karate_split_has_four_labelled_members_per_club():
    g = karate_graph()
    assert g.num_nodes == 34 and int(g.train_mask.sum()) == 8 and int(g.val_mask.sum()) == 4
    assert int(g.test_mask.sum()) == 22
    assert not bool((g.train_mask & g.val_mask).any() or (g.train_mask & g.test_mask).any()
                    or (g.val_mask & g.test_mask).any())
    assert sorted(g.y[g.train_mask].tolist()) == [0] * 4 + [1] * 4


def test_demo_trains_a_gcn_well_above_chance(capsys):
    assert karate_demo(epochs=100, quiet=True)["test_accuracy"] > 0.75
    assert karate_demo(epochs=1, quiet=True)["test_accuracy"] < 0.75  # an untrained model does not get there
    assert main(["demo", "--quiet"]) == 0
    assert "GCN test accuracy" in capsys.readouterr().out
