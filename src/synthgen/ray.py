"""``RayPipeline``: a Pipeline whose ``run`` uses the Ray executor by default.

Ray is imported only when the pipeline runs, so importing this module does not need ray installed.
"""

from __future__ import annotations

from typing import Any

from synthgen.distiset import Distiset
from synthgen.pipeline import Pipeline


class RayPipeline(Pipeline):
    """A :class:`~synthgen.pipeline.Pipeline` that runs its step replicas as Ray actors.

    Connects to ``RAY_ADDRESS`` when set, else starts a local Ray instance. For a multi-node cluster the
    pipeline's ``cache_dir`` must be a path every node mounts (see docs/ray.md).
    """

    def run(self, *args: Any, **kwargs: Any) -> Distiset:  # type: ignore[override]
        """Run on Ray (see :meth:`Pipeline.run`; ``runner="local"`` still runs locally).

        Returns:
            The pipeline's Distiset.

        Raises:
            MissingDependencyError: ray is not installed.
        """
        kwargs.setdefault("runner", "ray")
        return super().run(*args, **kwargs)
