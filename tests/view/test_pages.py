"""What the run page shows for costs: the price table's price times the tokens, or tokens only."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.view.pages import duration, live, run_context
from synthgen.view.prices import Price, PriceTable
from synthgen.view.runs import read_run


def test_an_llm_step_costs_its_tokens_at_its_models_price(pdir: Path) -> None:
    context = run_context(read_run(pdir), PriceTable({"gpt-4o": Price(1.0, 2.0)}), {})
    judge = next(s for s in context["steps"] if s["name"] == "judge")
    tokens_in, tokens_out = judge["tokens"]
    assert tokens_in > 0 and tokens_out > 0
    assert judge["cost"] == pytest.approx((tokens_in * 1.0 + tokens_out * 2.0) / 1e6), "gpt-4o-mini is a gpt-4o"
    assert context["total_cost"] == pytest.approx(sum(s["cost"] or 0 for s in context["steps"]))


def test_a_model_missing_from_the_price_table_has_tokens_and_no_cost(pdir: Path) -> None:
    context = run_context(read_run(pdir), PriceTable({}), {})
    judge = next(s for s in context["steps"] if s["name"] == "judge")
    assert judge["tokens"] is not None and judge["cost"] is None and context["total_cost"] is None
    load = next(s for s in context["steps"] if s["name"] == "load")
    assert load["tokens"] is None and load["model"] is None


def test_the_live_state_of_a_finished_run_has_its_failed_rows(pdir: Path) -> None:
    state = live(read_run(pdir))
    assert state["steps"]["generate"]["failed"] == 2 and state["steps"]["generate"]["rows"] == 20


@pytest.mark.parametrize("seconds, text", [(None, "—"), (3.21, "3.2s"), (75, "1m 15s"), (3725, "1h 02m 05s")])
def test_durations_read_as_people_write_them(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


def test_an_llm_steps_requests_are_counted_for_the_run_page(pdir: Path) -> None:
    context = run_context(read_run(pdir), PriceTable({}), {})
    generate = next(s for s in context["steps"] if s["name"] == "generate")
    # 20 rows, two answers each, 2 rows refused by the server (max_retries=0): 40 sent, 4 failed, no retry.
    assert generate["llm"]["sent"] == 40 and generate["llm"]["failed"] == 4 and "retries" not in generate["llm"]
    assert next(s for s in context["steps"] if s["name"] == "load")["llm"] == {}
