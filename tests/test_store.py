"""The store writes batches as columns: only what a step changed is new, and every read is verified."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from synthgen.store import Reuse, Store, table_to_bytes


def _objects(root: Path) -> set[str]:
    return {p.stem for p in (root / "objects").rglob("*.arrow")}


def test_a_column_a_step_passed_through_is_not_stored_again(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first, _ = store.put_rows([{"text": f"row {i} " * 20, "n": i} for i in range(100)])
    before = _objects(tmp_path)
    stored = store.get_stored(first)
    rows = store.get_rows(first)
    out = [{**row, "length": len(row["text"])} for row in rows]
    second, n = store.put_rows(out, Reuse(stored, rows))
    assert n == 100 and store.get_rows(second) == out
    new = _objects(tmp_path) - before
    assert len(new) == 2  # the manifest and the `length` column; `text` and `n` are the first batch's
    assert store.manifest(second)[1]["text"] == store.manifest(first)[1]["text"]  # type: ignore[index]


def test_a_column_the_step_changed_is_stored_with_its_new_values(tmp_path: Path) -> None:
    store = Store(tmp_path)
    first, _ = store.put_rows([{"n": 10**6 + i, "tags": [i]} for i in range(5)])
    stored, rows = store.get_stored(first), store.get_rows(first)
    reuse = Reuse(stored, rows)
    for row in rows:
        row["tags"].append(0)  # changed in place: the same list objects
        row["n"] = float(row["n"])  # equal to the input's ints, but floats
    second, _ = store.put_rows(rows, reuse)
    assert store.get_rows(second) == [{"n": float(10**6 + i), "tags": [i, 0]} for i in range(5)]
    assert all(type(r["n"]) is float for r in store.get_rows(second))


def test_values_come_back_as_they_went_in_through_columns(tmp_path: Path) -> None:
    store = Store(tmp_path)
    rows = [{"mixed": 1, "d": {"a": 1}, "none": None}, {"mixed": "s", "d": {"b": (1, 2)}, "none": None}]
    digest, _ = store.put_rows(rows)
    assert store.get_rows(digest) == rows
    assert store.get_rows(store.put_rows([])[0]) == []
    assert store.get_rows(store.put_rows([{}, {}])[0]) == [{}, {}]


def test_a_large_table_is_stored_in_chunks_that_slices_read_without_the_rest(tmp_path: Path) -> None:
    store = Store(tmp_path)
    digest = store.put_table(pa.table({"n": list(range(40_000))}))
    rows, pieces = store.manifest(digest)  # type: ignore[misc]
    assert rows == 40_000 and [b - a for _, a, b in pieces["n"]] == [16_384, 16_384, 7_232]
    assert store.get_table(digest).column("n").to_pylist() == list(range(40_000))


def test_an_object_stored_whole_by_an_earlier_synthgen_is_read(tmp_path: Path) -> None:
    store = Store(tmp_path)
    digest = store.put_object(table_to_bytes(pa.table({"n": [1, 2]})))
    assert store.get_rows(digest) == [{"n": 1}, {"n": 2}]
    assert store.get_stored(digest).pieces is None and store.manifest(digest) is None
    assert store.verified_object_file(digest) is not None  # still memory-mapped into a Distiset


def test_a_record_written_unsynced_is_read_at_once_and_synced_later(tmp_path: Path) -> None:
    # An LLM answer is handed to the OS inside its concurrency slot and fsynced after it: readable (by
    # this run and any other) before the fsync, and the fsync names a record that is gone.
    store = Store(tmp_path)
    store.put_record("requests", "k" * 64, {"text": "answer"}, sync=False)
    assert store.get_record("requests", "k" * 64) == {"text": "answer"}
    store.sync_record("requests", "k" * 64)
    with pytest.raises(FileNotFoundError):
        store.sync_record("requests", "m" * 64)


def test_a_one_time_check_keeps_none_of_its_decoded_columns_and_the_loops_checks_share_them(tmp_path: Path) -> None:
    # The inline rows are checked once per run: their columns must not stay decoded for the rest of the
    # run. The loop checks every cached batch, and consecutive batches slice the same column objects:
    # those checks keep what they decoded, so a chunk is decoded once, not once per batch.
    store = Store(tmp_path)
    digest = store.put_table(pa.table({"text": [f"{i:0200d}" for i in range(40_000)]}))
    assert store.verify_object(digest, keep=False)
    assert not store._columns
    assert store.verify_object(digest) and len(store._columns) == 3, "three chunks, decoded once each"
