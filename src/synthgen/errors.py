"""The one family of user-facing errors.

Every error a user can cause derives from :class:`SynthgenError`; the CLI prints these without a
traceback. A message names the object, says what was expected and gives the fix or the options.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SynthgenError(Exception):
    """Base class for every error caused by user input or by the environment."""


class PlanError(SynthgenError):
    """The pipeline cannot run as defined (cycle, missing column, bad load groups, ...)."""


class ConfigError(SynthgenError):
    """A configuration value, override or parameter is invalid."""


class UsageError(ConfigError):
    """The command line itself is wrong (a flag, an override, a missing confirmation): exit code 2."""


class RegistryError(SynthgenError):
    """An unknown or duplicated registered name."""


class StepError(SynthgenError):
    """A step raised while processing; the original exception is chained."""

    def __init__(self, step_name: str, message: str) -> None:
        super().__init__(f"step '{step_name}' failed: {message}")
        self.step_name = step_name
        self._message = message

    def __reduce__(self) -> tuple[object, ...]:  # crosses process boundaries from workers
        return (type(self), (self.step_name, self._message))


class PipelineInterrupted(SynthgenError):
    """The run was stopped by the user (Ctrl+C); what was written is kept."""


class CacheError(SynthgenError):
    """The cache folder is unusable or locked by another run."""


class CheckpointError(SynthgenError):
    """A checkpoint could not be read or exported. Raised at the end of a run, the run itself finished:
    ``distiset`` holds its dataset, and running it again exports the checkpoint without computing."""

    def __init__(self, message: str, distiset: object = None) -> None:
        super().__init__(message)
        self.distiset = distiset


class MissingDependencyError(SynthgenError):
    """An optional extra is not installed."""

    def __init__(self, package: str, backend: str, extra: str | None = None) -> None:
        self._args = (package, backend, extra)
        extra = extra or backend
        super().__init__(
            f"Please install `{package}` to use the {backend} backend: pip install 'synthgen[{extra}]'"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), self._args)


class LLMError(SynthgenError):
    """An LLM backend cannot be used (missing key, server unreachable, every request failing)."""


class BudgetExceeded(SynthgenError):
    """A spending guard was reached; the run stopped cleanly and can be resumed."""


class RowsFailed(SynthgenError):
    """More than ``max_failed_fraction`` of a step's rows failed. The run finished and its dataset is
    written: ``distiset`` holds it (failed rows included, with their errors) and ``failures`` says which."""

    def __init__(self, message: str, distiset: object = None, failures: dict[str, dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.distiset = distiset
        self.failures = failures or {}


class OfflineBatchGenerationNotFinished(SynthgenError):
    """Offline batch jobs were submitted or are still running; rerun the same command to collect them."""

    def __init__(self, jobs_ids: Iterable[str] = (), message: str | None = None, step_name: str | None = None) -> None:
        self.jobs_ids = tuple(jobs_ids)
        self._message = message
        self.step_name = step_name
        super().__init__(
            message
            or f"offline batch jobs pending ({len(self.jobs_ids)}): run the same command again to collect them"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.jobs_ids, self._message, self.step_name))


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """Return ``" — did you mean 'x'?"`` when a close option exists, else an empty string."""
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" — did you mean '{close[0]}'?" if close else ""


def unknown_name(kind: str, name: str, options: Iterable[str]) -> str:
    """Format the standard message for an unknown registered name."""
    options = sorted(options)
    return f"unknown {kind} '{name}'{did_you_mean(name, options)} Registered: {', '.join(options)}"
