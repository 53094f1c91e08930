"""The pure planner: DAG checks, column checks, load stages and cache keys.

Nothing here touches disk or starts a process, so every rule is easy to test and to print.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Union

from synthgen.errors import PlanError, did_you_mean
from synthgen.hashing import stable_hash
from synthgen.steps.base import BaseStep, GeneratorStep, step_kind

LoadGroups = Union[Sequence[Sequence[Any]], Literal["sequential_step_execution"], None]


class StepKind(str, Enum):
    """How the loop feeds a step. A ``str``, so a kind equals the name written in journals and reports."""

    GENERATOR = "generator"  # no inputs: streams batches from ``process(offset)``
    NORMAL = "normal"  # one output batch per input batch
    GLOBAL = "global"  # one batch holding every upstream row

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class Node:
    """What the planner knows of a step."""

    name: str
    kind: StepKind
    type_name: str
    fingerprint: str
    required_inputs: tuple[str, ...]
    replicas: int
    gpus: int
    batch_size: int
    step: BaseStep = field(compare=False, repr=False)


@dataclass(frozen=True)
class Route:
    """A routing batch function: each output batch of ``upstream`` goes to a subset of ``targets``.

    ``identity`` describes the function (name and parameters, plain data): it is part of the
    signatures and of each routing decision's key. ``choose(targets, key)`` decides for one batch.
    """

    upstream: str
    targets: tuple[str, ...]
    identity: dict[str, Any]
    choose: Callable[[list[str], str], list[str]] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Graph:
    nodes: dict[str, Node]
    edges: tuple[tuple[str, str], ...]
    routes: dict[str, Route] = field(default_factory=dict)  # by upstream step name

    @classmethod
    def from_steps(cls, steps: Mapping[str, BaseStep], edges: Sequence[tuple[str, str]],
                   routes: Mapping[str, Route] | None = None) -> Graph:
        return cls({name: _node(name, s) for name, s in steps.items()}, tuple(edges), dict(routes or {}))

    def predecessors(self, name: str) -> list[str]:
        return [a for a, b in self.edges if b == name]

    def successors(self, name: str) -> list[str]:
        return [b for a, b in self.edges if a == name]

    def leaves(self) -> list[str]:
        return [n for n in topological_order(self) if not self.successors(n)]


def _node(name: str, step: BaseStep) -> Node:
    batch_attr = "batch_size" if isinstance(step, GeneratorStep) else "input_batch_size"
    batch = int(getattr(step, batch_attr, 50))
    required = tuple(c for c, req in step.input_columns().items() if req)
    return Node(
        name=name, kind=StepKind(step_kind(step)), type_name=type(step).registered_name(),
        fingerprint=step_fingerprint(step), required_inputs=required,
        replicas=step.resources.replicas, gpus=step.resources.gpus or 0, batch_size=batch, step=step,
    )


# ---- hashing -------------------------------------------------------------------------------
def step_fingerprint(step: BaseStep) -> str:
    """Registered name, ``version`` and output-relevant parameters of a step."""
    return stable_hash({"type": type(step).registered_name(), "version": type(step).version,
                        "params": step.fingerprint_params()})


def pipeline_signature(graph: Graph) -> str:
    return stable_hash({"steps": sorted((n.name, n.type_name) for n in graph.nodes.values()),
                        "edges": sorted(graph.edges), **_routes_part(graph)})


def aggregated_signature(graph: Graph) -> str:
    return stable_hash({"steps": sorted((n.name, n.fingerprint) for n in graph.nodes.values()),
                        "edges": sorted(graph.edges), **_routes_part(graph)})


def _routes_part(graph: Graph) -> dict[str, Any]:
    # Absent without routes, so the signatures of pipelines without routing stay what they were.
    if not graph.routes:
        return {}
    return {"routes": {u: {"to": sorted(r.targets), **r.identity} for u, r in sorted(graph.routes.items())}}


def route_key(route: Route, upstream_fingerprint: str, digest: str, seq: int) -> str:
    """Key of the routing decision for one output batch of ``route.upstream``: the function, its
    targets and the batch (by content and position). A rerun, or a resumed run, finds the decision
    recorded under it and routes the batch the same way, whatever the function does."""
    return stable_hash({"route": route.identity, "to": sorted(route.targets), "fp": upstream_fingerprint,
                        "digest": digest, "seq": seq})


def routed_batch_key(fingerprint: str, preds: Sequence[str], inputs: Sequence[Sequence[tuple[str, int, int]]]) -> str:
    """Key of a batch of a step after routed steps: which of its predecessors the batch came from is
    part of it, with their segments."""
    return stable_hash({"fp": fingerprint, "from": list(preds), "in": [[list(seg) for seg in p] for p in inputs]})


def converging_steps(graph: Graph) -> dict[str, Route]:
    """Normal steps with several predecessors that are targets of a route: they receive each routed
    batch from the targets it went to, grouped by the batch it came from. (A global step after them
    receives all of their rows, as always.)"""
    target_of = {t: r for r in graph.routes.values() for t in r.targets}
    out: dict[str, Route] = {}
    for name in graph.nodes:
        preds = graph.predecessors(name)
        if len(preds) > 1 and graph.nodes[name].kind == StepKind.NORMAL and any(p in target_of for p in preds):
            out[name] = target_of[next(p for p in preds if p in target_of)]
    return out


def batch_key(fingerprint: str, inputs: Sequence[Sequence[tuple[str, int, int]]]) -> str:
    """Key of a step's output for one input batch: the step fingerprint plus, per predecessor,
    the content-addressed objects and row ranges that make up the batch."""
    return stable_hash({"fp": fingerprint, "in": [[list(seg) for seg in pred] for pred in inputs]})


def generator_batch_key(fingerprint: str, seq: int) -> str:
    return stable_hash({"fp": fingerprint, "seq": seq})


# ---- DAG checks ----------------------------------------------------------------------------
def topological_order(graph: Graph) -> list[str]:
    """Kahn's algorithm, ties broken by insertion order; a cycle is a PlanError."""
    indegree = {n: 0 for n in graph.nodes}
    for _, b in graph.edges:
        indegree[b] += 1
    ready = [n for n in graph.nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for nxt in graph.successors(current):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if len(order) != len(graph.nodes):
        cycle = sorted(n for n in graph.nodes if n not in order)
        raise PlanError(f"the pipeline has a cycle through steps {', '.join(cycle)}: remove one of their connections")
    return order


def validate(graph: Graph) -> list[str]:
    """Check the pipeline before anything runs; return the topological order."""
    if not graph.nodes:
        raise PlanError("the pipeline has no steps: create steps inside the `with Pipeline(...)` block")
    order = topological_order(graph)
    for name in order:
        node = graph.nodes[name]
        preds = graph.predecessors(name)
        if node.kind != StepKind.GENERATOR and not preds:
            raise PlanError(
                f"step '{name}' is not connected to a generator step: connect a loader to it "
                f"(e.g. `load >> {name}`) or pass `dataset=` to pipeline.run()"
            )
        if node.kind == StepKind.GLOBAL and node.replicas > 1:
            raise PlanError(f"global step '{name}' has replicas={node.replicas}: a global step runs as one replica, set replicas=1")
    _check_columns(graph, order)
    _check_generator_batches(graph, order)
    _check_routes(graph)
    return order


def _check_routes(graph: Graph) -> None:
    for route in graph.routes.values():
        for target in route.targets:
            preds, kind = graph.predecessors(target), graph.nodes[target].kind
            if preds != [route.upstream] or kind != StepKind.NORMAL:
                raise PlanError(
                    f"step '{target}' is routed from '{route.upstream}', so that must be its only input and it must "
                    f"be a normal (not global) step; it has inputs {', '.join(preds)} and is {kind}"
                )
    for name, route in converging_steps(graph).items():
        strays = [p for p in graph.predecessors(name) if p not in route.targets]
        if strays:
            raise PlanError(
                f"step '{name}' joins steps routed from '{route.upstream}': all of its inputs must be those steps "
                f"(not {', '.join(strays)}); connect the others after it"
            )


def _check_columns(graph: Graph, order: list[str]) -> None:
    available: dict[str, set[str] | None] = {}
    for name in order:
        node = graph.nodes[name]
        preds = graph.predecessors(name)
        incoming: set[str] | None = set()
        for p in preds:
            if available[p] is None:
                incoming = None
                break
            incoming |= available[p]  # type: ignore[operator]
        if incoming is not None and node.kind != StepKind.GENERATOR:
            missing = [c for c in node.required_inputs if c not in incoming]
            if missing:
                raise PlanError(
                    f"step '{name}' needs input column(s) {', '.join(repr(c) for c in missing)} that no upstream step "
                    f"produces. Available: {', '.join(sorted(incoming)) or 'none'}. Fix: produce them upstream or "
                    f"rename with input_mappings={{'{missing[0]}': '<column>'}}"
                )
        available[name] = node.step.columns_after(incoming) if hasattr(node.step, "columns_after") else None


def _check_generator_batches(graph: Graph, order: list[str]) -> None:
    for name in order:
        preds = graph.predecessors(name)
        sources = {p: graph.nodes[p].batch_size for p in preds if graph.nodes[p].kind == StepKind.GENERATOR}
        if len(set(sources.values())) > 1 and graph.nodes[name].kind == StepKind.NORMAL:
            detail = ", ".join(f"{p}={b}" for p, b in sources.items())
            raise PlanError(
                f"step '{name}' is fed by generators with different batch sizes ({detail}): rows are joined by "
                f"position, so give them the same batch_size"
            )


# ---- load stages ---------------------------------------------------------------------------
def load_stages(graph: Graph, load_groups: LoadGroups = None) -> tuple[list[list[str]], list[list[str]]]:
    """Split the pipeline into load stages.

    Every explicit group and every global step is a stage of its own; the remaining steps join the
    earliest stage their predecessors allow. Returns ``(stages, groups)``.
    """
    order = topological_order(graph)
    groups = _resolve_groups(graph, order, load_groups)
    unit_of = {n: i for i, g in enumerate(groups) for n in g}
    units: list[list[str]] = [list(g) for g in groups]
    for n in order:
        if n not in unit_of:
            unit_of[n] = len(units)
            units.append([n])
    grouped = set(range(len(groups)))
    unit_order = _order_units(graph, order, units, unit_of, grouped)
    stages: list[list[str]] = []
    free: list[str] = []
    for u in unit_order:
        if u in grouped:
            if free:
                stages.append(free)
                free = []
            stages.append(units[u])
        else:
            free.extend(units[u])
    if free:
        stages.append(free)
    position = {n: i for i, n in enumerate(order)}
    return [sorted(s, key=position.__getitem__) for s in stages], [list(g) for g in groups]


def _resolve_groups(graph: Graph, order: list[str], load_groups: LoadGroups) -> list[list[str]]:
    if load_groups == "sequential_step_execution":
        return [[n] for n in order]
    if isinstance(load_groups, str):
        raise PlanError(f"unknown load_groups mode '{load_groups}': use 'sequential_step_execution' or a list of lists of step names")
    groups: list[list[str]] = []
    seen: dict[str, int] = {}
    for i, group in enumerate(load_groups or []):
        names = [g if isinstance(g, str) else str(getattr(g, "name", g)) for g in group]
        for n in names:
            if n not in graph.nodes:
                raise PlanError(f"load_groups[{i}] names unknown step '{n}'{did_you_mean(n, graph.nodes)} Steps: {', '.join(order)}")
            if n in seen:
                raise PlanError(f"step '{n}' is in load_groups[{seen[n]}] and load_groups[{i}]: a step belongs to one group")
            seen[n] = i
        groups.append(names)
    for n in order:
        if graph.nodes[n].kind == StepKind.GLOBAL and n not in seen:
            groups.append([n])
    return groups


def _order_units(graph: Graph, order: list[str], units: list[list[str]], unit_of: dict[str, int],
                 grouped: set[int]) -> list[int]:
    deps: dict[int, set[int]] = {u: set() for u in range(len(units))}
    for a, b in graph.edges:
        if unit_of[a] != unit_of[b]:
            deps[unit_of[b]].add(unit_of[a])
    done: list[int] = []
    pending = set(deps)
    while pending:
        ready = [u for u in pending if deps[u] <= set(done)]
        if not ready:
            bad = [" + ".join(units[u]) for u in pending if u in grouped]
            raise PlanError(
                f"load group [{bad[0] if bad else '?'}] cannot be one contiguous stage: a path leaves the group and "
                f"comes back into it. Put the steps on that path in the same group or split the group"
            )
        # Free steps first so they merge into the current stage; then by topological position.
        ready.sort(key=lambda u: (u in grouped, min(order.index(n) for n in units[u])))
        done.append(ready[0])
        pending.remove(ready[0])
    return done


def check_gpus(graph: Graph, stages: list[list[str]], available: int) -> None:
    """A stage needing more GPUs than exist fails before anything runs."""
    for i, stage in enumerate(stages):
        needed = sum(graph.nodes[n].gpus * graph.nodes[n].replicas for n in stage)
        if needed > available:
            raise PlanError(
                f"load stage {i} ({', '.join(stage)}) needs {needed} GPUs but {available} are available: "
                f"split it with load_groups (e.g. load_groups='sequential_step_execution') or lower gpus/replicas"
            )


def unknown_step(name: str, steps: Mapping[str, Any]) -> str:
    return f"unknown step '{name}' in parameters{did_you_mean(name, steps)} Steps: {', '.join(steps)}"


def is_generator(step: BaseStep) -> bool:
    return isinstance(step, GeneratorStep)
