"""Nothing on a request's path runs in FastAPI's thread pool: a plain `def` dependency or
endpoint is run there, one thread hop per call (process_state was one: reads went from 689 to
1 292/s when it became async, `python -m bench.http_phase`)."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from gateway.routes import dashboard, ops, reads, transactions


def _calls(dependant: Dependant) -> Iterator[Any]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _runs_on_the_loop(call: Any) -> bool:
    if inspect.iscoroutinefunction(call):
        return True
    # A class instance such as HTTPBearer: its class's __call__ decides.
    return not inspect.isfunction(call) and inspect.iscoroutinefunction(type(call).__call__)


def test_every_endpoint_and_dependency_is_async() -> None:
    routers = (transactions.router, reads.router, ops.router, dashboard.router)
    routes = [route for router in routers for route in router.routes if isinstance(route, APIRoute)]
    assert len(routes) >= 10
    sync = sorted(
        {
            f"{route.path}: {getattr(call, '__name__', type(call).__name__)}"
            for route in routes
            for call in _calls(route.dependant)
            if not _runs_on_the_loop(call)
        }
    )
    assert sync == []
