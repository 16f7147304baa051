"""The root of the gateway's errors; each becomes an RFC 9457 problem at the edge.

    GatewayFailure
     ├── GatewayError     answered as a problem with its code (problems.py)
     ├── AmountError      an amount is not exact in the asset's scale (amounts.py; a ValueError)
     └── ProduceError     the request could not be handed to Kafka (producer.py)

`DuplicateKeyError` (strict_json.py) stays a `json.JSONDecodeError`: it is raised inside the
JSON parser, which the framework turns into a 400 like any malformed body.
"""

from __future__ import annotations


class GatewayFailure(Exception):
    """Root of the gateway's errors."""
