"""The root of the read model's errors.

ReadModelError
 ├── MalformedOutcome       an outcome message is not what the mirror publishes (keys.py)
 └── ModelChangedTooOften   the live generation kept changing under a read (reader.py)
"""

from __future__ import annotations


class ReadModelError(Exception):
    """Root of the read model's errors."""
