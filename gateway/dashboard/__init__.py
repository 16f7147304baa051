"""The live operations dashboard: `/dashboard` (a static page) polls `GET /v1/dashboard`.

- activity.py: rolling 60 s counters of outcomes this gateway saw on the outcome channel
  (throughput, rejections by reason) and freshness of this gateway's own writes;
- lag.py: journal end offsets against the mirror's applied offsets (cached 2 s);
- snapshot.py: the JSON of `/v1/dashboard` (activity, lag, program totals, last audit);
- page.py: the HTML page (no build step, no external assets).
"""
