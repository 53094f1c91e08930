"""The Ray executor: each step replica is a Ray actor wrapping :class:`~synthgen.runner.worker.Replica`.

Same scheduling loop, same messages, same store as the local executor; only where a replica runs differs.
Actors read their inputs from and write their outputs to the store at ``store_root`` (passed as a string),
so on a multi-node cluster the cache root must be a filesystem every node mounts at the same path (NFS,
a shared volume) or object storage (``s3://...``, see :mod:`synthgen.cache_location`). Ray is imported lazily: ``import synthgen`` never imports it.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from synthgen.errors import MissingDependencyError, StepError
from synthgen.runner.messages import BatchFailed, BatchTask, ReplicaEvent
from synthgen.steps.base import BaseStep

MAX_TASK_ATTEMPTS = 3  # a batch whose actor died is retried on another replica at most this often
MAX_RESTARTS = 1  # Ray restarts a dead replica's actor (which loads the step again) this often
MAX_READY_ASKS = 10  # a restarting replica's ready call answered "unavailable" is asked again this often


def import_ray() -> Any:
    """Import ray or explain how to install it.

    Raises:
        MissingDependencyError: ray is not installed.
    """
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray") from exc
    return ray


def init_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to Ray unless this process already is: ``address`` (or ``RAY_ADDRESS``) joins a cluster,
    none starts a local instance.

    Args:
        address: a Ray address (``auto``, ``ray://host:10001``, ``host:6379``); ``RAY_ADDRESS`` wins.
        num_cpus: CPUs of a local instance (default: all of this machine's).

    Returns:
        The ray module.
    """
    ray = import_ray()
    if not ray.is_initialized():
        address = os.environ.get("RAY_ADDRESS") or address
        if address:
            ray.init(address=address, log_to_driver=True)
        else:
            ray.init(num_cpus=num_cpus or os.cpu_count(), include_dashboard=False, log_to_driver=True)
    return ray


class _ReplicaActor:
    """Body of the Ray actor: one step replica, driven through the lifecycle that local replicas share
    (:class:`~synthgen.runner.worker.Replica`). A load error is kept and reported by ``ready`` and every
    batch, so the loop sees it as a failed batch, exactly like a local replica that fails to load."""

    def __init__(self, step: BaseStep, store_root: str, replica: int, log_level: str) -> None:
        from synthgen.runner.worker import Replica

        self.rep = Replica(step, store_root, replica, log_level)
        self.started = self.rep.start()

    def ready(self) -> Any:
        return self.started

    def run_batch(self, task: BatchTask) -> list[Any]:
        return list(self.rep.results(task))

    def stream_generator(self, task: BatchTask) -> Iterator[Any]:
        """Run the generator as a Ray streaming generator: each BatchDone (a digest, not rows) reaches
        the loop as soon as its batch is written, so downstream steps start before the source ends."""
        yield from self.rep.results(task)

    def unload(self) -> Any:
        events: list[Any] = []
        self.rep.stop(events.append)
        return events[0]


@dataclass
class _Replicas:
    """The actors of one step and what each has in flight.

    A replica whose actor died is ``dead`` until Ray has restarted it and it has loaded the step again
    (``restarting`` meanwhile); one whose restarts are spent stays dead.
    """

    actors: list[Any]
    capacity: int
    dead: set[int] = field(default_factory=set)
    restarting: set[int] = field(default_factory=set)
    restarts: list[int] = field(default_factory=list)
    ready_asks: list[int] = field(default_factory=list)  # ready calls made since the replica's last death
    load: list[int] = field(default_factory=list)
    queue: deque[tuple[BatchTask, int]] = field(default_factory=deque)
    pgs: list[Any] = field(default_factory=list)
    unloads: list[Any] = field(default_factory=list)
    step_ref: Any = None  # the step in the object store, held while its actors may restart from it

    def pick(self) -> int | None:
        """The least-loaded live replica with room, or None."""
        alive = [i for i in range(len(self.actors)) if i not in self.dead and self.load[i] < self.capacity]
        return min(alive, key=lambda i: self.load[i]) if alive else None

    @property
    def lost(self) -> bool:
        """Every replica is dead for good: none is alive or coming back."""
        return bool(self.actors) and len(self.dead - self.restarting) == len(self.actors)


def _actor_options(step: BaseStep, ray: Any) -> tuple[dict[str, Any], Any]:
    """Ray options of one replica from StepResources, and its placement group when the step's LLM
    shards over exactly its ``gpus`` (vLLM tensor parallelism)."""
    res = step.resources
    opts: dict[str, Any] = {
        # like local processes, a replica that declares no CPUs does not reserve one: a load stage may
        # hold more replicas than the cluster has cores, and reserving would deadlock it
        "num_cpus": res.cpus if res.cpus is not None else 0,
        "max_concurrency": max(1, int(getattr(step, "max_batches_in_flight", 1) or 1)),
        "max_restarts": MAX_RESTARTS,
        "max_task_retries": 0,  # the executor retries a dead actor's batch itself, on another replica
    }
    if res.memory:
        opts["memory"] = res.memory
    gpus = res.gpus or 0
    llm = getattr(step, "llm", None)
    if gpus > 1 and getattr(llm, "tensor_parallel_size", None) == gpus:
        pg = tensor_parallel_group(gpus, opts["num_cpus"])
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        # The replica only drives the engine: vLLM's Ray executor starts one worker per GPU bundle of
        # the group it runs in, so the replica takes no GPU itself (it would hold bundle 0's).
        opts["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
            pg, placement_group_bundle_index=0, placement_group_capture_child_tasks=True)
        return opts, pg
    if gpus:
        opts["num_gpus"] = gpus
    return opts, None


def tensor_parallel_group(gpus: int, cpus: float) -> Any:
    """A placement group of ``gpus`` one-GPU bundles on one node (tensor parallelism needs its GPUs
    together), the first also holding the driving replica's CPUs."""
    from ray.util.placement_group import placement_group

    first: dict[str, float] = {"GPU": 1, **({"CPU": cpus} if cpus else {})}
    return placement_group([first] + [{"GPU": 1} for _ in range(gpus - 1)], strategy="STRICT_PACK")


class RayExecutor:
    """Runs step replicas as Ray actors; the loop's tasks become actor calls and ``poll`` waits on them."""

    name = "ray"

    def __init__(self, store_root: str, log_level: str, address: str | None = None,
                 num_cpus: int | None = None) -> None:
        self._ray = init_ray(address, num_cpus)
        self._store_root = store_root
        self._log_level = log_level
        self._steps: dict[str, _Replicas] = {}
        self._refs: dict[Any, tuple[str, int, BatchTask | None, int]] = {}  # ref -> step, replica, task, attempt

    def cluster_gpus(self) -> int:
        """GPUs of the whole cluster (the driver's machine may have none)."""
        return int(self._ray.cluster_resources().get("GPU", 0))

    def start(self, step: BaseStep, gpu_ids: list[list[str]] | None) -> None:
        """Start the step's replicas as actors (Ray assigns GPUs; the local GPU plan is not used)."""
        ray = self._ray
        name = str(step.name)
        actor_cls = ray.remote(_ReplicaActor)
        # One copy of the step for every replica, pinned by this driver: a restart builds the actor
        # again from its constructor arguments, which must still exist then.
        step_ref = ray.put(step)
        actors, pgs = [], []
        for replica in range(step.resources.replicas):
            opts, pg = _actor_options(step, ray)
            if pg is not None:
                pgs.append(pg)
            actor = actor_cls.options(name=None, **opts).remote(step_ref, self._store_root, replica, self._log_level)
            actors.append(actor)
            self._refs[actor.ready.remote()] = (name, replica, None, 0)
        capacity = max(1, int(getattr(step, "max_batches_in_flight", 1) or 1))
        zeros = [0] * len(actors)
        self._steps[name] = _Replicas(actors, capacity, load=list(zeros), restarts=list(zeros), ready_asks=list(zeros),
                                      pgs=pgs, step_ref=step_ref)

    def submit(self, task: BatchTask, attempt: int = 0) -> None:
        reps = self._steps[task.step]
        idx = reps.pick()
        if idx is None:
            reps.queue.append((task, attempt))
            return
        reps.load[idx] += 1
        actor = reps.actors[idx]
        if task.generate:
            ref = actor.stream_generator.options(num_returns="streaming").remote(task)
        else:
            ref = actor.run_batch.remote(task)
        self._refs[ref] = (task.step, idx, task, attempt)

    def poll(self, timeout: float) -> list[Any]:
        if not self._refs:
            time.sleep(timeout)
            return []
        ray = self._ray
        ready, _ = ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(list(self._refs), num_returns=len(self._refs), timeout=0)
        out: list[Any] = []
        for ref in ready:
            out.extend(self._collect(ref))
        for name in list(self._steps):
            self._drain_queue(name)
        return out

    def _collect(self, ref: Any) -> list[Any]:
        ray = self._ray
        if isinstance(ref, ray.ObjectRefGenerator):
            return self._collect_stream(ref)
        step, idx, task, attempt = self._refs.pop(ref)
        reps = self._steps.get(step)
        if reps is not None and task is not None:
            reps.load[idx] -= 1
        try:
            result = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            return self._actor_died(step, idx, task, attempt, exc)
        except ray.exceptions.RayError as exc:
            return [BatchFailed(step, task.seq if task else -1, None, str(exc))]
        if reps is not None and task is None and idx in reps.restarting:
            return self._revived(step, reps, idx, result)
        return result if isinstance(result, list) else [result]

    def _revived(self, step: str, reps: _Replicas, idx: int, ready: Any) -> list[Any]:
        """A restarted actor answered its ready call: it takes batches again (or reports its load error)."""
        reps.restarting.discard(idx)
        if isinstance(ready, ReplicaEvent):
            reps.dead.discard(idx)
            logger.info(f"step '{step}' replica {idx} is back after a restart")
            return []
        return [ready]  # it failed to load the step again

    def _collect_stream(self, gen: Any) -> list[Any]:
        """The next batch of a streaming generator; it stays in flight until it is exhausted."""
        ray = self._ray
        step, idx, task, attempt = self._refs[gen]
        try:
            item = next(gen)
        except StopIteration:
            self._done_streaming(gen, step, idx)
            return []
        try:
            return [ray.get(item)]
        except ray.exceptions.RayActorError as exc:
            self._done_streaming(gen, step, idx)
            return self._actor_died(step, idx, task, attempt, exc)
        except ray.exceptions.RayError as exc:
            return [BatchFailed(step, task.seq if task else -1, None, str(exc))]

    def _done_streaming(self, gen: Any, step: str, idx: int) -> None:
        del self._refs[gen]
        reps = self._steps.get(step)
        if reps is not None:
            reps.load[idx] -= 1

    def _actor_died(self, step: str, idx: int, task: BatchTask | None, attempt: int, exc: Exception) -> list[Any]:
        reps = self._steps.get(step)
        if reps is None:  # stopped meanwhile
            return []
        if idx not in reps.dead:
            reps.dead.add(idx)
            logger.warning(f"step '{step}' replica {idx} died ({type(exc).__name__}); "
                           f"{'retrying its batch' if task else 'no batch lost'}")
            self._await_restart(step, reps, idx)
        elif task is None:  # its ready call after a restart failed
            self._ready_failed(step, reps, idx, exc)
        if task is None:
            return []
        if attempt + 1 >= MAX_TASK_ATTEMPTS or reps.lost:
            return [BatchFailed(step, task.seq, None, f"replica {idx} of '{step}' died: {exc}")]
        self.submit(task, attempt + 1)
        return []

    def _await_restart(self, step: str, reps: _Replicas, idx: int) -> None:
        """Ray restarts a dead actor (``max_restarts``): a ready call answers once it loaded the step again."""
        if reps.restarts[idx] >= MAX_RESTARTS:
            return
        reps.restarts[idx] += 1
        reps.restarting.add(idx)
        reps.ready_asks[idx] = 0
        self._ask_ready(step, reps, idx)

    def _ask_ready(self, step: str, reps: _Replicas, idx: int) -> None:
        reps.ready_asks[idx] += 1
        self._refs[reps.actors[idx].ready.remote()] = (step, idx, None, 0)

    def _ready_failed(self, step: str, reps: _Replicas, idx: int, exc: Exception) -> None:
        """A restarting replica's ready call failed. Ray answers *unavailable* when the call reached the
        dead process before Ray knew the actor was restarting (under load, often): ask again, as a call
        made while it restarts waits for it. *Died* means its restarts are spent."""
        unavailable = isinstance(exc, self._ray.exceptions.ActorUnavailableError)
        if unavailable and idx in reps.restarting and reps.ready_asks[idx] < MAX_READY_ASKS:
            logger.debug(f"step '{step}' replica {idx} is still restarting ({exc}); asking again")
            self._ask_ready(step, reps, idx)
            return
        reps.restarting.discard(idx)

    def _drain_queue(self, name: str) -> None:
        reps = self._steps[name]
        while reps.queue and reps.pick() is not None:
            task, attempt = reps.queue.popleft()
            self.submit(task, attempt)

    def stop(self, step_name: str) -> None:
        """Ask every live replica of a step to unload (the end of its load stage)."""
        reps = self._steps.get(step_name)
        if reps is None:
            return
        reps.unloads = [a.unload.remote() for i, a in enumerate(reps.actors) if i not in reps.dead]

    def join(self, step_name: str, timeout: float = 60.0) -> None:
        """Wait for the unloads, then kill the actors and free their placement groups (and GPUs)."""
        reps = self._steps.pop(step_name, None)
        if reps is None:
            return
        ray = self._ray
        if reps.unloads:
            _, pending = ray.wait(reps.unloads, num_returns=len(reps.unloads), timeout=timeout)
            if pending:
                logger.warning(f"{len(pending)} replica(s) of '{step_name}' did not unload in {timeout}s; killing")
        self._kill(step_name, reps)

    def _kill(self, step_name: str, reps: _Replicas) -> None:
        ray = self._ray
        for actor in reps.actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # already gone
                pass
        for pg in reps.pgs:
            from ray.util.placement_group import remove_placement_group

            remove_placement_group(pg)
        for ref in [r for r, v in self._refs.items() if v[0] == step_name]:
            del self._refs[ref]

    def check_alive(self) -> None:
        """A step all of whose replicas died stops the run."""
        for name, reps in self._steps.items():
            if reps.lost:
                raise StepError(name, f"all {len(reps.actors)} Ray actor(s) died; "
                                      f"rerun the pipeline to resume from the cache")

    def running(self, step_name: str) -> bool:
        return step_name in self._steps

    def shutdown(self, force: bool = False) -> None:
        """Kill every actor; without ``force`` let them unload first. Ray itself stays up for reuse."""
        for name in list(self._steps):
            if not force:
                self.stop(name)
                self.join(name, timeout=30)
            else:
                self._kill(name, self._steps.pop(name))
        self._refs.clear()
