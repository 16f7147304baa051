"""Every measurement of the ledger, in one place (top floor, beside `cli/`): figures, never
assertions on time.

End to end, `ledger bench` (cli/bench.py): `run` strings a run together: `mix` (what the
workload is made of), `produce` (as a client would, paced or not), `processes` (the processes
under test, their CPU and memory from /proc), `phases` (what every measured phase shares),
`ledger_phase` (our core and mirror under the workload), `watch` (outcomes in the journal or in
Redis, with freshness), `ceiling` (Kafka's own perf tools), `faust_phase` with `faust_app` (the
same job on Faust's exactly_once), `http_phase` (the gateway under wrk, an HTTP load generator
that is not Python), `report` (JSON and table). `soak` runs the whole ledger for minutes while
its processes are killed.

`kit/`: what measuring and testing share: the one independent `model` of the ledger, the two
workloads drawn from it (`workload`, the benchmarks' mix; `hostile`, every operation and abuse
the tests send) on shared `requests` builders, `verify` and `hostile_checks` (the journal
against the model), `kafka_io` (topics, reading one to its end) and `redis_server` (a Redis of
one run's own).

`micro/`: one part at a time: `decide` (the pure core), `codec` (Avro per record, ours against
fastavro), `core_throughput` (one processor over a backlog), `readside_mirror` (mirror, replay,
freshness), `state_size` (an account's state over a year; restore).

Errors: a run that cannot go on raises a `BenchError` (bench/errors.py draws the tree).
"""
