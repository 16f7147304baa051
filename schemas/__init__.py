"""The Kafka contract: the Avro schemas (*.avsc), their codec (framings, fingerprints, the
registry, compiled writers), the records <-> domain mapping, limits, and which partition owns
an account (partitioning.py).

Errors: every codec error is a `CodecError` (schemas/exceptions.py draws the tree).
"""
