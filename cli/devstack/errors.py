from cli.errors import CliError


class DevstackError(CliError):
    """The local stack cannot be started or stopped; the message says what to do."""
