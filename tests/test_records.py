"""Records carry a content hash of what they hold and where they are stored."""

from __future__ import annotations

import json

import pytest

from synthgen.records import HASH_KEY, DamagedRecord, seal, unseal


def test_a_record_reads_back_as_written_text_with_surrogates_included() -> None:
    value = {"text": "é \udc80", "n": 2**70, "nested": {"list": [1, None, 1.5]}}
    data = seal(value, "requests/k")
    assert json.loads(data.decode("utf-8", "surrogatepass"))[HASH_KEY]
    assert unseal(data, "requests/k") == value


@pytest.mark.parametrize(("data", "problem"), [
    (b"{", "is not valid JSON"), (b"[1]", "has no content hash"), (b'{"text": "x"}', "has no content hash"),
    (b'{"text": "x", "content_hash": "00"}', "does not match its content hash"),
])
def test_damage_is_named(data: bytes, problem: str) -> None:
    with pytest.raises(DamagedRecord, match=f"cache record requests/k {problem}"):
        unseal(data, "requests/k")


def test_a_record_moved_to_another_place_does_not_verify() -> None:
    with pytest.raises(DamagedRecord, match="does not match"):
        unseal(seal({"digest": "d"}, "batches/a"), "batches/b")


def test_a_value_json_cannot_hold_is_written_as_its_repr() -> None:
    assert unseal(seal({"data": b"\x00"}, "x"), "x") == {"data": "b'\\x00'"}
