"""`GET /v1/programs/{p}/accounts/{a}/events`: an account's outcomes as Server-Sent Events.

Each event is one entry of the account's history (APPLIED, REJECTED, DUPLICATE) as it
becomes visible in Redis, `id` = `{sequence}.{index}` (gateway/event_positions.py). A client
that reconnects with `Last-Event-ID` first gets what it missed, from the history, then the
live events; one that connects without it gets only what comes next. The first event,
`ready`, says the stream is subscribed and names (and carries as its id) the account's newest
event id. Same keys
and scope as the other reads (`balances:read`), charged once per connection; a stream whose
key is revoked ends with a `revoked` event within seconds (KEY_CHECK_S and the key cache),
and its reconnect gets 401. A comment line every HEARTBEAT_S keeps proxies from closing a
quiet stream.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import StreamingResponse

from gateway.access import Access
from gateway.account_streams import Feed
from gateway.event_positions import MalformedEventId, Position, resume
from gateway.problems import GatewayError
from gateway.routes import PROBLEM_RESPONSES
from gateway.routes.reads import AccountId, reader
from readmodel.history import HistoryEntry, history_entry_to_json, parse_history_entry
from readmodel.keys import account_events_channel

router = APIRouter(tags=["reads"])
HEARTBEAT_S = 15.0
# How often a running stream checks that its key was not revoked meanwhile: a revoked key's
# stream ends (its client's reconnect then gets 401), like its other calls, within seconds.
KEY_CHECK_S = 5.0


@router.get(
    "/v1/programs/{program}/accounts/{account_id}/events",
    summary="Live outcomes of an account (Server-Sent Events), resumable with Last-Event-ID",
    response_class=StreamingResponse,
    responses={
        **PROBLEM_RESPONSES,
        200: {"content": {"text/event-stream": {}}, "description": "the event stream"},
    },
)
async def stream_events(
    account_id: AccountId,
    access: Annotated[Access, Depends(reader)],
    last_event_id: Annotated[
        str | None,
        Header(description="resume after this event id (`SEQUENCE` or `SEQUENCE.INDEX`)"),
    ] = None,
) -> StreamingResponse:
    try:
        last = None if last_event_id is None else Position.parse(last_event_id)
    except MalformedEventId as error:
        raise GatewayError("validation_error", str(error)) from None
    return StreamingResponse(
        _events(access, account_id, last),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


MARKER_PREFIX = '{"marker":'
MARKER_WAIT_S = 2.0
SYNC_ATTEMPTS = 5


async def _events(access: Access, account_id: str, last: Position | None) -> AsyncIterator[str]:
    services = access.services
    program = access.program.name
    channel = account_events_channel(services.settings.redis_key_prefix, program, account_id)
    async with services.account_streams.follow(channel) as feed:
        newest_first = await _synchronised_history(access, account_id, channel, feed)
        if newest_first is None:
            return  # the subscription never came up, or ended: the client retries
        start = resume(list(reversed(newest_first)), last)
        # Subscribed and positioned: from here on nothing the account does is missed. The id
        # lets a browser's EventSource resume from here even if no event comes before a drop.
        where = None if start.last is None else str(start.last)
        ready = f"data: {json.dumps({'last_event_id': where})}\n\n"
        yield "retry: 1000\n" + (f"id: {where}\n" if where else "") + "event: ready\n" + ready
        if start.reset:
            yield "event: reset\ndata: {}\n\n"
        for at, kept in start.send:
            yield _message(at, program, account_id, kept)
        position = start.last
        checked = quiet_since = time.monotonic()
        async for live in _live(feed):
            now = time.monotonic()
            if now - checked >= KEY_CHECK_S:
                checked = now
                if not await services.keys.still_valid(access.key.key_id):
                    yield "event: revoked\ndata: {}\n\n"
                    return
            if live is None:
                if now - quiet_since >= HEARTBEAT_S:
                    quiet_since = now
                    yield ": keep-alive\n\n"
                continue
            quiet_since = now
            position = position.after(live) if position else Position(live.sequence, 0)
            yield _message(position, program, account_id, live)


async def _synchronised_history(
    access: Access, account_id: str, channel: str, feed: Feed
) -> list[HistoryEntry] | None:
    """The history, and the live feed advanced to just after it: the history is read in one
    MULTI with a marker published on the account's channel, so whatever the feed holds before
    that marker is in the history and whatever follows is not (exactly, even for repeated
    identical rejections). If the marker does not come (the subscription was not active yet),
    it tries again with a new one."""
    services = access.services
    for _ in range(SYNC_ATTEMPTS):
        marker = json.dumps({"marker": uuid.uuid4().hex}, separators=(",", ":"))
        newest_first, sent = await services.read_model.history_marked(
            access.program.name, account_id, channel, marker
        )
        if not sent:
            return newest_first  # no live model yet: nothing to overlap with
        try:
            async with asyncio.timeout(MARKER_WAIT_S):
                while (data := await feed.get()) is not None:
                    if data.decode() == sent:
                        return newest_first
                return None
        except TimeoutError:
            continue
    return None


async def _live(feed: Feed) -> AsyncIterator[HistoryEntry | None]:
    """Entries as they come; None after KEY_CHECK_S of quiet. Ends when the feed does."""
    while True:
        try:
            data = await asyncio.wait_for(feed.get(), KEY_CHECK_S)
        except TimeoutError:
            yield None
            continue
        if data is None:
            return
        if data.startswith(MARKER_PREFIX.encode()):
            continue  # another stream's (or an earlier attempt's) synchronisation marker
        yield parse_history_entry(data)


def _message(position: Position, program: str, account_id: str, entry: HistoryEntry) -> str:
    body = json.loads(history_entry_to_json(entry))
    body.update(program=program, account_id=account_id)
    return f"id: {position}\nevent: outcome\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
