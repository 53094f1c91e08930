"""Progress per step: input rows processed of rows received, and rows per second."""

from __future__ import annotations

from synthgen.runner.progress import Progress


def test_a_steps_total_is_what_upstream_handed_it_and_a_source_has_none() -> None:
    progress = Progress(["gen", "a"], interval=0, live=False)
    progress.advance("gen", 30)
    progress.receive("a", 20)
    progress.receive("a", 10)
    progress.advance("a", 10)
    assert progress.line("gen", 1.0) == "gen: 30 rows (30/s)"
    assert progress.line("a", 2.0) == "a: 10/30 rows (5/s)"
    progress.finish("gen")
    assert progress.line("gen", 1.0) == "gen: 30/30 rows (30/s)", "a finished source knows its total"


def test_the_live_display_shows_done_of_total(capsys) -> None:  # type: ignore[no-untyped-def]
    progress = Progress(["a"], live=True)
    try:
        progress.receive("a", 40)
        progress.advance("a", 40)
        progress.finish("a")
        task = progress._live.tasks[0]
        assert (task.completed, task.total) == (40, 40)
    finally:
        progress.close()
