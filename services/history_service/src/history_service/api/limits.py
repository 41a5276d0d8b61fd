"""Size limits from the settings: beyond them a request is ``too_large`` (413), nothing stored."""

from __future__ import annotations

from chatbot_common.errors import TooLargeError

from ..models import ConversationBase, FeedbackUpdate, MessageCreate, MessageUpdate
from ..settings import HistorySettings


def _check(value: str | None, limit: int, what: str) -> None:
    if value is not None and len(value) > limit:
        raise TooLargeError(f"{what} is longer than {limit} characters", limit=limit)


def check_conversation(data: ConversationBase, settings: HistorySettings) -> None:
    _check(data.title, settings.max_title_chars, "title")
    _check(data.system_prompt, settings.max_system_prompt_chars, "system_prompt")
    _check(data.model, settings.max_model_chars, "model")


def check_message(data: MessageCreate | MessageUpdate, settings: HistorySettings) -> None:
    _check(data.content, settings.max_content_chars, "content")
    _check(data.model, settings.max_model_chars, "model")


def check_feedback(data: FeedbackUpdate, settings: HistorySettings) -> None:
    if data.feedback is not None:
        _check(data.feedback.comment, settings.max_feedback_chars, "comment")
