"""The live operations dashboard: `/dashboard` (a static page) polls `GET /v1/dashboard`.

- activity.py: the last 60 s of outcomes (the mirror's counters in Redis) and this gateway's
  freshness
  (throughput, rejections by reason) and freshness of this gateway's own writes;
- lag.py: journal end offsets against the mirror's applied offsets (cached 2 s);
- snapshot.py: the JSON of `/v1/dashboard` (activity, lag, program totals, last audit);
- page.py: the HTML page (no build step, no external assets).
"""
