"""The baseline of ``scale.py``: the same three row functions applied in a plain Python loop, the rows
written as Parquet; run as a process of its own (``python benchmarks/plain_loop.py ROWS OUT``), so it is
timed as the pipeline is: the whole process, interpreter and imports included. Nothing of synthgen is
imported here."""

from __future__ import annotations

import sys


def f1(row: dict) -> dict:
    return {**row, "a": row["n"] + 1}


def f2(row: dict) -> dict:
    return {**row, "b": row["a"] * 2}


def f3(row: dict) -> dict:
    return {**row, "c": str(row["b"])}


def plain_loop(n: int, out: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [f3(f2(f1({"n": i}))) for i in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), out)


if __name__ == "__main__":
    plain_loop(int(sys.argv[1]), sys.argv[2])
