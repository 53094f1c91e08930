"""GeneratorTask: a generator step that owns an LLM, fingerprinted and loaded like a task's."""

from __future__ import annotations

from synthgen.tasks.magpie import MagpieGenerator
from synthgen.testing.fake_llm import FakeLLM


def test_the_llm_is_part_of_the_fingerprint_without_its_knobs() -> None:
    base = MagpieGenerator(llm=FakeLLM(), num_rows=4).fingerprint_params()
    assert base["llm"]["model"] == "fake-model"
    assert MagpieGenerator(llm=FakeLLM(model="other"), num_rows=4).fingerprint_params() != base
    assert MagpieGenerator(llm=FakeLLM(), num_rows=4, batch_size=2).fingerprint_params() == base


def test_batches_cover_num_rows_from_the_offset_and_rows_get_metadata() -> None:
    gen = MagpieGenerator(llm=FakeLLM(), num_rows=5, batch_size=2, name="g", add_raw_input=False)
    assert gen.batch_ranges(0) == [(0, 2), (2, 4), (4, 5)] and gen.batch_ranges(5) == []
    assert gen.columns_after(None) == {"instruction", "response", "model_name", "synthgen_metadata"}
    [(rows, last)] = list(gen.process(offset=5))
    assert rows == [] and last
    row = next(gen.process())[0][0]
    assert set(row["synthgen_metadata"]) == {"model_name_g", "statistics_g", "raw_output_g", "error_g"}
