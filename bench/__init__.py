"""Benchmarks, one module each, run from the repository root: ``python -m bench.ledger`` (ledger throughput next
to pgbench TPC-B) and ``python -m bench.issuance`` (bulk issuance and HTTP approvals); ``make bench-ledger`` and
``make bench-issuance`` run them. They need PostgreSQL (``DATABASE_URL``) and make their own databases. Figures
are in BENCHMARKS.md.

One concern a module: ``plumbing`` (databases, Django set-up, machine facts, SQL counting), ``pgbench``,
``world`` (the issuance world, built with ``tests.factories``), ``sampling`` (/proc and pg_stat), ``server``
(gunicorn), ``http_load`` (client threads).
"""
