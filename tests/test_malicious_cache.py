"""The cache is untrusted input: what another process, user or a broken disk left in it is refused or
healed, never executed and never returned. Each test plants one kind of damage and checks both."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from loguru import logger

from synthgen import Pipeline
from synthgen.distiset import Distiset
from synthgen.errors import CacheError, PlanError
from synthgen.llms import OpenAILLM
from synthgen.llms.offline import CHUNKS, LEDGERS
from synthgen.llms.requests import REQUESTS_KIND, Result, cached_result, make_request, store_result
from synthgen.runner.journal import Journal, read_record, write_record
from synthgen.steps.loaders.dicts import LoadDataFromDicts
from synthgen.store import CorruptObject, Store, digest_bytes, table_to_bytes
from synthgen.tasks import TextGeneration
from synthgen.testing.steps import AddColumn, GenerateNumbers, batches_run

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """The warnings this process logs during the test."""
    seen: list[str] = []
    handler = logger.add(lambda message: seen.append(str(message)), level="WARNING", format="{message}")
    try:
        yield seen
    finally:
        logger.remove(handler)


def numbers(cache: Path, counts: Path) -> Pipeline:
    """30 numbers in 3 batches >> a = 2n (counted per batch)."""
    with Pipeline(name="numbers", cache_dir=cache) as p:
        GenerateNumbers(name="gen", count=30, batch_size=10) >> AddColumn(
            name="a", factor=2, output="a", count_dir=str(counts), input_batch_size=10)
    return p


EXPECTED = [{"n": i, "a": 2 * i} for i in range(30)]


def rows(distiset: Distiset) -> list[dict[str, Any]]:
    return list(distiset["default"]["train"])


def pipeline_folder(cache: Path) -> Path:
    (pdir,) = [p.parent for p in cache.rglob("batch_manager.json")]
    return pdir


def flip_one_byte(path: Path, at: int = -20) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


# ---- names and paths -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../../../../victim", "a/b", ".hidden", "", "x" * 101, "a\\b", "a b"])
def test_a_step_name_that_is_not_a_plain_name_is_refused_where_the_step_is_created(name: str) -> None:
    with pytest.raises(PlanError, match=r"step name .* cannot be used: .*letters, digits, '_', '.' and '-' only"):
        with Pipeline(name="p"):
            LoadDataFromDicts(name=name, data=[{"a": 1}])


def test_a_traversal_pipeline_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"pipeline name '\.\./victim' cannot be used"):
        Pipeline(name="../victim", cache_dir=tmp_path)
    with pytest.raises(PlanError, match="pipeline name"):
        Store(tmp_path).pipeline_dir("../victim", "sig")


def test_a_distiset_config_that_would_leave_its_folder_is_refused(tmp_path: Path) -> None:
    distiset = Distiset()
    distiset["../outside"] = {}
    with pytest.raises(PlanError, match=r"Distiset config name '\.\./outside' cannot be used"):
        distiset.save_to_disk(tmp_path / "saved")
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize("name", ["../x.json", "requests/../../x.json", "/etc/passwd"])
def test_a_blob_name_that_climbs_out_of_the_cache_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(CacheError, match="refusing the cache path"):
        Store(tmp_path / "cache").shared.write(name, b"x")
    assert not (tmp_path / "x.json").exists()


def test_a_symlink_planted_in_the_cache_cannot_lead_a_write_outside_it(tmp_path: Path) -> None:
    store, outside = Store(tmp_path / "cache"), tmp_path / "outside"
    outside.mkdir()
    table = pa.table({"a": [1]})
    digest = digest_bytes(table_to_bytes(table))
    (tmp_path / "cache" / "objects").mkdir(parents=True)
    (tmp_path / "cache" / "objects" / digest[:2]).symlink_to(outside)
    with pytest.raises(CacheError, match="outside the cache root .* symbolic link"):
        store.put_object(table_to_bytes(table))
    with pytest.raises(CacheError, match="symbolic link"):
        store.get_table(digest)
    assert list(outside.iterdir()) == []


def test_an_object_that_is_a_link_is_never_read_through_and_is_replaced_by_a_write(tmp_path: Path) -> None:
    """Folders are resolved once per run; an object file itself is opened with O_NOFOLLOW instead."""
    store, secret = Store(tmp_path / "cache"), tmp_path / "outside" / "secret"
    secret.parent.mkdir()
    secret.write_bytes(b"precious")
    data = table_to_bytes(pa.table({"a": [1]}))
    digest = digest_bytes(data)
    planted = tmp_path / "cache" / "objects" / digest[:2] / f"{digest}.arrow"
    planted.parent.mkdir(parents=True)
    planted.symlink_to(secret)
    with pytest.raises(CacheError, match="is a symbolic link"):
        store.get_table(digest)
    assert store.put_object(data) == digest
    assert not planted.is_symlink() and secret.read_bytes() == b"precious"
    assert store.get_table(digest).column("a").to_pylist() == [1]


def test_a_symlinked_pipeline_or_leaf_folder_is_refused_and_nothing_outside_is_touched(tmp_path: Path) -> None:
    cache, counts, victim = tmp_path / "cache", tmp_path / "counts", tmp_path / "victim"
    counts.mkdir()
    victim.mkdir()
    (victim / "keep.parquet").write_bytes(b"precious")
    pipeline = numbers(cache, counts)
    pipeline.run()
    leaf = pipeline_folder(cache) / "data" / "a"
    for old in leaf.iterdir():
        old.unlink()
    leaf.rmdir()
    leaf.symlink_to(victim)
    (pipeline_folder(cache) / "batch_manager.json").unlink()  # not finished: the leaf data is written again
    with pytest.raises(CacheError, match="outside the cache root"):
        numbers(cache, counts).run()
    assert [p.name for p in victim.iterdir()] == ["keep.parquet"] and (victim / "keep.parquet").read_bytes() == b"precious"
    (cache / "elsewhere").symlink_to(victim)
    with pytest.raises(CacheError, match="outside the cache root"):
        Store(cache).pipeline_dir("elsewhere", "sig")


# ---- objects -------------------------------------------------------------------------------
class _Boom:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def plant_pickled_object(store: Store, marker: Path) -> str:
    """A valid content-addressed object whose metadata says its column is pickled (old synthgen)."""
    table = pa.table({"n": pa.array([pickle.dumps(_Boom(marker))], pa.binary())})
    data = table_to_bytes(table.replace_schema_metadata({b"synthgen.pickled_columns": b'["n"]'}))
    digest = digest_bytes(data)
    store.shared.write(f"objects/{digest[:2]}/{digest}.arrow", data)
    return digest


def test_an_object_with_pickled_columns_is_refused_never_unpickled(tmp_path: Path, warnings: list[str]) -> None:
    store, marker = Store(tmp_path / "cache"), tmp_path / "pwned"
    digest = plant_pickled_object(store, marker)
    with pytest.raises(CorruptObject, match="pickled values, which synthgen never loads"):
        store.get_rows(digest)
    assert not marker.exists() and not store.has_object(digest)
    assert any("pickled values" in w and "recomputed" in w for w in warnings)


def test_batch_records_pointing_at_a_pickled_object_are_recomputed_by_a_run(tmp_path: Path) -> None:
    cache, counts, marker = tmp_path / "cache", tmp_path / "counts", tmp_path / "pwned"
    counts.mkdir()
    numbers(cache, counts).run()
    store = Store(cache)
    evil = plant_pickled_object(store, marker)
    for record in (cache / "batches").rglob("*.json"):
        store.put_record("batches", record.stem, {"digest": evil, "rows": 1})  # well-formed, sealed
    (pipeline_folder(cache) / "batch_manager.json").unlink()
    assert rows(numbers(cache, counts).run()) == EXPECTED
    assert not marker.exists()
    assert batches_run(counts, "a") == 6  # every batch of `a` computed again, none read from the plant


def test_a_same_size_bit_flip_in_an_object_is_rewritten_when_its_step_reruns(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    digest, _ = store.put_rows([{"a": 1, "b": "text"}])
    path = tmp_path / "cache" / "objects" / digest[:2] / f"{digest}.arrow"
    size = path.stat().st_size
    flip_one_byte(path)
    assert path.stat().st_size == size
    assert store.put_rows([{"a": 1, "b": "text"}])[0] == digest
    assert store.get_rows(digest) == [{"a": 1, "b": "text"}]


def test_a_run_heals_a_bit_flipped_object_and_downstream_reads_the_good_copy(tmp_path: Path) -> None:
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    numbers(cache, counts).run()
    for obj in (cache / "objects").rglob("*.arrow"):
        flip_one_byte(obj)
    (pipeline_folder(cache) / "batch_manager.json").unlink()
    assert rows(numbers(cache, counts).run()) == EXPECTED
    assert all(Store(cache).verify_object(obj.stem) for obj in (cache / "objects").rglob("*.arrow"))


# ---- records -------------------------------------------------------------------------------
def _edit(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b'"hello"', b'"hellO"'))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-5])


def _drop_hash(path: Path) -> None:
    path.write_bytes(b'{"text": "hello", "digest": "hello", "chunks": []}')


@pytest.mark.parametrize("kind", ["batches", REQUESTS_KIND, LEDGERS, CHUNKS])
@pytest.mark.parametrize("damage", [_edit, _truncate, _drop_hash])
def test_a_damaged_record_of_any_kind_is_reported_once_and_read_as_missing(
        tmp_path: Path, kind: str, damage: Any, warnings: list[str]) -> None:
    store = Store(tmp_path)
    store.put_record(kind, "k1", {"text": "hello", "digest": "hello", "chunks": []})
    assert store.get_record(kind, "k1") == {"text": "hello", "digest": "hello", "chunks": []}
    damage(tmp_path / kind / "k1" / "k1.json")
    assert store.get_record(kind, "k1") is None
    assert store.get_record(kind, "k1") is None
    assert len([w for w in warnings if f"{kind}/k1" in w]) == 1


def test_a_valid_record_copied_under_another_key_does_not_verify(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.put_record("batches", "aa1", {"digest": "d", "rows": 1})
    (tmp_path / "batches" / "aa").mkdir(exist_ok=True)
    (tmp_path / "batches" / "aa" / "aa2.json").write_bytes((tmp_path / "batches" / "aa" / "aa1.json").read_bytes())
    assert store.get_record("batches", "aa2") is None


def test_an_edited_llm_answer_is_not_returned_and_the_warning_says_it_is_paid_again(
        tmp_path: Path, warnings: list[str]) -> None:
    store = Store(tmp_path)
    request = make_request({"backend": "openai", "model": "m"}, "say hi", {}, None, 0)
    store_result(store, request, Result("the real answer", 3, 4))
    path = tmp_path / REQUESTS_KIND / request.key[:2] / f"{request.key}.json"
    path.write_bytes(path.read_bytes().replace(b"real", b"fake"))  # still valid JSON
    assert cached_result(store, request) is None
    assert any("sent again, and paid for again" in w for w in warnings)


def test_a_run_re_requests_exactly_the_edited_answer(tmp_path: Path, openai_server: Any, capfd: Any) -> None:
    def pipeline() -> Pipeline:
        with Pipeline(name="llm", cache_dir=tmp_path) as p:
            data = LoadDataFromDicts(data=[{"instruction": f"say {i}"} for i in range(6)], batch_size=6)
            data >> TextGeneration(name="gen", llm=OpenAILLM(model="m", base_url=openai_server.base_url, api_key="k"))
        return p

    first = rows(pipeline().run())
    sent = openai_server.counters.answered
    record = next((tmp_path / REQUESTS_KIND).rglob("*.json"))
    original = record.read_bytes()
    record.write_bytes(original.replace(b'"text": "', b'"text": "tampered '))
    (pipeline_folder(tmp_path) / "batch_manager.json").unlink()
    for batch in (tmp_path / "batches").rglob("*.json"):  # the step runs again and reads its answers
        batch.unlink()
    capfd.readouterr()
    assert rows(pipeline().run()) == first
    assert openai_server.counters.answered == sent + 1
    assert "paid for again" in capfd.readouterr().err


@pytest.mark.parametrize("name", ["batch_manager.json", "batch_manager_steps/a.json", "runs/1.json",
                                  "offline_batch_jobs.json", "leaf_data/a.json"])
@pytest.mark.parametrize("damage", [_edit, _truncate, _drop_hash])
def test_a_damaged_journal_file_of_any_kind_reads_as_absent(tmp_path: Path, name: str, damage: Any) -> None:
    write_record(tmp_path, name, {"text": "hello"})
    assert read_record(tmp_path, name) == {"text": "hello"}
    damage(tmp_path / name)
    assert read_record(tmp_path, name) == {}


def test_a_journal_file_copied_from_another_step_does_not_verify(tmp_path: Path) -> None:
    write_record(tmp_path, "batch_manager_steps/a.json", {"outputs": [["d", 1]], "fingerprint": "f"})
    (tmp_path / "batch_manager_steps" / "b.json").write_bytes((tmp_path / "batch_manager_steps" / "a.json").read_bytes())
    assert read_record(tmp_path, "batch_manager_steps/b.json") == {}
    assert not Journal(tmp_path, fingerprints={"b": "f"}).has_progress("b")


def test_an_edited_journal_file_is_ignored_and_reported(tmp_path: Path, warnings: list[str]) -> None:
    write_record(tmp_path, "batch_manager.json", {"finished": True, "aggregated_steps_signature": "s"})
    assert read_record(tmp_path, "batch_manager.json")["finished"] is True
    path = tmp_path / "batch_manager.json"
    path.write_bytes(path.read_bytes().replace(b'"s"', b'"t"'))
    assert Journal(tmp_path).read() == {}
    assert not Journal(tmp_path).finished_with("t")
    assert len([w for w in warnings if "batch_manager.json does not match its content hash" in w]) == 1
    with pytest.raises(CacheError, match="refusing"):
        read_record(tmp_path, "../outside.json")


# ---- leaf data -------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "delete_folder"])
def test_damaged_leaf_data_is_rebuilt_from_the_cached_batches(tmp_path: Path, damage: str, capfd: Any) -> None:
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    numbers(cache, counts).run()
    leaf = pipeline_folder(cache) / "data" / "a"
    parquet = leaf / "00001.parquet"
    if damage == "flip":
        flip_one_byte(parquet, at=len(parquet.read_bytes()) // 2)
    elif damage == "truncate":
        _truncate(parquet)
    elif damage == "delete":
        parquet.unlink()
    else:
        parquet.unlink()
        leaf.rmdir()
    capfd.readouterr()
    assert rows(numbers(cache, counts).run()) == EXPECTED
    assert "rebuilding" in capfd.readouterr().err
    assert batches_run(counts, "a") == 3  # from the cached batches: step `a` computed nothing again
    assert rows(numbers(cache, counts).run()) == EXPECTED  # and the next run is a plain cache hit


# ---- object storage --------------------------------------------------------------------------
def test_a_bucket_cache_gets_the_same_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("moto", reason="moto is not installed: pip install -e '.[dev]'")
    pytest.importorskip("s3fs", reason="s3fs is not installed: pip install 'synthgen[s3]'")
    from synthgen.testing.s3 import S3TestServer

    monkeypatch.setenv("SYNTHGEN_STATE_DIR", str(tmp_path / "driver"))
    with S3TestServer() as s3:
        url = s3.url("trust/cache")
        store = Store(url)
        store.put_record("requests", "k1", {"text": "hello"})
        s3.put("trust/cache/requests/k1/k1.json", b'{"text": "hellO", "content_hash": "0"}')
        assert store.get_record("requests", "k1") is None
        with pytest.raises(CacheError, match="refusing the cache path"):
            store.shared.write("../escape.json", b"x")
        marker = tmp_path / "pwned"
        evil = plant_pickled_object(store, marker)
        with pytest.raises(CorruptObject, match="pickled"):
            store.get_rows(evil)
        digest, _ = store.put_rows([{"a": 1}])
        key = f"trust/cache/objects/{digest[:2]}/{digest}.arrow"
        good = s3.get(key)
        s3.put(key, bytes([good[0] ^ 1]) + good[1:])  # same size, one bit flipped
        assert store.put_rows([{"a": 1}])[0] == digest and store.get_rows(digest) == [{"a": 1}]
        assert not marker.exists() and not os.path.exists(tmp_path / "escape.json")


def test_no_module_that_can_read_the_cache_imports_an_unpickler() -> None:
    """Process-to-process messages (a worker's exception) may be pickled; nothing else may be."""
    import ast

    import synthgen

    src = Path(synthgen.__file__).parent
    # The pipes between the driver and its local replicas (the step, batch tasks, results, a worker's
    # exception) carry pickles; none of these modules reads the cache through them.
    process_messages = {src / "runner" / name for name in ("worker.py", "worker_main.py", "local.py")}
    allowed = process_messages | set((src / "testing").rglob("*.py"))
    unpicklers = {"pickle", "cloudpickle", "dill", "marshal", "shelve", "joblib"}
    offenders = []
    for path in set(src.rglob("*.py")) - allowed:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(src)}: {n}" for n in names if n.split(".")[0] in unpicklers]
    assert offenders == []


@pytest.mark.parametrize("name", ["..", "../victim", "."])
def test_cache_clear_never_removes_a_folder_outside_the_cache(tmp_path: Path, name: str) -> None:
    from synthgen.runner import cache_commands

    cache, victim = tmp_path / "cache", tmp_path / "victim"
    victim.mkdir()
    (cache / "chain").mkdir(parents=True)
    with pytest.raises(PlanError, match="pipeline name .* cannot be used"):
        cache_commands.clear(name, cache)
    assert victim.is_dir() and cache.is_dir()


def test_cache_clear_refuses_a_pipeline_folder_that_is_a_link_out(tmp_path: Path) -> None:
    from synthgen.runner import cache_commands

    cache, victim = tmp_path / "cache", tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("x")
    cache.mkdir()
    (cache / "linked").symlink_to(victim)
    with pytest.raises(CacheError, match="outside the cache root"):
        cache_commands.clear("linked", cache)
    assert (victim / "keep").exists()


# ---- batches stored as columns ---------------------------------------------------------------
def _new_columns_of(cache: Path, step_column: str) -> list[Path]:
    """The column objects that hold ``step_column`` in the batches of the cache."""
    store = Store(cache)
    paths = set()
    for record in (cache / "batches").rglob("*.json"):
        manifest = store.manifest(store.get_record("batches", record.stem)["digest"])  # type: ignore[index]
        assert manifest is not None
        paths |= {cache / "objects" / d[:2] / f"{d}.arrow" for d, _, _ in manifest[1].get(step_column, [])}
    return sorted(paths)


def test_a_damaged_or_missing_column_object_is_found_and_its_batch_recomputed(
        tmp_path: Path, warnings: list[str]) -> None:
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    numbers(cache, counts).run()
    flipped, removed, _ = _new_columns_of(cache, "a")
    flip_one_byte(flipped)
    removed.unlink()
    (pipeline_folder(cache) / "batch_manager.json").unlink()
    assert rows(numbers(cache, counts).run()) == EXPECTED
    assert batches_run(counts, "a") == 3 + 2  # the two batches whose column was damaged, and only those
    assert any("is corrupted" in w and "recomputed" in w for w in warnings)
    assert all(Store(cache).verify_object(obj.stem) for obj in (cache / "objects").rglob("*.arrow"))


def test_a_column_object_is_checked_against_its_digest_on_every_read(tmp_path: Path) -> None:
    store = Store(tmp_path / "cache")
    digest, _ = store.put_rows([{"a": 1, "b": "text"}])
    (column,) = [d for d, _, _ in store.manifest(digest)[1]["b"]]  # type: ignore[index]
    flip_one_byte(tmp_path / "cache" / "objects" / column[:2] / f"{column}.arrow")
    with pytest.raises(CorruptObject, match=f"object {column} is corrupted"):
        Store(tmp_path / "cache").get_rows(digest)
    with pytest.raises(CorruptObject, match=f"object {column} is missing"):
        Store(tmp_path / "cache").get_rows(digest)  # the damaged copy was removed
    assert not Store(tmp_path / "cache").verify_object(digest)


def test_a_cache_written_before_columns_is_still_read(tmp_path: Path) -> None:
    """An earlier synthgen stored each batch whole (one Arrow stream): records pointing at such objects
    are answered from them, and a step reading one as input stores all its columns."""
    cache, counts = tmp_path / "cache", tmp_path / "counts"
    counts.mkdir()
    numbers(cache, counts).run()
    store = Store(cache)
    for record in (cache / "batches").rglob("*.json"):
        value = store.get_record("batches", record.stem)
        assert value is not None
        whole = store.put_object(table_to_bytes(store.get_table(value["digest"])))
        store.put_record("batches", record.stem, {**value, "digest": whole})
        assert store.manifest(whole) is None
    (pipeline_folder(cache) / "batch_manager.json").unlink()
    assert rows(numbers(cache, counts).run()) == EXPECTED
    assert batches_run(counts, "a") == 3  # every batch of `a` read from the old objects
