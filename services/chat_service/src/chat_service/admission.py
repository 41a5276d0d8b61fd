"""Admission control: answers this replica can stream on time, and no more.

Beyond ``MAX_ACTIVE_ANSWERS`` answers in flight, or while the event loop lags more than
``ADMISSION_MAX_LAG_MS`` (smoothed, ``pace.LoopLag``) with at least
``ADMISSION_LAG_MIN_ANSWERS`` answers streaming here (fewer cannot be what makes it lag: the
machine is busy with something else, and refusing would help nobody), a new answer is refused:
the user's message is stored and acked as always, and the conversation gets ``message.error``
with code ``unavailable`` and ``retry_after`` (the page says "busy" and sends the same message
again, which answers it once admitted). Already-admitted answers keep pace instead of all slowing.
"""

from __future__ import annotations

from chatbot_common.errors import UnavailableError

from . import metrics
from .pace import LoopLag


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
        if active >= self.max_active:
            reason = "max_active"
        elif active >= self.lag_min_active and self.loop_lag.lag > self.max_lag:
            reason = "lag"
        else:
            return None
        return Refused(reason, self.retry_after)


class Refused(UnavailableError):
    """A new answer refused by admission control; ``retry_after`` goes to the client."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__("busy: too many answers are streaming; try again shortly",
                         retry_after=retry_after)
        self.reason = reason  # the metric's label, not sent

    def count(self) -> None:
        metrics.ANSWERS_REFUSED.labels(self.reason).inc()
