"""STREAM_READ_INTERVAL_MS: bounded by LLM_IDLE_TIMEOUT, since the pacing wait is part of a
read and counts towards the idle timer."""

from __future__ import annotations

import pytest
from llm_service.settings import LlmSettings
from pydantic import ValidationError


def test_the_read_interval_stays_well_under_the_idle_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLM_IDLE_TIMEOUT", "0.2")
    monkeypatch.setenv("STREAM_READ_INTERVAL_MS", "50")
    assert LlmSettings().stream_read_interval_ms == 50  # a quarter: allowed
    monkeypatch.setenv("STREAM_READ_INTERVAL_MS", "51")
    with pytest.raises(ValidationError, match="STREAM_READ_INTERVAL_MS"):
        LlmSettings()
    monkeypatch.setenv("STREAM_READ_INTERVAL_MS", "0")  # off
    assert LlmSettings().stream_read_interval_ms == 0
    monkeypatch.delenv("LLM_IDLE_TIMEOUT")
    monkeypatch.delenv("STREAM_READ_INTERVAL_MS")
    assert LlmSettings().stream_read_interval_ms == 50  # the default
