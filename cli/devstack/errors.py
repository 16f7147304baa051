class DevstackError(Exception):
    """The local stack cannot be started or stopped; the message says what to do."""
