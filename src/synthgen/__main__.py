"""``python -m synthgen [overrides]``: the Hydra app (same as ``synthgen run``)."""

from __future__ import annotations

import sys


def main() -> None:
    """Compose ``conf/`` with the command-line overrides and run the pipeline."""
    from synthgen.config.hydra_app import hydra_main

    hydra_main(sys.argv[1:], prog="python -m synthgen")


if __name__ == "__main__":
    main()
