"""Users and usage: what the operator's view (admin events) reads and the chat service writes.

- A user record per user id: name, ``last_seen`` (each connection), ``disabled``,
  ``tokens_per_day`` (overrides the chat service's default limit; ``None`` = default).
- One usage record per finished answer (idempotent on its message id): user, model, status,
  the upstream's token counts and the time to first token. Records outlive their conversation
  (a deleted conversation still counted), so the figures are exact and survive restarts.

The aggregation (sums, percentiles) lives here, once; the stores only read and write.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal

from chatbot_common.contract import MessageStatus, Rating
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, field_validator

GroupBy = Literal["user", "model", "day"]


def _final(status: MessageStatus) -> MessageStatus:
    if not status.final:
        raise ValueError("an answer's final status (complete, stopped, interrupted or error)")
    return status


#: How a finished answer ended (never ``streaming``).
UsageStatus = Annotated[MessageStatus, Strict(False), AfterValidator(_final)]


class _Input(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class UserSeen(_Input):
    name: str | None = Field(None, max_length=200)
    guest: bool = False


class UserUpdate(_Input):
    user_id: str = Field(min_length=1, max_length=200)
    disabled: bool | None = None
    # None leaves it; 0 clears the override (back to the default limit).
    tokens_per_day: int | None = Field(None, ge=0, le=10**12)


class UserRecord(BaseModel):
    user_id: str
    name: str | None = None
    guest: bool = False
    last_seen: str
    disabled: bool = False
    tokens_per_day: int | None = None


class UserPublic(UserRecord):
    conversations: int = 0
    tokens_today: int = 0


class UsersPublic(BaseModel):
    users: list[UserPublic]


MAX_TOKENS_PER_ANSWER = 1 << 31


class UsageCreate(_Input):
    message_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=200)
    conversation_id: str = Field(min_length=1, max_length=64)
    model: str | None = Field(None, max_length=200)
    status: UsageStatus
    # bounded far above any answer, so that sums stay within the stores' 64-bit integers
    prompt_tokens: int = Field(0, ge=0, le=MAX_TOKENS_PER_ANSWER)
    completion_tokens: int = Field(0, ge=0, le=MAX_TOKENS_PER_ANSWER)
    ttft_ms: float | None = Field(None, ge=0, le=86_400_000, allow_inf_nan=False)
    finished_at: str = Field(min_length=10, max_length=40)
    #: The user's verdict on the answer ("good"/"bad"), set later by its feedback.
    feedback: Annotated[Rating, Strict(False)] | None = None

    @property
    def day(self) -> str:
        return self.finished_at[:10]


class UsageRow(BaseModel):
    key: str
    messages: int
    prompt_tokens: int
    completion_tokens: int
    errors: int
    good: int = 0  # answers rated "Good response"
    bad: int = 0  # answers rated "Bad response"
    ttft_p50_ms: float | None = None
    ttft_p95_ms: float | None = None


class UsageSummary(BaseModel):
    rows: list[UsageRow]


def period(since: str | None, until: str | None) -> tuple[str | None, str | None]:
    """``[start, end)`` as ISO strings comparable with ``finished_at``.

    ``since``/``until`` are ISO dates (``2026-11-30``, ``until`` inclusive) or date-times.
    """

    def parse(value: str, end: bool) -> str:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return (day + timedelta(days=1) if end else day).isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")

    return (parse(since, False) if since else None), (parse(until, True) if until else None)


def check_period(value: str | None) -> str | None:
    if value is not None:
        try:
            period(value, None)
        except ValueError as exc:
            raise ValueError("an ISO date (2026-11-30) or date-time") from exc
    return value


class UsageQuery(_Input):
    group_by: GroupBy
    since: str | None = Field(None, max_length=40)
    until: str | None = Field(None, max_length=40)

    @field_validator("since", "until")
    @classmethod
    def _iso(cls, value: str | None) -> str | None:
        return check_period(value)


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def summarise(records: list[UsageCreate], group_by: GroupBy) -> list[UsageRow]:
    """Rows per user, model or day, in key order."""
    groups: dict[str, list[UsageCreate]] = defaultdict(list)
    for r in records:
        key = {"user": r.user_id, "model": r.model or "", "day": r.day}[group_by]
        groups[key].append(r)
    rows = []
    for key in sorted(groups):
        items = groups[key]
        ttfts = [r.ttft_ms for r in items if r.ttft_ms is not None]
        rows.append(UsageRow(
            key=key,
            messages=len(items),
            prompt_tokens=sum(r.prompt_tokens for r in items),
            completion_tokens=sum(r.completion_tokens for r in items),
            errors=sum(1 for r in items if r.status == MessageStatus.ERROR),
            good=sum(1 for r in items if r.feedback == Rating.GOOD),
            bad=sum(1 for r in items if r.feedback == Rating.BAD),
            ttft_p50_ms=percentile(ttfts, 50),
            ttft_p95_ms=percentile(ttfts, 95),
        ))
    return rows


def today() -> str:
    """The UTC day (``tokens_today`` and the chat service's daily limits count UTC days)."""
    return datetime.now(UTC).date().isoformat()
