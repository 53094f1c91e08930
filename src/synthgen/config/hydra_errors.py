"""Hydra's errors as synthgen's: one line, a "did you mean" for a near name, exit code 2.

Hydra reports a bad command line as a multi-line dump ending in ``HYDRA_FULL_ERROR=1``, and advises
``+key=`` for any unknown key, which turns a typo into a new parameter. ``python -m synthgen`` composes
the config once before Hydra runs, and turns the first problem into a :class:`UsageError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from synthgen.errors import UsageError, did_you_mean

# Subcommands of the ``synthgen`` script that people type after ``python -m synthgen``.
SUBCOMMANDS = ("plugins", "pipeline", "cache", "batch", "testing")
MAX_CHECKED_VALUES = 8


def checkable_overrides(argv: Sequence[str]) -> list[list[str]] | None:
    """The override lists to compose as a check: each sweep at its first value, plus one list per other
    value of a short sweep (``llm=openai,anthropic``); ``None`` when ``argv`` holds Hydra flags other
    than ``-m`` (``--help``, ``--cfg``, ...), which Hydra handles itself.

    Raises:
        UsageError: an override cannot be parsed.
    """
    if any(a.startswith("-") and a not in ("-m", "--multirun") for a in argv):
        return None
    parsed = _parse([a for a in argv if not a.startswith("-") and _ours(a)])
    first = [_at(o, 0) for o in parsed]
    variants = [first[:i] + [f"{o.get_key_element()}={value}"] + first[i + 1:]
                for i, o in enumerate(parsed) if _checked_one_by_one(o)
                for value in list(o.sweep_string_iterator())[1:]]
    return [first, *variants]


def _checked_one_by_one(override: Any) -> bool:
    # Every value of a short sweep (options of a group, a few temperatures): a long range costs a compose each.
    return bool(override.is_sweep_override()) and len(list(override.sweep_string_iterator())) <= MAX_CHECKED_VALUES


def _ours(override: str) -> bool:
    # Hydra's own settings are Hydra's to check, except the search path, which decides what options exist.
    key = override.lstrip("+~")
    return not key.startswith("hydra") or key.startswith("hydra.searchpath")


def _parse(overrides: list[str]) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    parsed = []
    for override in overrides:
        try:
            parsed.append(parser.parse_override(override))
        except HydraException as exc:  # parse_override raises the base class, parse_overrides a subclass
            raise parse_error(exc, override) from None
    return parsed


def _at(override: Any, index: int) -> str:
    if not override.is_sweep_override():
        return str(override.input_line)
    return f"{override.get_key_element()}={list(override.sweep_string_iterator())[index]}"


def parse_error(exc: Exception, bad: str) -> UsageError:
    """``plugins`` (a subcommand typed as an override) or another unparsable override."""
    if bad in SUBCOMMANDS:
        return UsageError(f"'{bad}' is a command of the synthgen script, not an override: run `synthgen {bad} ...`")
    detail = f" ({_first_line(exc)})" if str(exc).strip() else ""
    return UsageError(f"cannot parse override '{bad}'{detail}: expected key=value (group=option, a.b=value, "
                      "+new.key=value); quote values with spaces or brackets")


def usage_error(exc: Exception, compose_without: Callable[[str], Any]) -> UsageError:
    """A one-line :class:`UsageError` for a Hydra composition error.

    Args:
        exc: what Hydra raised.
        compose_without: composes the config without the named override (to list the keys that exist).
    """
    from hydra.errors import MissingConfigException

    if isinstance(exc, MissingConfigException):
        return _missing_option(exc)
    cause = exc.__cause__
    key = getattr(cause, "full_key", None)
    if type(cause).__name__ == "ConfigAttributeError" and key:
        return _unknown_key(str(key), compose_without)
    if cause is not None and key:
        return UsageError(f"invalid value for '{key}': {_first_line(cause)}")
    return UsageError(_first_line(exc))


def _missing_option(exc: Any) -> UsageError:
    group, _, name = str(getattr(exc, "missing_cfg_file", "") or "").rpartition("/")
    options = [o for o in (getattr(exc, "options", None) or []) if not o.startswith("base_")]
    if not group:
        return UsageError(_first_line(exc))
    return UsageError(f"unknown {group} '{name}'{did_you_mean(name, options)} Options: {', '.join(options)}")


def _unknown_key(full_key: str, compose_without: Callable[[str], Any]) -> UsageError:
    from omegaconf import DictConfig, OmegaConf

    parent, _, key = full_key.rpartition(".")
    try:
        node = compose_without(full_key)
        node = OmegaConf.select(node, parent) if parent else node
    except Exception:  # noqa: BLE001 - the list of keys is a courtesy; the error stands without it
        node = None
    keys = sorted(str(k) for k in node.keys()) if isinstance(node, DictConfig) else []
    where = f"'{parent}'" if parent else "the top-level config"
    hint = did_you_mean(key, keys)
    add = "" if hint else f"; to add a new key, write +{full_key}=..."
    return UsageError(f"unknown key '{key}' in {where}{hint} Keys: {', '.join(keys) or 'none'}{add}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
