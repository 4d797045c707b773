"""A checkpoint knows the data it was trained on by content, not only by name
and size: predicting or resuming on files edited since (an entity renamed, a
triple or an interaction swapped, sizes unchanged) is one clear error, not
answers for the wrong ids."""

from gnnkit.cli import main
from gnnkit_testing import write_ring_triples


def test_predict_kg_refuses_a_knowledge_graph_edited_since_training(tmp_path, capsys):
    folder = write_ring_triples(tmp_path / "ring")
    ck = tmp_path / "kg.pt"
    assert main(["train", "kg", "--dataset", str(folder), "--model", "distmult", "--dim", "8", "--epochs", "2",
                 "--checkpoint", str(ck), "--quiet"]) == 0
    query = ["predict", "kg", "--checkpoint", str(ck), "--head", "e1", "--relation", "next", "-k", "2"]
    capsys.readouterr()
    assert main(query) == 0
    for name in ("train.txt", "valid.txt", "test.txt"):  # rename e1 <-> e2 everywhere: same sizes, other ids
        path = folder / name
        path.write_text(path.read_text().replace("e1\t", "TMP\t").replace("e2\t", "e1\t").replace("TMP\t", "e2\t"))
    assert main(query) == 2
    err = capsys.readouterr().err
    assert "other contents" in err and "edited" in err and err.count("\n") == 1


def test_train_rec_does_not_resume_on_interactions_edited_in_place(tmp_path, capsys):
    data = tmp_path / "mine"
    data.mkdir()
    (data / "train.txt").write_text("".join(f"{u} " + " ".join(str((u + j) % 12) for j in range(8)) + "\n" for u in range(10)))
    (data / "test.txt").write_text("".join(f"{u} {(u + 9) % 12}\n" for u in range(10)))
    ck = tmp_path / "r.pt"
    args = ["train", "rec", "--dataset", str(data), "--model", "mf", "--epochs", "2", "--eval-every", "1",
            "--checkpoint", str(ck), "--ks", "2", "5", "--quiet"]
    assert main(args) == 0
    lines = (data / "train.txt").read_text().splitlines()
    lines[0] = lines[0].replace(" 1 ", " 9 ")  # user 0 now has item 9 instead of 1: same sizes
    (data / "train.txt").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main([*args[:6], "--epochs", "3", *args[8:]]) == 2
    assert "other contents" in capsys.readouterr().err


def test_predict_node_refuses_labels_edited_since_training(tmp_path, capsys):
    folder = tmp_path / "social"
    folder.mkdir()
    (folder / "edges.csv").write_text("id_1,id_2\n" + "".join(f"{i},{(i + 1) % 20}\n{i},{(i + 7) % 20}\n"
                                                             for i in range(20)))
    (folder / "target.csv").write_text("id,target\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    ck = tmp_path / "n.pt"
    assert main(["train", "node", "--dataset", str(folder), "--epochs", "2", "--checkpoint", str(ck), "--quiet"]) == 0
    (folder / "target.csv").write_text("id,target\n" + "".join(f"{i},{(i + 1) % 2}\n" for i in range(20)))
    capsys.readouterr()
    assert main(["predict", "node", "--checkpoint", str(ck)]) == 2
    assert "other contents" in capsys.readouterr().err



def test_a_learning_rate_that_overflows_adams_step_is_refused_by_name(tmp_path, capsys):
    folder = write_ring_triples(tmp_path / "ring")
    assert main(["train", "kg", "--dataset", str(folder), "--epochs", "1", "--lr", "1e38", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == "gnnkit: error: --lr must be in (0, 1e6], got 1e+38\n"
