"""How a user error ends a command: one line on stderr, no traceback, a meaningful exit code."""

from __future__ import annotations

import os
import sys

from synthgen.errors import OfflineBatchGenerationNotFinished, RowsFailed, SynthgenError, UsageError

DEBUG_ENV = "SYNTHGEN_DEBUG"

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PENDING = 3
EXIT_ROWS_FAILED = 4  # finished, with failed rows: the dataset is written
EXIT_INTERRUPTED = 130


def debug_enabled() -> bool:
    """``SYNTHGEN_DEBUG=1`` shows tracebacks instead of the one-line messages."""
    return os.environ.get(DEBUG_ENV, "").lower() not in ("", "0", "false", "no")


def exit_code(exc: BaseException) -> int:
    """3 for pending offline batch jobs (rerun to collect), 4 for too many failed rows (the dataset is
    written), 2 for a wrong command line, 130 for Ctrl+C, 1 for other errors."""
    if isinstance(exc, OfflineBatchGenerationNotFinished):
        return EXIT_PENDING
    if isinstance(exc, RowsFailed):
        return EXIT_ROWS_FAILED
    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def message(exc: BaseException) -> str:
    """The line printed for ``exc``, prefixed with what kind of problem it is."""
    if isinstance(exc, OfflineBatchGenerationNotFinished):
        return f"pending: {exc}. Nothing is lost: rerun the same command to collect the results."
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted: what was written is kept in the cache; rerun the same command to resume."
    return f"error: {exc}"


def report(exc: BaseException) -> int:
    """Print ``exc`` to stderr and return the exit code to use."""
    print(message(exc), file=sys.stderr)
    return exit_code(exc)


def handled(exc: BaseException) -> bool:
    """Whether ``exc`` is reported as one line (unless debugging): user errors and Ctrl+C."""
    return isinstance(exc, (SynthgenError, KeyboardInterrupt)) and not debug_enabled()
