"""Answers in flight shared through Redis, so any replica can serve them (``REDIS_URL``).

Per conversation ``cid`` with an answer streaming:
- ``chat:live:<cid>``   hash ``{message_id, user_id, owner}`` (``message_id`` empty while the
  assistant message is being created);
- ``chat:lease:<cid>``  the owner replica's id, with a TTL the owner renews (heartbeat);
- ``chat:deltas:<mid>`` list of the emitted deltas: a delta's ``index`` is its position.
A lease that expires (owner killed), or that its owner hands over (SIGTERM after the grace
period), lets another replica claim the answer with ``SET NX`` and continue (or finalise) it;
deltas are appended only at the index the list expects, and the history's ``expect_status``
makes the finalisation happen once.

Every call is bounded (``redis_gate``): while Redis is down or frozen the owner streams on
from memory, and when Redis is back ``resync`` (from ``failover``) rewrites each of its
answers' lease, hash and deltas; releases missed meanwhile are replayed first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from .redis_gate import RedisGate, gated

log = logging.getLogger(__name__)

CONTROL_CHANNEL = "chat:control"
DELTAS_TTL_SECONDS = 120

# Renew the lease only while this replica still owns it.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""

# Append delta ARGV[1] at index ARGV[2] only if the list holds exactly the deltas before it,
# and then publish ARGV[4] on channel ARGV[3] (the delta's Socket.IO message, when given) in
# the same atomic step: a delta is in the list if and only if the other replicas were sent it
# (an owner dying between a separate append and publish left a gap a taker never filled).
# Returns the list's length before the append (== the index when it was appended).
_APPEND = """
local length = redis.call('llen', KEYS[1])
local index = tonumber(ARGV[2])
if length == index then
  redis.call('rpush', KEYS[1], ARGV[1])
  if ARGV[3] then redis.call('publish', ARGV[3], ARGV[4]) end
elseif length == index + 1 and redis.call('lindex', KEYS[1], -1) == ARGV[1] then
  return index  -- this very delta, stored by an attempt whose reply was lost (gate retry)
end
return length
"""

# Let go of the lease KEYS[1] if this replica (ARGV[1]) holds it; with ARGV[2] == '1' first
# make the deltas list KEYS[2] exactly ARGV[3..] (what the owner emitted). 1 if let go.
_LET_GO = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '1' and redis.call('llen', KEYS[2]) ~= #ARGV - 2 then
  redis.call('del', KEYS[2])
  for i = 3, #ARGV do
    redis.call('rpush', KEYS[2], ARGV[i])
  end
end
redis.call('del', KEYS[1])
return 1
"""

# Make Redis's record of answer ARGV[3] in KEYS (lease, live, deltas) this replica's (ARGV[1],
# lease ARGV[2] ms), with ARGV[5..] its deltas so far (the list only ever grows here: a longer
# one already holds a delta appended meanwhile). 0 if another replica holds the lease.
_RESYNC = """
local owner = redis.call('get', KEYS[1])
if owner and owner ~= ARGV[1] then
  return 0
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('hset', KEYS[2], 'message_id', ARGV[3], 'user_id', ARGV[4], 'owner', ARGV[1])
if ARGV[3] ~= '' and redis.call('llen', KEYS[3]) < #ARGV - 4 then
  redis.call('del', KEYS[3])
  for i = 5, #ARGV do
    redis.call('rpush', KEYS[3], ARGV[i])
  end
end
return 1
"""

# A release missed while Redis was down: drop the record of answer ARGV[2] only if it is still
# this replica's (ARGV[1]); the deltas expire in ARGV[3] s.
_LATE_RELEASE = """
if redis.call('hget', KEYS[1], 'owner') == ARGV[1]
    and redis.call('hget', KEYS[1], 'message_id') == ARGV[2] then
  redis.call('del', KEYS[1])
end
if redis.call('get', KEYS[2]) == ARGV[1] then
  redis.call('del', KEYS[2])
end
if ARGV[2] ~= '' then
  redis.call('expire', KEYS[3], ARGV[3])
end
return 1
"""


@dataclass(frozen=True)
class LiveAnswer:
    conversation_id: str
    message_id: str
    user_id: str
    owner: str
    parts: list[str]

    @property
    def text(self) -> str:
        return "".join(self.parts)


def _live(cid: str) -> str:
    return f"chat:live:{cid}"


def _lease(cid: str) -> str:
    return f"chat:lease:{cid}"


def _deltas(mid: str) -> str:
    return f"chat:deltas:{mid}"


class RedisLive:
    """The records of answers in flight, through this replica's one Redis gate."""

    def __init__(self, gate: RedisGate, replica_id: str, lease_seconds: float) -> None:
        self.gate = gate
        self.redis = gate.client
        self.replica_id = replica_id
        self.lease_ms = int(lease_seconds * 1000)
        self._renew = self.redis.register_script(_RENEW)
        self._append = self.redis.register_script(_APPEND)
        self._let_go = self.redis.register_script(_LET_GO)
        self._resync = self.redis.register_script(_RESYNC)
        self._late_release = self.redis.register_script(_LATE_RELEASE)
        self._missed: list[tuple[str, str]] = []  # releases missed while down: (cid, mid)
        self.gate.on_up(self._replay_releases)

    @property
    def up(self) -> bool:
        return self.gate.up

    # ---- the owner's side ----------------------------------------------------------------
    @gated
    async def claim(self, cid: str, user_id: str) -> bool:
        """Become the replica answering ``cid``; False if another live answer holds it."""
        if not await self.redis.set(_lease(cid), self.replica_id, nx=True, px=self.lease_ms):
            return False
        await self.redis.hset(
            _live(cid), mapping={"message_id": "", "user_id": user_id, "owner": self.replica_id}
        )
        return True

    @gated
    async def attach(self, cid: str, mid: str) -> None:
        await self.redis.hset(_live(cid), "message_id", mid)

    @gated
    async def append(self, mid: str, text: str, index: int, parts: list[str],
                     publish: tuple[str, str] | None = None) -> bool:
        """Store delta ``index`` if the list holds exactly the deltas before it, and publish
        ``publish`` (channel, message) with it atomically; if Redis lost deltas, rewrite the
        list from ``parts`` (every delta before this one), so positions stay the indexes.
        False if the list is longer: another replica has taken the answer over and appends
        to it (this replica must let the answer go, and publishes nothing)."""
        length = int(await self._append(keys=[_deltas(mid)], args=[text, index, *(publish or ())]))
        if length > index:
            return False
        if length < index:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(_deltas(mid))
                pipe.rpush(_deltas(mid), *parts, text)
                if publish is not None:
                    pipe.publish(*publish)
                await pipe.execute()
        return True

    @gated
    async def hand_over(self, cid: str, mid: str, parts: list[str]) -> bool:
        """SIGTERM: leave the answer to another replica at once (the list made exactly
        ``parts``, the lease dropped, a hand-over published). False if not ours any more."""
        if not await self._let_go(keys=[_lease(cid), _deltas(mid)],
                                  args=[self.replica_id, "1", *parts]):
            return False
        await self.redis.publish(CONTROL_CHANNEL, json.dumps({"handover": cid}))
        return True

    @gated
    async def drop_lease(self, cid: str) -> None:
        """Give back a lease just claimed (the answer could not be taken over now)."""
        await self._let_go(keys=[_lease(cid), _deltas("")], args=[self.replica_id, "0"])

    @gated
    async def resync(self, cid: str, mid: str | None, user_id: str, parts: list[str]) -> bool:
        """Make Redis's record of our answer in ``cid`` (lease, hash, deltas ``parts``) whole
        again after Redis lost or missed some of it; False if another replica has the lease."""
        return bool(await self._resync(
            keys=[_lease(cid), _live(cid), _deltas(mid or "")],
            args=[self.replica_id, self.lease_ms, mid or "", user_id, *parts],
        ))

    @gated
    async def renew(self, cid: str) -> bool:
        return bool(await self._renew(keys=[_lease(cid)], args=[self.replica_id, self.lease_ms]))

    async def release(self, cid: str, mid: str | None) -> None:
        """Drop the answer's record; while Redis is down, remember to when it is back."""
        try:
            await self._release(cid, mid)
        except RedisError:
            self._missed.append((cid, mid or ""))
            raise

    @gated
    async def _release(self, cid: str, mid: str | None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(_live(cid), _lease(cid))
            if mid:
                pipe.expire(_deltas(mid), DELTAS_TTL_SECONDS)
            await pipe.execute()

    async def _replay_releases(self) -> None:
        """Redis is back: the releases it missed, before the answers still here are resynced."""
        while self._missed:
            cid, mid = self._missed[0]
            await self.gate.call("release", self._late_release,
                                 keys=[_live(cid), _lease(cid), _deltas(mid)],
                                 args=[self.replica_id, mid, DELTAS_TTL_SECONDS])
            with contextlib.suppress(ValueError):
                self._missed.remove((cid, mid))

    # ---- any replica ---------------------------------------------------------------------
    @gated
    async def snapshot(self, cid: str) -> LiveAnswer | None:
        """The answer streaming in ``cid`` with its text so far, if its owner is alive."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(_live(cid))
            pipe.exists(_lease(cid))
            live, leased = await pipe.execute()
        if not live or not leased:
            return None
        return await self._answer(cid, live, str(live.get("owner", "")))

    @gated
    async def busy(self, cid: str) -> bool:
        return bool(await self.redis.exists(_lease(cid)))

    @gated
    async def holds(self, cid: str, mid: str) -> bool:
        """Is ``mid`` the answer Redis tracks in ``cid`` (owned, or waiting to be taken)?"""
        return bool(mid) and await self.redis.hget(_live(cid), "message_id") == mid

    @gated
    async def request_stop(self, cid: str, status: str) -> None:
        await self.redis.publish(CONTROL_CHANNEL, json.dumps({"stop": cid, "status": status}))

    @gated
    async def user_changed(self, user_id: str) -> None:
        """An admin changed a user: every replica forgets it (and closes it if disabled)."""
        await self.redis.publish(CONTROL_CHANNEL, json.dumps({"user": user_id}))

    @gated
    async def report(self, stats: dict[str, Any], ttl: float) -> None:
        """This replica's live figures (admin view), kept ``ttl`` seconds."""
        await self.redis.set(f"chat:replica:{self.replica_id}", json.dumps(stats),
                             px=int(ttl * 1000))

    @gated
    async def replicas(self) -> list[dict[str, Any]]:
        keys = [k async for k in self.redis.scan_iter(match="chat:replica:*", count=1000)]
        values = await self.redis.mget(keys) if keys else []
        return [
            {"replica": key.removeprefix("chat:replica:"), **json.loads(v)}
            for key, v in zip(keys, values, strict=True) if v
        ]

    async def wait_released(self, cid: str, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                # The owner is another process: poll its key (no local event to wait on).
                while await self.gate.call("wait", self.redis.exists, _live(cid)):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)

    async def orphans(self) -> list[str]:
        """Conversations whose answer has lost its owner (the lease expired)."""
        found = []
        keys = await self.gate.call("orphans", self._live_keys)
        for key in keys:
            cid = key.removeprefix("chat:live:")
            if not await self.gate.call("orphans", self.redis.exists, _lease(cid)):
                found.append(cid)
        return found

    async def _live_keys(self) -> list[str]:
        return [key async for key in self.redis.scan_iter(match="chat:live:*", count=1000)]

    @gated
    async def take_over(self, cid: str) -> LiveAnswer | None:
        """Claim an orphaned answer (once, across replicas); its last state."""
        if not await self.redis.set(_lease(cid), self.replica_id, nx=True, px=self.lease_ms):
            return None
        live = await self.redis.hgetall(_live(cid))
        if not live:
            await self.redis.delete(_lease(cid))
            return None
        await self.redis.hset(_live(cid), "owner", self.replica_id)
        return await self._answer(cid, live, self.replica_id)

    async def _answer(self, cid: str, live: dict[Any, Any], owner: str) -> LiveAnswer:
        mid = str(live.get("message_id", ""))
        parts = await self.redis.lrange(_deltas(mid), 0, -1) if mid else []
        return LiveAnswer(cid, mid, str(live.get("user_id", "")), owner, [str(p) for p in parts])

    async def listen(
        self,
        on_stop: Callable[[str, str], Awaitable[None]],
        on_handover: Callable[[str], Awaitable[None]],
        on_user: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Follow stop requests and hand-overs from other replicas; a lost subscription marks
        Redis down, and it is made again once the gate finds Redis back."""
        failures = 0
        while True:
            await self.gate.wait_up()
            try:
                async with self.redis.pubsub() as pubsub:
                    async with asyncio.timeout(self.gate.timeout * 4):
                        await pubsub.subscribe(CONTROL_CHANNEL)
                    failures = 0
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            await _dispatch(message["data"], on_stop, on_handover, on_user)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("redis control channel lost", extra={"error": repr(exc)})
                self.gate.set_down("control", exc)
            await asyncio.sleep(self.gate.backoff(failures))
            failures += 1


async def _dispatch(
    data: str,
    on_stop: Callable[[str, str], Awaitable[None]],
    on_handover: Callable[[str], Awaitable[None]],
    on_user: Callable[[str], Awaitable[None]] | None,
) -> None:
    try:
        body = json.loads(data)
        if "handover" in body:
            await on_handover(str(body["handover"]))
        elif "user" in body:
            if on_user is not None:
                await on_user(str(body["user"]))
        else:
            await on_stop(str(body["stop"]), str(body["status"]))
    except (ValueError, KeyError, TypeError):
        log.warning("malformed control message")
