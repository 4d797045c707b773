"""An output option never destroys what the command reads or another output:
the dataset's own files, the --resume checkpoint, or another option's file."""
import pytest

from gnnkit.cli import main


def lightgcn_folder(path):
    path.mkdir()
    (path / "train.txt").write_text("".join(f"{u} {u % 5} {(u + 1) % 5} {(u + 2) % 5}\n" for u in range(8)))
    (path / "test.txt").write_text("".join(f"{u} {(u + 3) % 5}\n" for u in range(8)))
    return path


def edge_list(path):
    path.write_text("".join(f"{i} {(i + 1) % 12}\n{i} {(i + 5) % 12}\n" for i in range(12)))
    return path


@pytest.mark.parametrize("flag", ["--log-csv", "--json", "--checkpoint"])
def test_rec_outputs_never_overwrite_the_datasets_files(tmp_path, capsys, flag):
    data = lightgcn_folder(tmp_path / "mine")
    before = (data / "train.txt").read_text()
    assert main(["train", "rec", "--dataset", str(data), "--model", "mf", flag, str(data / "train.txt"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{flag} {data / 'train.txt'} is an input file of the dataset" in err and err.count("\n") == 1
    assert (data / "train.txt").read_text() == before


@pytest.mark.parametrize("task", ["link", "node"])
def test_an_edge_list_or_folder_is_not_overwritten_by_json(tmp_path, capsys, task):
    edges = edge_list(tmp_path / "edges.txt")
    before = edges.read_text()
    args = ["train", task, "--dataset", str(edges), "--epochs", "1", "--json", str(edges), "--quiet"]
    if task == "node":  # node classification needs labels: an edge list is refused, but never overwritten
        args = ["train", "node", "--dataset", "karate", "--epochs", "1", "--json", str(edges), "--log-csv",
                str(edges), "--quiet"]
    assert main(args) == 2
    assert edges.read_text() == before


def test_two_outputs_naming_one_file_are_refused_before_training(tmp_path, capsys):
    out = tmp_path / "same.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "1", "--checkpoint", str(out), "--json", str(out),
                 "--quiet"]) == 2
    assert "--checkpoint and --json both name" in capsys.readouterr().err and not out.exists()
    # with several seeds every seed's file counts: PATH-seed1 of one option is another option's file
    assert main(["train", "node", "--dataset", "karate", "--epochs", "1", "--seeds", "2", "--checkpoint",
                 str(tmp_path / "r.pt"), "--log-csv", str(tmp_path / "r-seed1.pt"), "--quiet"]) == 0
    assert main(["train", "node", "--dataset", "karate", "--epochs", "1", "--seeds", "2", "--checkpoint",
                 str(tmp_path / "s.csv"), "--log-csv", str(tmp_path / "s.csv"), "--quiet"]) == 2
    assert "both name" in capsys.readouterr().err


def test_predict_output_never_replaces_the_checkpoint_or_the_labels(tmp_path, capsys):
    ck = tmp_path / "k.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "2", "--checkpoint", str(ck), "--quiet"]) == 0
    size = ck.stat().st_size
    assert main(["predict", "node", "--checkpoint", str(ck), "--output", str(ck)]) == 2
    assert ck.stat().st_size == size
    assert "--output" in capsys.readouterr().err


def test_json_of_another_run_may_not_be_the_resume_checkpoint(tmp_path, capsys):
    ck = tmp_path / "k.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "2", "--checkpoint", str(ck), "--quiet"]) == 0
    assert main(["train", "node", "--dataset", "karate", "--epochs", "3", "--resume", str(ck), "--checkpoint",
                 str(tmp_path / "new.pt"), "--log-csv", str(ck), "--quiet"]) == 2
    assert "is the --resume checkpoint" in capsys.readouterr().err


def test_a_new_run_never_replaces_an_existing_checkpoint_of_any_task(tmp_path, capsys):
    rec = tmp_path / "rec.pt"
    data = lightgcn_folder(tmp_path / "mine")
    assert main(["train", "rec", "--dataset", str(data), "--model", "pop", "--ks", "2", "--val-fraction", "0.4",
                 "--checkpoint", str(rec),
                 "--quiet"]) == 0
    before = rec.read_bytes()
    for task, dataset in (("node", "karate"), ("link", "karate")):
        assert main(["train", task, "--dataset", dataset, "--epochs", "1", "--checkpoint", str(rec), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert "already exists" in err and f"--resume {rec}" in err
    assert rec.read_bytes() == before


def test_suggest_friends_json_never_overwrites_the_trained_graph(tmp_path, capsys):
    edges = edge_list(tmp_path / "g.txt")
    before = edges.read_text()
    ckpt = tmp_path / "l.pt"
    assert main(["train", "link", "--dataset", str(edges), "--epochs", "2", "--checkpoint", str(ckpt), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["suggest-friends", "--checkpoint", str(ckpt), "--index", "0", "--json", str(edges)]) == 2
    err = capsys.readouterr().err
    assert "is an input file of the dataset" in err and err.count("\n") == 1
    assert edges.read_text() == before


def test_outputs_follow_symlinks_and_write_through_fifos(tmp_path, capsys):
    import json
    import os
    import threading

    from gnnkit.io import atomic_write_text

    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_text(link, "new")
    assert link.is_symlink() and target.read_text() == "new"  # the link stays a link

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="FIFO that no process is reading"):
        atomic_write_text(fifo, "x")  # no reader: an error, not a hang
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    for _ in range(200):  # the reader's open() must come first
        try:
            atomic_write_text(fifo, json.dumps({"a": 1}))
            break
        except OSError:
            threading.Event().wait(0.01)
    reader.join(5)
    assert got == ['{"a": 1}'] and fifo.is_fifo()  # written through, not replaced by a regular file

    (tmp_path / "l1").symlink_to(tmp_path / "l2")
    (tmp_path / "l2").symlink_to(tmp_path / "l1")
    edges = edge_list(tmp_path / "g.txt")
    assert main(["train", "node", "--dataset", str(edges), "--epochs", "1", "--json", str(tmp_path / "l1"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "is a symlink loop" in err and err.count("\n") == 1


def test_a_fifo_given_as_checkpoint_is_refused_at_once(tmp_path, capsys):
    import os

    fifo = tmp_path / "f.pt"
    os.mkfifo(fifo)
    for command in (["predict", "node", "--checkpoint", str(fifo)], ["recommend", "--checkpoint", str(fifo),
                                                                     "--index", "0"]):
        assert main(command) == 2
        assert "is not a regular file" in capsys.readouterr().err


def test_an_output_option_never_overwrites_a_checkpoint(tmp_path, capsys):
    ckpt = tmp_path / "a.pt"
    assert main(["train", "node", "--dataset", "karate", "--epochs", "1", "--checkpoint", str(ckpt),
                 "--quiet"]) == 0
    other = tmp_path / "b.pt"
    other.write_bytes(ckpt.read_bytes())
    capsys.readouterr()
    assert main(["predict", "node", "--checkpoint", str(ckpt), "--output", str(other)]) == 2
    assert "is a gnnkit checkpoint" in capsys.readouterr().err
    assert main(["train", "node", "--dataset", "karate", "--epochs", "1", "--json", str(other), "--quiet"]) == 2
    assert other.read_bytes() == ckpt.read_bytes()


def test_no_lock_file_is_made_beside_a_fifo_output(tmp_path):
    import os

    from gnnkit.io import exclusive_lock, is_verified_file

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with exclusive_lock(fifo):
        assert not (tmp_path / "pipe.lock").exists()  # (--json /dev/null made /dev/null.lock)
    assert not is_verified_file(fifo)  # answered without opening it (that would wait for a writer)


def kg_folder(path):
    path.mkdir()
    triples = [f"e{i}\tr{i % 2}\te{(i + 1) % 6}\n" for i in range(6)]
    for part in ("train", "valid", "test"):
        (path / f"{part}.txt").write_text("".join(triples))
    return path


@pytest.mark.parametrize("task", ["node", "link", "rec", "kg"])
def test_every_train_command_checks_and_locks_its_json_before_training(tmp_path, capsys, task):
    from gnnkit.io import exclusive_lock

    dataset = {"node": lambda: "karate", "link": lambda: str(edge_list(tmp_path / "e.txt")),
               "rec": lambda: str(lightgcn_folder(tmp_path / "r")), "kg": lambda: str(kg_folder(tmp_path / "k"))}[task]()
    args = ["train", task, "--dataset", dataset, "--epochs", "1", "--quiet"] + (["--model", "mf"] if task == "rec" else [])
    (tmp_path / "a-file").write_text("")
    assert main(args + ["--json", str(tmp_path / "a-file" / "out.json")]) == 2  # its folder cannot exist
    err = capsys.readouterr().err
    assert err.startswith("gnnkit: error: cannot write") and err.count("\n") == 1 and "seed" not in err
    held = tmp_path / "held.json"
    with exclusive_lock(held):  # another run is writing this --json
        assert main(args + ["--json", str(held)]) == 2
    assert "another run" in capsys.readouterr().err and not held.exists()


@pytest.mark.parametrize("task", ["node", "link", "kg", "rec"])
@pytest.mark.parametrize("flag", ["--json", "--checkpoint", "--log-csv"])
def test_an_output_named_like_a_lock_is_refused(tmp_path, capsys, task, flag):
    # old: --json same.csv.lock replaced a running job's lock on same.csv, and a third run then wrote same.csv too
    assert main(["train", task, "--dataset", str(tmp_path / "none"), flag, str(tmp_path / "same.csv.lock"),
                 "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{flag} {tmp_path / 'same.csv.lock'}: a name ending in .lock is where gnnkit locks" in err
    assert not (tmp_path / "same.csv.lock").exists()


@pytest.mark.parametrize("task", ["node", "link", "kg"])
def test_checkpoint_path_that_is_a_folder_or_another_file_is_named_as_such(tmp_path, capsys, task):
    (tmp_path / "adir").mkdir()
    (tmp_path / "sp.txt").write_text("0 1\n")
    # old: both "already exists (an earlier run's); pass --resume ...", which then failed another way
    for path, message in (("adir", "is a directory; give a file path"),
                          ("sp.txt", "exists and is not a gnnkit checkpoint; choose another path")):
        assert main(["train", task, "--dataset", str(tmp_path / "none"), "--checkpoint", str(tmp_path / path),
                     "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert (tmp_path / "sp.txt").read_text() == "0 1\n"
