"""Request bodies of the OpenAI-compatible API (only what the gateway reads is typed)."""

from __future__ import annotations

from typing import Any, Literal

from chatbot_common.text import Text
from pydantic import BaseModel, ConfigDict, Field


class ChatMessage(BaseModel):
    """One message; fields the gateway does not read (name, tool_calls, ...) pass through."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Text | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. Unknown fields (temperature, stop, ...) go upstream as-is."""

    model_config = ConfigDict(extra="allow")

    model: Text | None = Field(None, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1, le=1, description="one choice per request")

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def message_dicts(self) -> list[dict[str, Any]]:
        return [m.model_dump(exclude_unset=True) for m in self.messages]

    def passthrough(self) -> dict[str, Any]:
        """Fields forwarded untouched (sampling parameters and the like)."""
        return dict(self.model_extra or {})
