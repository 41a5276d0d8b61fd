"""Sampling settings of a conversation (temperature, top-p, maximum answer length), checked
against the operator's bounds (``LLM_TEMPERATURE_MAX``, ``LLM_TOP_P_MIN``,
``LLM_MAX_TOKENS_CAP``) and sent with every answer of the conversation."""

from __future__ import annotations

from typing import Annotated, Any

from chatbot_common.errors import InvalidError
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from .settings import Settings

Number = StrictFloat | StrictInt


class Sampling(BaseModel):
    """``null`` (or a missing key) means the model's default."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    temperature: Number | None = None
    top_p: Number | None = None
    max_tokens: Annotated[StrictInt, Field(ge=1)] | None = None


def checked(sampling: Sampling, settings: Settings) -> dict[str, Any]:
    """The settings as stored, or ``InvalidError`` naming the bound that is crossed."""
    if sampling.temperature is not None and not (
        0 <= sampling.temperature <= settings.llm_temperature_max
    ):
        raise InvalidError(f"temperature must be between 0 and {settings.llm_temperature_max}")
    if sampling.top_p is not None and not (settings.llm_top_p_min <= sampling.top_p <= 1):
        raise InvalidError(f"top_p must be between {settings.llm_top_p_min} and 1")
    if sampling.max_tokens is not None and sampling.max_tokens > settings.llm_max_tokens_cap:
        raise InvalidError(f"max_tokens must be at most {settings.llm_max_tokens_cap}")
    return {
        "temperature": None if sampling.temperature is None else float(sampling.temperature),
        "top_p": None if sampling.top_p is None else float(sampling.top_p),
        "max_tokens": sampling.max_tokens,
    }


def request_fields(sampling: Any) -> dict[str, Any]:
    """What an answer's request to the LLM service carries of a stored ``sampling``."""
    if not isinstance(sampling, dict):
        return {}
    return {k: sampling[k] for k in ("temperature", "top_p", "max_tokens")
            if sampling.get(k) is not None}
