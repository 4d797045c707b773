"""Top-k commands on graphs too small for their default k: the default shrinks to what there is, and
"nothing left" is said, not printed as an empty list or a range error about an option never given."""
from __future__ import annotations

import json

from gnnkit.cli import main


def test_predict_kg_default_k_fits_a_graph_of_few_entities(tmp_path, capsys):
    data = tmp_path / "kg"
    data.mkdir()
    for part in ("train", "valid", "test"):
        (data / f"{part}.txt").write_text("a\tr\tb\nb\tr\tc\nc\tr\ta\n")
    ck = tmp_path / "kg.pt"
    assert main(["train", "kg", "--dataset", str(data), "--epochs", "1", "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", "kg", "--checkpoint", str(ck), "--head", "a", "--relation", "r", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["tails"]) == 3  # every entity: fewer than 10
    assert main(["predict", "kg", "--checkpoint", str(ck), "--head", "a", "--relation", "r", "-k", "4"]) == 2
    assert "k must be between 1 and the 3 entities, got 4" in capsys.readouterr().err


def test_recommend_for_a_user_who_has_every_item_says_so(tmp_path, capsys):
    data = tmp_path / "rec"
    data.mkdir()
    # user 0 has all 12 items; user u > 0 ten in training and one held out for the test (which the user has
    # too, so it is not recommended): one is left
    train = ["0 " + " ".join(map(str, range(12)))]
    train += [f"{u} " + " ".join(str((u + i) % 12) for i in range(10)) for u in range(1, 20)]
    (data / "train.txt").write_text("\n".join(train) + "\n")
    (data / "test.txt").write_text("".join(f"{u} {(u + 10) % 12}\n" for u in range(1, 20)))
    ck = tmp_path / "rec.pt"
    assert main(["train", "rec", "--dataset", str(data), "--model", "mf", "--epochs", "1", "--ks", "2",
                 "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(ck), "--user", "0"]) == 2
    err = capsys.readouterr().err
    assert "user 0 has interacted with every item (12): there is nothing new to recommend" in err and "--k" not in err
    assert main(["recommend", "--checkpoint", str(ck), "--user", "3", "--json"]) == 0  # the default k shrinks to 1
    assert [row["item"] for row in json.loads(capsys.readouterr().out)["items"]] == [2]  # (3 + 11) % 12


def test_suggest_friends_for_a_node_linked_to_everyone_says_so(tmp_path, capsys):
    edges = tmp_path / "star.txt"
    # node 0 is linked to every other node; the ring gives the others non-neighbours
    edges.write_text("".join(f"0 {i}\n{i} {i % 30 + 1}\n" for i in range(1, 31)))
    ck = tmp_path / "link.pt"
    assert main(["train", "link", "--dataset", str(edges), "--epochs", "2", "--checkpoint", str(ck), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["suggest-friends", "--checkpoint", str(ck), "--node", "0"]) == 2
    assert "node 0 is already linked to every other node of the graph" in capsys.readouterr().err
