"""The application as OpenAPI describes it."""

from __future__ import annotations

from gateway.app import create_app
from settings import Settings


def test_openapi_documents_every_route_with_problems() -> None:
    spec = create_app(Settings()).openapi()
    assert {
        "/v1/programs/{program}/transactions",
        "/v1/programs/{program}/transactions:batch",
        "/v1/programs/{program}/accounts/{account_id}/balances",
        "/v1/programs/{program}/accounts/{account_id}/history",
        "/v1/programs/{program}/accounts/{account_id}/requests/{request_id}",
        "/v1/programs/{program}/totals",
        "/healthz",
        "/readyz",
    } <= set(spec["paths"])
    assert "/metrics" not in spec["paths"]
    for path, item in spec["paths"].items():
        if path.startswith("/v1/"):
            for operation in item.values():
                assert "4XX" in operation["responses"], path
