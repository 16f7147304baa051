"""Journal extensions: users' own read models and reactions, as Faust agents (kit.py), and the
worked example shipped with the ledger (qualifying.py)."""
