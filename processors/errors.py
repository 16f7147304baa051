"""The root of every error the processors raise on purpose (the `ledger` command prints any of
them as one line; anything else is a bug and keeps its traceback).

    ProcessorError
     ├── TopicLayoutError          an existing topic does not fit the ledger's layout (topics.py)
     ├── PartnerConfigError        config/partners.toml cannot be used (notify/)
     ├── SignatureError            a webhook signature does not verify (notify/)
     ├── ProduceQueueFull          the producer's queue stayed full (produce.py)
     ├── ReadTimeout               the changelog could not be read to its end in time (core/)
     ├── SessionFailed             a core session cannot go on; a new one takes over (core/intake)
     ├── JournalReadTimeout        the journal could not be read to the end in time (readside/)
     ├── ReplayError               a replay's starting points cannot be used (readside/)
     └── ReadCommittedTransportError  the auditor's Faust transport cannot read committed
"""

from __future__ import annotations


class ProcessorError(Exception):
    """Root of the processors' expected failures."""
