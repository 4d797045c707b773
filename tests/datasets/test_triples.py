"""The tab-separated triple reader on files the tests write (UMLS, FB15k-237 and
WN18RR layouts), its errors, and the real Kinships / Nations files."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gnnkit.datasets.formats.triples import parse_triples, read_triples
from gnnkit.datasets.knowledge_graph import KnowledgeGraph, Triples

# a few lines in each published layout (names as in the real files)
UMLS = {
    "train.txt": "acquired_abnormality\tlocation_of\texperimental_model_of_disease\n"
                 "anatomical_abnormality\tmanifestation_of\tphysiologic_function\n"
                 "experimental_model_of_disease\tisa\tdisease_or_syndrome\n"
                 "physiologic_function\tprocess_of\tanatomical_abnormality\n",
    "valid.txt": "acquired_abnormality\tisa\tdisease_or_syndrome\n",
    "test.txt": "anatomical_abnormality\tlocation_of\tphysiologic_function\n",
}
FB15K237 = {
    "train.txt": "/m/027rn\t/location/country/form_of_government\t/m/06cx9\n"
                 "/m/017dcd\t/tv/tv_program/regular_cast./tv/regular_tv_appearance/actor\t/m/06v8s0\n"
                 "/m/07s9rl0\t/media_common/netflix_genre/titles\t/m/0170z3\n"
                 "/m/06cx9\t/location/country/form_of_government\t/m/027rn\n",
    "valid.txt": "/m/07s9rl0\t/location/country/form_of_government\t/m/06cx9\n",
    "test.txt": "/m/027rn\t/media_common/netflix_genre/titles\t/m/0170z3\n",
}
WN18RR = {
    "train.txt": "00260881\t_hypernym\t00260622\n01332730\t_derivationally_related_form\t03122748\n"
                 "06066555\t_derivationally_related_form\t00645415\n00260622\t_also_see\t01332730\n",
    "valid.txt": "00260881\t_also_see\t03122748\n",
    "test.txt": "06066555\t_hypernym\t00645415\n\n",  # a trailing blank line is fine
}


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("files", [UMLS, FB15K237, WN18RR], ids=["umls", "fb15k-237", "wn18rr"])
def test_reads_each_published_layout(tmp_path, files):
    kg = read_triples(write(tmp_path / "ds" / "raw", files))
    names = [line.split("\t") for line in files["train.txt"].splitlines()]
    assert kg.name == "ds"
    assert kg.entities == tuple(sorted({n for h, _, t in names for n in (h, t)}))
    assert kg.relations == tuple(sorted({r for _, r, _ in names}))
    assert (len(kg.train), len(kg.valid), len(kg.test)) == (4, 1, 1)
    for (h, r, t), k in zip(names, range(4)):  # ids decode back to the names, in file order
        assert (kg.entities[kg.train.head[k]], kg.relations[kg.train.relation[k]], kg.entities[kg.train.tail[k]]) \
            == (h, r, t)
    test = files["test.txt"].split("\n")[0].split("\t")
    assert [kg.entities[kg.test.head[0]], kg.relations[kg.test.relation[0]], kg.entities[kg.test.tail[0]]] == test


def test_inverse_triples(tmp_path):
    kg = read_triples(write(tmp_path / "umls", UMLS))
    inv = read_triples(tmp_path / "umls", inverse=True)
    r = kg.num_relations
    assert inv.inverse and inv.num_relations == 2 * r and inv.num_base_relations == r
    assert len(inv.train) == 2 * len(kg.train)
    assert torch.equal(inv.train.head[4:], kg.train.tail) and torch.equal(inv.train.tail[4:], kg.train.head)
    assert torch.equal(inv.train.relation[4:], kg.train.relation + r)
    assert inv.relations[r] == kg.relations[0] + "_inverse"
    assert torch.equal(inv.test.stack(), kg.test.stack())  # evaluation triples are left as they are
    assert inv.with_inverse() is inv
    # the filter set holds each true triple once, without the inverse copies
    assert len(inv.known_triples()) == len(kg.known_triples()) == 6


@pytest.mark.parametrize("line, found", [("a\tr\n", 2), ("a\tr\tb\tc\n", 4)])
def test_wrong_field_count_names_file_and_line(tmp_path, line, found):
    files = dict(UMLS, **{"valid.txt": "acquired_abnormality\tisa\tdisease_or_syndrome\n" + line})
    write(tmp_path, files)
    with pytest.raises(ValueError, match=rf"valid\.txt, line 2: found {found} tab-separated fields, expected 3"):
        read_triples(tmp_path)


def test_space_separated_line_hints_at_tabs(tmp_path):
    write(tmp_path, dict(UMLS, **{"train.txt": "a r b\n"}))
    with pytest.raises(ValueError, match=r"train\.txt, line 1: found 1 tab-separated field, .*separated by tabs"):
        read_triples(tmp_path)


@pytest.mark.parametrize("line, part", [("\tisa\tb", "head"), ("a\t \tb", "relation"), ("a\tisa\t", "tail")])
def test_empty_part(tmp_path, line, part):
    write(tmp_path, dict(UMLS, **{"test.txt": "acquired_abnormality\tisa\tdisease_or_syndrome\n\n" + line + "\n"}))
    with pytest.raises(ValueError, match=rf"test\.txt, line 3: the {part} field is empty"):
        read_triples(tmp_path)


def test_unseen_entity_or_relation(tmp_path, caplog):
    files = dict(UMLS, **{"test.txt": UMLS["test.txt"] + "acquired_abnormality\tisa\tnew_thing\n"
                                     "acquired_abnormality\tnew_relation\tphysiologic_function\n"})
    write(tmp_path, files)
    with pytest.raises(ValueError, match=r"test\.txt, line 2: entity 'new_thing' never occurs in .*train\.txt.*"
                                         r"2 such triple.*unseen='drop'"):
        read_triples(tmp_path)
    files["test.txt"] = UMLS["test.txt"] + "acquired_abnormality\tnew_relation\tphysiologic_function\n"
    write(tmp_path, files)
    with pytest.raises(ValueError, match=r"line 2: relation 'new_relation' never occurs"):
        read_triples(tmp_path)
    dropped = read_triples(tmp_path, unseen="drop")
    assert len(dropped.test) == 1 and "dropped 1 of 2 triples" in caplog.text
    kept = read_triples(tmp_path, unseen="keep")
    assert len(kept.test) == 2 and "new_relation" in kept.relations
    with pytest.raises(ValueError, match="unseen='maybe'"):
        read_triples(tmp_path, unseen="maybe")


def test_missing_files_and_empty_file(tmp_path):
    with pytest.raises(ValueError, match="is not a folder"):
        read_triples(tmp_path / "nope")
    write(tmp_path, {"train.txt": UMLS["train.txt"]})
    with pytest.raises(ValueError, match=r"valid\.txt does not exist"):
        read_triples(tmp_path)
    assert len(read_triples(tmp_path, valid=None, test=None).valid) == 0
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="empty.txt is empty"):
        parse_triples(tmp_path / "empty.txt")


def test_knowledge_graph_checks_ids_and_names():
    t = Triples(torch.tensor([0, 1]), torch.tensor([0, 0]), torch.tensor([1, 2]))
    kg = KnowledgeGraph(t, Triples.empty(), Triples.empty(), ["a", "b", "c"], ["r"])
    assert kg.entity_id("b") == 1 and kg.relation_id("r") == 0
    with pytest.raises(ValueError, match=r"unknown entity 'bb'; did you mean 'b'"):
        kg.entity_id("bb")
    with pytest.raises(ValueError, match=r"train relation id 3 \(triple 1\) is out of range; expected 0 <= id < 1"):
        KnowledgeGraph(Triples(t.head, torch.tensor([0, 3]), t.tail), Triples.empty(), Triples.empty(),
                       ["a", "b", "c"], ["r"])
    with pytest.raises(ValueError, match=r"tail entity id 2 .* expected 0 <= id < 2"):
        KnowledgeGraph(t, Triples.empty(), Triples.empty(), ["a", "b"], ["r"])
    with pytest.raises(ValueError, match="entity name 'a' appears twice"):
        KnowledgeGraph(t, Triples.empty(), Triples.empty(), ["a", "a", "c"], ["r"])
    with pytest.raises(ValueError, match="one entry per triple"):
        Triples(torch.tensor([0]), torch.tensor([0, 1]), torch.tensor([0]))
    back = KnowledgeGraph.from_state(kg.with_inverse().state())
    assert back.inverse and back.relations == ("r", "r_inverse") and torch.equal(back.train.stack(),
                                                                                 kg.with_inverse().train.stack())


@pytest.mark.data
@pytest.mark.parametrize("name, sizes", [("kinships", (104, 25, 8544, 1068, 1074)),
                                         ("nations", (14, 55, 1592, 199, 201))])
def test_real_files(raw_dir, name, sizes):
    kg = read_triples(raw_dir(name))
    assert (kg.num_entities, kg.num_relations, len(kg.train), len(kg.valid), len(kg.test)) == sizes
    assert kg.name == name


def test_names_are_found_in_either_unicode_form():
    """A name typed with a combining accent (NFD) finds the stored (NFC) one,
    instead of "unknown entity 'Zürich'; did you mean 'Zürich'?"."""
    import unicodedata

    t = Triples(torch.tensor([0]), torch.tensor([0]), torch.tensor([1]))
    kg = KnowledgeGraph(train=t, valid=t, test=t, entities=["Zürich", "Bern"], relations=["près de"])
    assert kg.entity_id(unicodedata.normalize("NFD", "Zürich")) == 0
    assert kg.relation_id(unicodedata.normalize("NFD", "près de")) == 0
    with pytest.raises(ValueError, match="did you mean 'Zürich'"):
        kg.entity_id("Zurich")


def test_test_triples_seen_in_training_are_warned_about_and_kept(tmp_path):
    from gnnkit_testing import write_ring_triples

    folder = write_ring_triples(tmp_path / "ring")
    first = (folder / "train.txt").read_text().splitlines()[0]
    with open(folder / "test.txt", "a") as fh:
        fh.write(first + "\n")
    with pytest.warns(UserWarning, match=r"test.txt: 1 of 2 triples also occur in train.txt"):
        kg = read_triples(folder)
    assert len(kg.test) == 2


def test_a_relation_named_like_an_added_inverse_is_named_with_the_fix(tmp_path):
    import pytest

    from gnnkit.datasets import read_triples

    (tmp_path / "train.txt").write_text("a\tlikes\tb\nb\tlikes_inverse\tc\n")
    (tmp_path / "valid.txt").write_text("a\tlikes\tc\n")
    (tmp_path / "test.txt").write_text("a\tlikes\tc\n")
    kg = read_triples(tmp_path)
    # old: "relation name 'likes_inverse' appears twice", no word of the inverses gnnkit adds
    with pytest.raises(ValueError, match=r"'likes_inverse' of the data is also the name of the inverse relation "
                                         r"added for 'likes'; train without inverse triples \(--no-inverse"):
        kg.with_inverse()
