"""``max_tokens_budget`` is a budget for the run: the replicas of a step share it."""

from __future__ import annotations

import pytest

from synthgen import Pipeline
from synthgen.errors import BudgetExceeded
from synthgen.llms import OpenAILLM
from synthgen.steps import StepResources
from synthgen.steps.loaders import LoadDataFromDicts
from synthgen.tasks import TextGeneration

BUDGET = 300


def budget_pipeline(base_url: str, cache: str) -> Pipeline:
    with Pipeline(name="budget", cache_dir=cache) as p:
        llm = OpenAILLM(model="m", base_url=base_url, api_key="k", max_concurrency=2, max_tokens_budget=BUDGET)
        LoadDataFromDicts(data=[{"instruction": f"write item {i}"} for i in range(200)]) >> TextGeneration(
            name="gen", llm=llm, input_batch_size=10, resources=StepResources(replicas=2))
    return p


def test_two_replicas_stop_at_one_budget_for_the_run(openai_server, tmp_path) -> None:
    openai_server.latency = 0.2  # 10 answers a second per replica: half a second of counts is 5 each
    with pytest.raises(BudgetExceeded, match=r"tokens used \(input\+output\) in this run of max_tokens_budget=300"):
        budget_pipeline(openai_server.base_url, str(tmp_path)).run()
    per_request = 3 + 4  # "write item i" is 3 tokens, "Echo: write item i" 4
    answered = openai_server.counters.answered
    # One budget for both: ~43 answers, plus at most half a second of the other replica's answers and
    # those in flight. Two budgets of their own would have allowed ~86.
    assert BUDGET // per_request <= answered <= BUDGET // per_request + 2 * 5 + 2 * 2 + 2


def test_a_new_run_has_a_budget_of_its_own_and_pays_nothing_twice(openai_server, tmp_path) -> None:
    with pytest.raises(BudgetExceeded):
        budget_pipeline(openai_server.base_url, str(tmp_path)).run()
    first = openai_server.counters.answered
    with pytest.raises(BudgetExceeded):
        budget_pipeline(openai_server.base_url, str(tmp_path)).run()
    assert openai_server.counters.duplicates == 0  # the first run's answers came from the cache
    assert openai_server.counters.answered > first  # and the second run spent a budget of its own
