"""Time synthgen's start-up: ``python -m synthgen --help`` and ``synthgen plugins`` (median of N runs).

Usage: python benchmarks/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -m synthgen --help": [sys.executable, "-m", "synthgen", "--help"],
    "synthgen plugins": [sys.executable, "-m", "synthgen.cli.main", "plugins"],
    "synthgen --help": [sys.executable, "-m", "synthgen.cli.main", "--help"],
    "python -c 'import synthgen'": [sys.executable, "-c", "import synthgen"],
}


def time_command(argv: list[str], runs: int) -> float:
    """Median wall time of ``argv`` over ``runs`` runs, in seconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name, argv in COMMANDS.items():
        print(f"{name:<32} {time_command(argv, args.runs) * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
