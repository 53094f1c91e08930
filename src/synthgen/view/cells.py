"""A dataset value as HTML: long texts folded, chats as chats, lists and mappings nested. Every
string from the data is escaped: a generated row can hold any markup."""

from __future__ import annotations

from html import escape
from typing import Any

from markupsafe import Markup

FOLD_AT = 280  # characters: longer texts show their start and unfold on a click
PREVIEW = 160


def cell(value: Any) -> Markup:
    """The HTML of one value of a row."""
    return Markup(_html(value))


def _html(value: Any) -> str:
    if value is None:
        return '<span class="null">null</span>'
    if isinstance(value, str):
        return _text(value)
    if is_chat(value):
        return _chat(value)
    if isinstance(value, list):
        return '<ol class="list">' + "".join(f"<li>{_html(v)}</li>" for v in value) + "</ol>"
    if isinstance(value, dict):
        return _mapping(value)
    return f'<span class="scalar">{escape(str(value))}</span>'


def _text(text: str) -> str:
    if len(text) <= FOLD_AT:
        return f'<div class="text">{escape(text)}</div>'
    return (f'<details class="fold"><summary>{escape(text[:PREVIEW])}… <span class="more">({len(text):,} '
            f'characters)</span></summary><div class="text">{escape(text)}</div></details>')


def is_chat(value: Any) -> bool:
    """A list of ``{"role": ..., "content": ...}`` messages (a chat column, or a raw LLM input)."""
    return isinstance(value, list) and bool(value) and all(
        isinstance(m, dict) and "role" in m and "content" in m for m in value)


def _chat(messages: list[dict[str, Any]]) -> str:
    bubbles = [f'<div class="msg {escape(str(m["role"]))}"><span class="role">{escape(str(m["role"]))}</span>'
               f'{_html(m["content"])}</div>' for m in messages]
    return '<div class="chat">' + "".join(bubbles) + "</div>"


def _mapping(value: dict[str, Any]) -> str:
    items = "".join(f"<dt>{escape(str(k))}</dt><dd>{_html(v)}</dd>" for k, v in value.items())
    return f'<dl class="mapping">{items}</dl>'


def row_errors(row: dict[str, Any]) -> dict[str, str]:
    """The row's errors per step (``synthgen_metadata.error_<step>`` that are set)."""
    meta = row.get("synthgen_metadata")
    if not isinstance(meta, dict):
        return {}
    return {k.removeprefix("error_"): str(v) for k, v in meta.items() if k.startswith("error_") and v is not None}
