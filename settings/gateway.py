"""The HTTP gateway (`ledger gateway`): address, limits, TLS."""

from __future__ import annotations

from dataclasses import dataclass

from settings.variables import EnvVar


@dataclass(frozen=True)
class GatewaySettings:
    # The HTTP gateway (`ledger gateway`, gateway/).
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    gateway_workers: int = 1
    gateway_outcome_timeout_ms: int = 5000
    gateway_rate_per_s: int = 1000
    gateway_rate_burst: int = 2000
    gateway_body_bytes_max: int = 1_048_576
    # The gateway's Prometheus /metrics, on its own port: the API port serves no unauthenticated
    # figures (outcomes by reason are business data).
    gateway_metrics_port: int = 9103
    # TLS for the gateway: serve HTTPS when both files are set. With a client CA, clients may
    # present certificates; an API key bound to one (`ledger keys create --client-cert`) is
    # then accepted only over a connection that presented exactly that certificate.
    gateway_tls_cert_file: str | None = None
    gateway_tls_key_file: str | None = None
    gateway_tls_client_ca_file: str | None = None
    # Where `ledger tx` and `ledger account` send their calls (the client in clients/python);
    # None: this machine's gateway, http(s)://LEDGER_GATEWAY_HOST:LEDGER_GATEWAY_PORT.
    api_url: str | None = None
    api_key: str | None = None


ENV_VARS: tuple[EnvVar, ...] = (
    EnvVar("LEDGER_API_URL", "api_url", str, "gateway URL of `ledger tx` and `ledger account`"),
    EnvVar("LEDGER_API_KEY", "api_key", str, "API key of `ledger tx` and `ledger account`"),
    EnvVar("LEDGER_GATEWAY_HOST", "gateway_host", str, "address the HTTP gateway listens on"),
    EnvVar("LEDGER_GATEWAY_PORT", "gateway_port", int, "port the HTTP gateway listens on"),
    EnvVar("LEDGER_GATEWAY_WORKERS", "gateway_workers", int, "gateway worker processes"),
    EnvVar(
        "LEDGER_GATEWAY_OUTCOME_TIMEOUT_MS",
        "gateway_outcome_timeout_ms",
        int,
        "how long a write waits for its outcome before answering 202",
    ),
    EnvVar(
        "LEDGER_GATEWAY_RATE_PER_S",
        "gateway_rate_per_s",
        int,
        "default per-key rate limit (token refill per second)",
    ),
    EnvVar(
        "LEDGER_GATEWAY_RATE_BURST", "gateway_rate_burst", int, "default per-key token bucket size"
    ),
    EnvVar(
        "LEDGER_GATEWAY_BODY_BYTES_MAX",
        "gateway_body_bytes_max",
        int,
        "largest request body the gateway accepts (413 beyond)",
    ),
    EnvVar(
        "LEDGER_GATEWAY_METRICS_PORT",
        "gateway_metrics_port",
        int,
        "port of the gateway's Prometheus /metrics, 0 for none",
        minimum=0,
    ),
    EnvVar(
        "LEDGER_GATEWAY_TLS_CERT",
        "gateway_tls_cert_file",
        str,
        "PEM certificate chain: with the key, the gateway serves HTTPS only",
    ),
    EnvVar("LEDGER_GATEWAY_TLS_KEY", "gateway_tls_key_file", str, "PEM private key of the gateway"),
    EnvVar(
        "LEDGER_GATEWAY_TLS_CLIENT_CA",
        "gateway_tls_client_ca_file",
        str,
        "CA whose client certificates the gateway verifies (keys bound to a certificate)",
    ),
)
