"""Where the shipped configs and seed data live, in a checkout and in an installed wheel.

The wheel carries the top-level ``conf/`` as ``synthgen/conf`` (``src/synthgen/conf`` is a link to it
in a checkout), so one lookup through the package folder works in both layouts.
"""

from __future__ import annotations

from pathlib import Path

from synthgen.errors import ConfigError

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def conf_dir() -> Path:
    """The folder holding ``config.yaml`` and the config groups.

    Raises:
        ConfigError: neither the packaged nor the checkout folder exists (a broken install).
    """
    for candidate in (_PACKAGE_DIR / "conf", _PACKAGE_DIR.parent.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise ConfigError(
        f"synthgen's config folder is missing (looked in {_PACKAGE_DIR / 'conf'}): reinstall synthgen"
    )


def data_file(name: str) -> str:
    """Absolute path of a seed file shipped in ``synthgen/data`` (the ``${synthgen_data:...}`` resolver).

    Raises:
        ConfigError: no such file; the message lists the shipped ones.
    """
    folder = _PACKAGE_DIR / "data"
    path = folder / name
    if not path.is_file():
        shipped = sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []
        raise ConfigError(
            f"no bundled data file '{name}' in {folder}. Shipped: {', '.join(shipped) or 'none'}"
        )
    return str(path)
