"""The Redis read model: its key layout and a small read API, with no Kafka and no processors.

The mirror (processors/readside/) writes this layout; the gateway and dashboards read it
through `readmodel.reader.ReadModel`. Both sides meet only here, so processors/ and gateway/
never import each other.

Errors: every error of the read model is a `ReadModelError` (readmodel/errors.py draws the
tree).
"""
