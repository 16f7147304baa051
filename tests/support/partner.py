"""A partner's webhook endpoint for tests: a real HTTP server on loopback that checks every
signature, records what arrived, and misbehaves on request (fail, be slow)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from processors.notify.signing import SignatureError, verify

# (event_id, attempt) -> HTTP status to answer
Behaviour = Callable[[str, int], int]


def always_ok(event_id: str, attempt: int) -> int:
    return 200


@dataclass
class Received:
    event_id: str
    attempt: int
    partner: str
    body: dict[str, Any]
    signature_ok: bool


@dataclass
class PartnerStub:
    secret: bytes
    behaviour: Behaviour = always_ok
    delay_s: float = 0.0
    # Called with each accepted notification's JSON, before answering: a partner's own work.
    on_accept: Callable[[dict[str, Any]], None] | None = None
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"

    def delivered_ids(self) -> set[str]:
        with self.lock:
            return {r.event_id for r in self.received if r.signature_ok and r.body}

    def start(self) -> PartnerStub:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    verify(
                        stub.secret,
                        raw,
                        self.headers.get("Ledger-Signature", ""),
                        time.time_ns() // 1_000_000,
                    )
                    signature_ok = True
                except SignatureError:
                    signature_ok = False
                event_id = self.headers.get("Ledger-Event-Id", "")
                attempt = int(self.headers.get("Ledger-Delivery-Attempt", "0"))
                if stub.delay_s:
                    time.sleep(stub.delay_s)
                status = stub.behaviour(event_id, attempt) if signature_ok else 401
                if 200 <= status < 300 and stub.on_accept is not None:
                    stub.on_accept(json.loads(raw))
                if 200 <= status < 300:
                    with stub.lock:
                        stub.received.append(
                            Received(
                                event_id,
                                attempt,
                                self.headers.get("Ledger-Partner", ""),
                                json.loads(raw),
                                signature_ok,
                            )
                        )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # the OS picks the port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
