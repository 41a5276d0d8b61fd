"""Admission control: answers this replica can stream on time, and no more.

Decided before any I/O, for each answering event (``message.send``, ``message.edit``,
``message.regenerate``): beyond ``MAX_ACTIVE_ANSWERS`` answers in flight, or while the event
loop's *sustained* lag (``pace.LoopLag.sustained``: smoothed over ``ADMISSION_LAG_WINDOW_MS``,
so the short spike of a burst of sends does not count, a load that lasts does) exceeds
``ADMISSION_MAX_LAG_MS`` with at least ``ADMISSION_LAG_MIN_ANSWERS`` answers streaming here
(fewer cannot be what makes it lag: the machine is busy with something else, and refusing
would help nobody), the event itself is refused with ``unavailable`` and ``retry_after``.
Nothing is stored and nothing acked, so the contract's guarantees hold as they are: the page
says "busy" and sends the same ``client_message_id`` again after ``retry_after``. A refusal
costs a dictionary lookup and an ack, so it reaches the client at once even in a burst.
Already-admitted answers keep pace instead of all slowing.
"""

from __future__ import annotations

from chatbot_common.errors import UnavailableError

from . import metrics
from .pace import LoopLag


def refusal_reason(
    active: int, sustained_lag: float, *, max_active: int, max_lag: float, lag_min_active: int
) -> str | None:
    """Why a new answer beside ``active`` others may not start (the metric's label), or None.

    ``sustained_lag``: the event loop's lag in seconds, smoothed over the admission window."""
    if active >= max_active:
        return "max_active"
    if active >= lag_min_active and sustained_lag > max_lag:
        return "lag"
    return None


class Admission:
    def __init__(
        self,
        max_active: int,
        max_lag: float,
        retry_after: float,
        loop_lag: LoopLag,
        lag_min_active: int = 0,
    ) -> None:
        self.max_active = max_active
        self.max_lag = max_lag
        # below this many answers the lag is not ours (a busy machine): never refuse for it
        self.lag_min_active = lag_min_active
        self.retry_after = retry_after
        self.loop_lag = loop_lag

    def refusal(self, active: int) -> Refused | None:
        """Why a new answer cannot start now (``active``: answers it would run beside), or
        None. Count it (``refused``) when it is sent."""
        reason = refusal_reason(active, self.loop_lag.sustained, max_active=self.max_active,
                                max_lag=self.max_lag, lag_min_active=self.lag_min_active)
        return None if reason is None else Refused(reason, self.retry_after)


class Refused(UnavailableError):
    """A new answer refused by admission control; ``retry_after`` goes to the client."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__("busy: too many answers are streaming; try again shortly",
                         retry_after=retry_after)
        self.reason = reason  # the metric's label, not sent

    def count(self) -> None:
        metrics.ANSWERS_REFUSED.labels(self.reason).inc()


def conversation_of(args: tuple[object, ...]) -> str | None:
    """The ``conversation_id`` an event's payload names (unvalidated: for admission only,
    which runs before the handler parses it), else None."""
    payload = args[0] if args else None
    cid = payload.get("conversation_id") if isinstance(payload, dict) else None
    return cid if isinstance(cid, str) else None
