"""The pure domain: requests, events, account state, `decide` and `evolve`, the programs.
No I/O and no clock of its own (the caller passes `now`).

Errors: a rejection is a value (a reason code on the journaled event), never an exception; the
only exceptions are a programs configuration that cannot be used, all `ConfigError`
(ledger/programs.py draws the tree).
"""
