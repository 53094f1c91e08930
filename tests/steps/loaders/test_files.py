from __future__ import annotations

import gzip
import json
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synthgen.errors import ConfigError
from synthgen.steps.loaders import LoadDataFromFileSystem

ROWS = [{"n": i, "text": f"row {i}"} for i in range(5)]


def _write(path: Path, kind: str, rows: list[dict] = ROWS) -> Path:
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif kind == "json":
        path.write_text(json.dumps(rows, indent=2))
    elif kind == "csv":
        path.write_text("n,text\n" + "".join(f"{r['n']},{r['text']}\n" for r in rows))
    elif kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def _read(step: LoadDataFromFileSystem, offset: int = 0) -> list[tuple[list[dict], bool]]:
    step.load()
    try:
        return list(step.process(offset))
    finally:
        step.unload()


@pytest.mark.parametrize("kind", ["jsonl", "json", "csv", "parquet"])
def test_reads_each_filetype_inferred_from_the_suffix(tmp_path: Path, kind: str) -> None:
    path = _write(tmp_path / f"data.{kind}", kind)
    batches = _read(LoadDataFromFileSystem(data_files=str(path), batch_size=2))
    assert [row for rows, _ in batches for row in rows] == ROWS
    assert [last for _, last in batches] == [False, False, True]


def test_glob_reads_matching_files_in_sorted_order(tmp_path: Path) -> None:
    _write(tmp_path / "b.jsonl", "jsonl", ROWS[2:])
    _write(tmp_path / "a.jsonl", "jsonl", ROWS[:2])
    (tmp_path / "notes.txt").write_text("ignored")
    batches = _read(LoadDataFromFileSystem(data_files=str(tmp_path / "*.jsonl"), batch_size=10))
    assert batches == [(ROWS, True)]


def test_folder_reads_files_of_known_types_and_list_of_entries(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    folder.mkdir()
    _write(folder / "part-0.parquet", "parquet", ROWS[:3])
    (folder / "README.md").write_text("not data")
    extra = _write(tmp_path / "extra.parquet", "parquet", ROWS[3:])
    batches = _read(LoadDataFromFileSystem(data_files=[str(folder), str(extra)], batch_size=10))
    assert batches == [(ROWS, True)]


def test_explicit_filetype_overrides_the_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.txt", "jsonl")
    assert _read(LoadDataFromFileSystem(data_files=str(path), filetype="jsonl")) == [(ROWS, True)]


def test_compressed_jsonl_is_inferred_and_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl.gz"
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in ROWS).encode()))
    assert _read(LoadDataFromFileSystem(data_files=str(path))) == [(ROWS, True)]


def test_fsspec_memory_url_is_read(tmp_path: Path) -> None:
    import fsspec

    fs = fsspec.filesystem("memory")
    with fs.open("/bucket/data.jsonl", "w") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in ROWS))
    assert _read(LoadDataFromFileSystem(data_files="memory://bucket/data.jsonl")) == [(ROWS, True)]


def test_num_rows_and_offset_limit_the_rows_read(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.jsonl", "jsonl")
    step = LoadDataFromFileSystem(data_files=str(path), num_rows=4, batch_size=2)
    assert _read(step, offset=1) == [(ROWS[1:3], False), ([ROWS[3]], True)]
    assert _read(step, offset=4) == [([], True)]


@pytest.mark.parametrize(
    ("data_files", "message"),
    [
        ("missing.jsonl", "no jsonl/json/csv/parquet file found at '.*missing.jsonl'"),
        ("*.parquet", "no jsonl/json/csv/parquet file found at '.*\\*.parquet'"),
    ],
    ids=["missing-file", "glob-matches-nothing"],
)
def test_missing_files_name_the_path_and_what_was_looked_for(tmp_path: Path, data_files: str, message: str) -> None:
    step = LoadDataFromFileSystem(data_files=str(tmp_path / data_files))
    with pytest.raises(ConfigError, match=message):
        step.load()


def test_missing_file_with_explicit_filetype_names_that_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no csv file found at"):
        LoadDataFromFileSystem(data_files=str(tmp_path / "x.csv"), filetype="csv").load()


def test_unknown_suffix_asks_for_filetype(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("{}\n")
    with pytest.raises(ConfigError, match="cannot infer the file type of '.*data.txt'. Set filetype= to one of jsonl, json, csv, parquet"):
        LoadDataFromFileSystem(data_files=str(tmp_path / "data.txt")).load()


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n{oops\n')
    with pytest.raises(ConfigError, match="bad.jsonl line 2 is not valid JSON"):
        _read(LoadDataFromFileSystem(data_files=str(tmp_path / "bad.jsonl")))


def test_columns_are_unknown_before_reading(tmp_path: Path) -> None:
    assert LoadDataFromFileSystem(data_files="x.jsonl").columns_after(set()) is None


def test_credentials_in_storage_options_are_never_dumped() -> None:
    step = LoadDataFromFileSystem(data_files="s3://b/x.parquet",
                                  storage_options={"key": "AKIA", "secret": "s3cr3t", "anon": False})
    dumped = step.dump()
    assert dumped["storage_options"] == {"anon": False}
    assert "s3cr3t" not in json.dumps(step.fingerprint_params())


def test_jsonl_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    def peak_for(rows: int) -> int:
        path = _write(tmp_path / f"{rows}.jsonl", "jsonl", [{"n": i, "text": "x" * 200} for i in range(rows)])
        step = LoadDataFromFileSystem(data_files=str(path), batch_size=100)
        step.load()
        tracemalloc.start()
        for _ in step.process(0):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak_for(2_000), peak_for(40_000)
    # 20x the rows (about 8 MB of text): a reader that loads the whole file would grow ~20x.
    assert large < small * 3


def test_parquet_is_read_one_row_group_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "big.parquet"
    schema = pa.schema([("n", pa.int64()), ("text", pa.string())])
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in range(40):
            rows = [{"n": chunk * 1000 + i, "text": "x" * 200} for i in range(1000)]
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))  # one 200 kB row group each
    step = LoadDataFromFileSystem(data_files=str(path), batch_size=100)
    step.load()
    baseline = pa.total_allocated_bytes()
    batches = step.process(0)
    next(batches)
    held = pa.total_allocated_bytes() - baseline
    batches.close()
    # The whole file decodes to ~8 MB of Arrow memory; one row group is ~0.2 MB.
    assert held < 2_000_000


def test_path_objects_are_stored_as_strings(tmp_path: Path) -> None:
    path = _write(tmp_path / "data.jsonl", "jsonl")
    step = LoadDataFromFileSystem(data_files=[path])
    assert step.data_files == [str(path)]
    assert LoadDataFromFileSystem(data_files=path).dump()["data_files"] == str(path)
    assert _read(step) == [(ROWS, True)]


def test_json_array_of_non_objects_is_rejected_naming_the_item(tmp_path: Path) -> None:
    (tmp_path / "data.json").write_text('[{"a": 1}, 2]')
    with pytest.raises(ConfigError, match="data.json item 1 is a int: expected an array of JSON objects"):
        _read(LoadDataFromFileSystem(data_files=str(tmp_path / "data.json")))


def test_csv_whose_types_change_after_the_first_block_names_the_file(tmp_path: Path) -> None:
    lines = ["n"] + [str(i) for i in range(200_000)] + ["not-a-number"]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="cannot read CSV file .*data.csv: .*Convert it to jsonl or parquet"):
        _read(LoadDataFromFileSystem(data_files=str(tmp_path / "data.csv"), batch_size=100_000))


@pytest.mark.parametrize("kind", ["jsonl", "json", "csv", "parquet"])
def test_the_planner_sees_the_first_files_columns(tmp_path: Path, kind: str) -> None:
    step = LoadDataFromFileSystem(name="load", data_files=str(_write(tmp_path / f"d.{kind}", kind)))
    assert step.columns_after(set()) == {"n", "text"}


def test_a_missing_file_leaves_the_columns_unknown_for_load_to_report(tmp_path: Path) -> None:
    assert LoadDataFromFileSystem(name="load", data_files=str(tmp_path / "none.jsonl")).columns_after(set()) is None


def test_a_file_without_the_column_a_task_needs_fails_in_the_planner_before_any_request(tmp_path: Path) -> None:
    from synthgen import Pipeline
    from synthgen.errors import PlanError
    from synthgen.llms import OpenAILLM
    from synthgen.tasks import TextGeneration
    from synthgen.testing.servers.openai import OpenAITestServer

    data = _write(tmp_path / "d.jsonl", "jsonl")
    with OpenAITestServer() as server:
        with Pipeline(name="missing-column", cache_dir=str(tmp_path / "cache")) as pipeline:
            load = LoadDataFromFileSystem(name="load", data_files=str(data))
            load >> TextGeneration(name="gen", llm=OpenAILLM(model="m", base_url=server.base_url, api_key="k"))
        with pytest.raises(PlanError, match=r"step 'gen' needs input column\(s\) 'instruction'.*Available: n, text"):
            pipeline.run()
        assert server.counters.requests == 0


def test_the_planner_sees_the_columns_after_output_mappings(tmp_path: Path) -> None:
    step = LoadDataFromFileSystem(name="load", data_files=str(_write(tmp_path / "d.jsonl", "jsonl")),
                                  output_mappings={"text": "instruction"})
    assert step.columns_after(set()) == {"n", "instruction"}
