"""The scheduling loop's view of routing batch functions: decisions, and batches grouped by origin.

Each output batch of a routed step (its *origin*, named by its sequence number) goes to the targets
its routing function chose. A target cuts each origin into batches of its own (never mixing two
origins), so a step that joins the targets can take, per origin, the rows of exactly the targets the
origin went to. Decisions are recorded in the store before any target sees the batch: a resumed run
reads them back instead of asking the function again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from synthgen import plan
from synthgen.errors import PlanError
from synthgen.runner.messages import BatchDone, Segment
from synthgen.store import Store

ROUTES_KIND = "routes"


@dataclass
class TargetState:
    """A routed step: origins waiting to be cut into batches, and which origins it has released whole."""

    queued: deque[tuple[int, int]] = field(default_factory=deque)  # (origin, rows)
    origin_of: dict[int, int] = field(default_factory=dict)  # batch seq -> origin
    open: dict[int, int] = field(default_factory=dict)  # origin -> batches not released yet
    completed: set[int] = field(default_factory=set)

    def opened(self, seq: int, origin: int) -> None:
        self.origin_of[seq] = origin
        self.open[origin] = self.open.get(origin, 0) + 1

    def released(self, seq: int) -> int | None:
        origin = self.origin_of.pop(seq, None)
        if origin is not None:
            self.open[origin] -= 1
            if not self.open[origin]:
                self.completed.add(origin)
        return origin


@dataclass
class JoinState:
    """A step after the targets: their segments per origin, and the next origin to form batches of."""

    by_origin: dict[int, dict[str, deque[Segment]]] = field(default_factory=dict)
    next_origin: int = 0


class Routing:
    """Routing decisions and per-origin bookkeeping of one run."""

    def __init__(self, graph: plan.Graph, store: Store) -> None:
        self.graph, self.store = graph, store
        self.targets = {t: TargetState() for r in graph.routes.values() for t in r.targets}
        self.join_route = plan.converging_steps(graph)
        self.joins = {name: JoinState() for name in self.join_route}
        self.decisions: dict[str, list[tuple[int, tuple[str, ...]]]] = {}

    def destinations(self, step: str, succs: list[str], out: BatchDone) -> list[tuple[str, int | None]]:
        """The successors that receive a released batch of ``step``, each with the origin it carries."""
        origin = self.targets[step].released(out.seq) if step in self.targets else None
        route = self.graph.routes.get(step)
        if route is None:
            return [(succ, origin) for succ in succs]
        chosen = self.decide(route, out)
        result: list[tuple[str, int | None]] = []
        for succ in succs:
            if succ not in route.targets:
                result.append((succ, None))
            elif succ in chosen and out.rows:
                self.targets[succ].queued.append((out.seq, out.rows))
                result.append((succ, out.seq))
            elif succ in chosen:
                self.targets[succ].completed.add(out.seq)  # an empty batch: nothing to wait for
        return result

    def decide(self, route: plan.Route, out: BatchDone) -> tuple[str, ...]:
        """The targets of one batch: recorded earlier, or asked of the routing function and recorded."""
        key = plan.route_key(route, self.graph.nodes[route.upstream].fingerprint, out.digest, out.seq)
        record = self.store.get_record(ROUTES_KIND, key)
        chosen = record.get("to") if isinstance(record, dict) else None
        if not _valid(chosen, route):
            chosen = checked_choice(route, route.choose(list(route.targets), key))
            self.store.put_record(ROUTES_KIND, key, {"to": list(chosen)})
        self.decisions.setdefault(route.upstream, []).append((out.seq, tuple(chosen)))  # type: ignore[arg-type]
        return tuple(chosen)  # type: ignore[arg-type]

    def add_joined(self, step: str, pred: str, origin: int | None, segment: Segment) -> None:
        if origin is not None and segment[2] > segment[1]:
            groups = self.joins[step].by_origin.setdefault(origin, {})
            groups.setdefault(pred, deque()).append(segment)

    def ready_groups(self, step: str) -> Iterator[dict[str, deque[Segment]]]:
        """Per origin, in order, once every target it went to has released it: their segments."""
        join, route = self.joins[step], self.join_route[step]
        log = self.decisions.get(route.upstream, [])
        preds = self.graph.predecessors(step)
        while join.next_origin < len(log):
            origin, chosen = log[join.next_origin]
            relevant = [p for p in preds if p in chosen]
            if any(origin not in self.targets[p].completed for p in relevant):
                return
            join.next_origin += 1
            groups = join.by_origin.pop(origin, {})
            yield {p: groups.get(p, deque()) for p in relevant}

    def joined_all(self, step: str) -> bool:
        return self.joins[step].next_origin == len(self.decisions.get(self.join_route[step].upstream, []))


def checked_choice(route: plan.Route, chosen: object) -> tuple[str, ...]:
    """The routing function's answer, checked: a list of the step names it was given.

    Raises:
        PlanError: naming the function, what it returned and the valid names.
    """
    if not _valid(chosen, route):
        raise PlanError(
            f"routing function {route.identity.get('function')} of step '{route.upstream}' returned {chosen!r}: "
            f"it must return a list of the names it was given ({', '.join(route.targets)})"
        )
    return tuple(chosen)  # type: ignore[arg-type]


def _valid(chosen: object, route: plan.Route) -> bool:
    return isinstance(chosen, (list, tuple)) and all(isinstance(c, str) and c in route.targets for c in chosen)


def take_segments(buf: deque[Segment], n: int) -> list[Segment]:
    """The first ``n`` rows of ``buf`` as segments, leaving the rest in it."""
    taken: list[Segment] = []
    while n > 0:
        digest, start, stop = buf.popleft()
        use = min(n, stop - start)
        taken.append((digest, start, start + use))
        if start + use < stop:
            buf.appendleft((digest, start + use, stop))
        n -= use
    return taken
