"""Messages between the scheduling loop and the step replicas: tasks in, results and events out.
Plain tuples and dicts: they cross process boundaries (and Ray), so they carry object digests, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field

Segment = tuple[str, int, int]  # (object digest, first row, row after last)


@dataclass(frozen=True)
class BatchTask:
    """One unit of work for a step replica."""

    step: str
    seq: int
    key: str
    inputs: list[list[Segment]] = field(default_factory=list)  # one list of segments per predecessor
    generate: bool = False  # a generator step: run process(offset) and stream its batches
    fresh: bool = False  # use_cache=False: LLM answers of earlier runs are not read
    run_dir: str = ""  # the run folder that replicas share: its stop request, its spending (synthgen.interrupts)


@dataclass(frozen=True)
class BatchDone:
    step: str
    seq: int
    digest: str
    rows: int
    last: bool = True
    key: str = ""
    failed: tuple[tuple[int, str], ...] = ()  # (row in this batch's output, error): finished with failures
    cached: bool = False  # answered from the batch index, not computed in this run
    llm: dict[str, int] = field(default_factory=dict)  # the step's LLM requests since the replica's last batch


@dataclass(frozen=True)
class BatchFailed:
    step: str
    seq: int
    error: BaseException | None
    traceback: str


@dataclass(frozen=True)
class ReplicaEvent:
    step: str
    replica: int
    event: str  # loaded | unloaded
