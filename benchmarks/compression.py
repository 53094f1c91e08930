"""Column objects (issue 19.3): Arrow IPC with zstd or lz4 buffers against plain IPC, on one chunk of
the scale benchmark's 200-character text and of integers: bytes, write and read time, and whether a
memory-mapped read is zero-copy (plain buffers are; compressed ones are decompressed into memory).

Run: ``python benchmarks/compression.py``. The choice (zstd) and why: docs/caching.md.
"""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from scale import sample_text  # the scale benchmark's text

ROWS = 16_384  # synthgen.columns.CHUNK_ROWS
REPEATS = 20


def ipc_bytes(table: pa.Table, codec: str | None) -> bytes:
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=codec, use_threads=False)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue()


def seconds(fn: object) -> float:
    start = time.perf_counter()
    for _ in range(REPEATS):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / REPEATS


def mapped_allocates(data: bytes) -> int:
    """Bytes Arrow allocates to read ``data`` through a memory map (0: zero-copy)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.arrow"
        path.write_bytes(data)
        before = pa.total_allocated_bytes()
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_stream(source).read_all()
            allocated = pa.total_allocated_bytes() - before
            del table
    return allocated


def main() -> None:
    columns = {"text": pa.array([sample_text(i) for i in range(ROWS)]), "int64": pa.array(range(ROWS), pa.int64())}
    print(f"{'column':<7} {'codec':<5} {'KB':>7} {'write ms':>9} {'read ms':>8} {'mmap copies KB':>15}")
    for name, array in columns.items():
        table = pa.table({"values": array})
        for codec in (None, "lz4", "zstd"):
            data = ipc_bytes(table, codec)
            write = seconds(lambda: ipc_bytes(table, codec))  # noqa: B023 - used at once
            read = seconds(lambda: pa.ipc.open_stream(data).read_all())  # noqa: B023
            print(f"{name:<7} {str(codec):<5} {len(data) / 1024:>7.0f} {write * 1000:>9.2f} {read * 1000:>8.2f} "
                  f"{mapped_allocates(data) / 1024:>15.0f}")


if __name__ == "__main__":
    main()
