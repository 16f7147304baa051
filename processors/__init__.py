"""The processes of the architecture, on Kafka: the exactly-once core (core/), the read side
(readside/: the mirror into Redis, replays, the auditor), the partner notifier (notify/), and
the topics' layout (topics.py).

Errors: every expected failure is a `ProcessorError` (processors/errors.py draws the tree).
"""
