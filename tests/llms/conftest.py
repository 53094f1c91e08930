"""Fixtures of the LLM tests."""

from __future__ import annotations

import pytest

from synthgen.llms.engine import EngineSettings, RequestEngine
from tests.llms.engine_doubles import Backend, classify


@pytest.fixture
def engine_for():  # type: ignore[no-untyped-def]
    engines: list[RequestEngine] = []

    def build(backend: Backend, **settings: object) -> RequestEngine:
        merged = {"backoff_base": 0.01, "backoff_max": 0.05, **settings}
        engine = RequestEngine("test LLM 'm'", backend.send, classify, EngineSettings(**merged))  # type: ignore[arg-type]
        engine.start()
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.stop()
