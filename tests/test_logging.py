"""synthgen.logging: the stderr sink is replaced, file sinks stay."""

from __future__ import annotations

from pathlib import Path


def test_setting_up_logging_again_keeps_a_file_sink(tmp_path: Path) -> None:
    from loguru import logger

    from synthgen.logging import log_to_file, setup_logging

    with log_to_file(tmp_path / "job.log", level="INFO"):
        setup_logging("WARNING")  # what run_pipeline does once it starts
        logger.info("kept in the job log")
    logger.info("after the job")
    assert (tmp_path / "job.log").read_text().count("kept in the job log") == 1
    assert "after the job" not in (tmp_path / "job.log").read_text()


def test_workers_spawned_during_the_job_learn_the_file_and_later_ones_do_not(tmp_path: Path,
                                                                             monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from synthgen.logging import LOG_FILE_ENV, log_to_file

    monkeypatch.delenv(LOG_FILE_ENV, raising=False)
    with log_to_file(tmp_path / "job.log"):
        assert os.environ[LOG_FILE_ENV] == str(tmp_path / "job.log")
    assert LOG_FILE_ENV not in os.environ
