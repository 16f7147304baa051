"""The `ledger` command (top floor): one module per subcommand, dispatched by main.py; the
local stack (devstack/), the access file (access/), the supervisor of `ledger run`.

Errors: every expected failure is a `CliError` (cli/errors.py draws the tree); main.py prints
it, and the other packages' roots, as one line.
"""
