"""JSON bodies that mean one thing: a duplicate key is refused, never resolved.

Python's `json.loads` (and so FastAPI) keeps the last of two equal keys, while other parsers
keep the first or refuse: `{"account_id": "a", "account_id": "victim"}` could be checked by
one layer (a proxy, a WAF, a log) as "a" and credited here to "victim". The routes that take a
body use `StrictJsonRoute`, whose request parses with a hook that raises `JSONDecodeError`
on a repeated key; FastAPI turns that into its usual validation error, which the problem
handlers answer as 400 `validation_error` naming the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


class DuplicateKeyError(json.JSONDecodeError):
    pass


def loads_strict(text: str | bytes) -> Any:
    """`json.loads`, refusing an object that names a key twice."""
    document = text.decode() if isinstance(text, bytes) else text

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                raise DuplicateKeyError(f"duplicate key {key!r}", document, 0)
            seen[key] = value
        return seen

    return json.loads(document, object_pairs_hook=pairs)


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
