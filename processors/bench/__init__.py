"""`ledger bench`: a seeded workload, the ledger core under it, the broker's ceiling, a peer.

Modules, in the order a run uses them: `mix` (what the workload is made of), `model` (the
bench's own independent expectation), `workload` (seeded requests, encoded), `children` (the
processes under test, their CPU and memory), `produce`, `watch` (outcomes in the journal or in
Redis, with freshness), `verify` (the journal folded vs the model), `ceiling` (Kafka's perf
tools), `faust_peer` (the same job on Faust's exactly_once), `report` (JSON and table), and
`run`, which strings them together.
"""
