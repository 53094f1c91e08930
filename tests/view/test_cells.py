"""Dataset values as HTML: everything escaped, long texts folded, chats shown as chats."""

from __future__ import annotations

from synthgen.view.cells import FOLD_AT, cell, is_chat, row_errors


def test_markup_in_the_data_is_escaped_everywhere() -> None:
    html = cell({"<b>": ["<script>alert(1)</script>", {"role": "user", "content": "<i>"}]})
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html and "<i>" not in html


def test_a_long_text_is_folded_with_its_start_shown_and_a_short_one_is_not() -> None:
    long = "word " * FOLD_AT
    assert cell(long).startswith('<details class="fold"><summary>word word') and f"({len(long):,} characters)" in cell(long)
    assert cell("short") == '<div class="text">short</div>'


def test_a_list_of_role_content_messages_is_a_chat() -> None:
    chat = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}]
    html = cell(chat)
    assert is_chat(chat) and html.count('class="msg ') == 2 and 'class="msg user"' in html
    assert not is_chat([]) and not is_chat([{"role": "user"}]) and not is_chat(["a"])


def test_none_is_shown_as_null_and_errors_are_read_from_the_metadata() -> None:
    assert "null" in cell(None)
    row = {"synthgen_metadata": {"error_gen": "HTTP 500", "error_judge": None, "model_name_gen": "m"}}
    assert row_errors(row) == {"gen": "HTTP 500"} and row_errors({"x": 1}) == {}
