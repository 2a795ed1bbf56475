import pytest
from unlearnkit.shared.errors import UnlearnkitError
from unlearnkit.spkd_transfer.classlists import (
    random_class_list,
    read_class_list,
    resolve_classes,
    write_class_list,
)


def test_random_lists_are_seeded_distinct_and_nested():
    a = random_class_list(1000, 100, seed=0)
    assert a == random_class_list(1000, 100, seed=0)
    assert len(set(a)) == 100 and all(0 <= c < 1000 for c in a)
    assert a != random_class_list(1000, 100, seed=1)
    assert random_class_list(1000, 200, seed=0)[:100] == a
    assert resolve_classes("random100", 1000) == a
    assert resolve_classes("random_200@1", 1000) == random_class_list(1000, 200, seed=1)


def test_ids_and_files(tmp_path):
    assert resolve_classes("3,7", 10) == [3, 7]
    assert resolve_classes("3 7", 10) == [3, 7]
    p = tmp_path / "list.txt"
    p.write_text("# forgotten\n543\n407, 12\n\n")
    assert read_class_list(p) == [543, 407, 12]
    assert resolve_classes(str(p), 1000) == [543, 407, 12]
    q = write_class_list(tmp_path / "w.txt", [5, 1])
    assert q.read_text() == "5\n1\n" and read_class_list(q) == [5, 1]


def test_names_map_through_class_names(tmp_path):
    p = tmp_path / "names.txt"
    p.write_text("cat\ndog\n")
    assert read_class_list(p, ["bird", "cat", "dog"]) == [1, 2]
    assert resolve_classes("dog,bird", 3, ["bird", "cat", "dog"]) == [2, 0]


@pytest.mark.parametrize("spec", ["10", "3,3", "", "random11", "0,1,2,3,4,5,6,7,8,9", "zebra"])
def test_bad_specs_are_user_errors(spec):
    with pytest.raises(UnlearnkitError):
        resolve_classes(spec, 10)


def test_bad_files(tmp_path):
    with pytest.raises(UnlearnkitError, match="not found"):
        read_class_list(tmp_path / "missing.txt")
    p = tmp_path / "dup.txt"
    p.write_text("1\n2\n1\n")
    with pytest.raises(UnlearnkitError, match="more than once"):
        read_class_list(p)
