"""Rate limits (issue 11, deliverable 7, and the per-IP request budgets of deliverable 6).

Budgets are counted by the `limits` library (sliding window counter) in memory, or in Redis
when CONFIDE_REDIS_URL is set, so every process of a deployment shares them. `budgets` reads
the settings, `service` counts, `middleware` adds the `RateLimit-*` headers and guards the
per-IP routes, `dependencies` applies the per-user budgets to requests and runs.
"""
