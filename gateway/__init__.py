"""The HTTP API (FastAPI): writes go to Kafka as requests, reads come from the Redis model.

Errors: every error of the gateway is a `GatewayFailure` (gateway/errors.py draws the tree);
each becomes an RFC 9457 problem at the edge.
"""
