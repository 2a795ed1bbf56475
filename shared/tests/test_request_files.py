"""``ForgetRequest.from_file``: what a package's ``--request`` accepts (a request, or a list of indices)."""

import json

import pytest
from unlearnkit.shared.data import ForgetRequest, load_dataset
from unlearnkit.shared.errors import UnlearnkitError


@pytest.fixture(scope="module")
def train():
    return load_dataset("digits")


def test_request_file_and_index_lists_give_the_same_request(train, tmp_path):
    req = ForgetRequest.from_indices(train, [5, 3, 9])
    req.save(tmp_path / "r.json")
    (tmp_path / "ids.txt").write_text("3\n5\n9\n")
    (tmp_path / "ids.json").write_text("[9, 3, 5]")
    got = [ForgetRequest.from_file(train, tmp_path / n) for n in ("r.json", "ids.txt", "ids.json")]
    assert {r.checksum for r in got} == {req.checksum}


@pytest.mark.parametrize("text, match", [
    ("[1, 2.5]", "integers"), ("[true, 2]", "integers"), ("1 two", "integers"), ("", "empty"),
    ("[1, 99999]", "out of range"),
])
def test_bad_index_lists_are_refused(train, tmp_path, text, match):
    (tmp_path / "ids").write_text(text)
    with pytest.raises(UnlearnkitError, match=match):
        ForgetRequest.from_file(train, tmp_path / "ids")


def test_an_edited_request_is_refused(train, tmp_path):
    d = ForgetRequest.from_indices(train, [1, 2]).to_dict()
    d["indices"] = [1, 3]
    (tmp_path / "r.json").write_text(json.dumps(d))
    with pytest.raises(UnlearnkitError, match="r.json"):
        ForgetRequest.from_file(train, tmp_path / "r.json")
    with pytest.raises(UnlearnkitError, match="not found"):
        ForgetRequest.from_file(train, tmp_path / "absent.json")
