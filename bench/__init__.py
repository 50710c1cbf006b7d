"""Benchmarks, one module each, run from the repository root as ``python -m bench.<name>`` (``make bench-<name>``):
``ledger`` (throughput next to pgbench TPC-B), ``issuance`` (bulk issuance and HTTP approvals), ``claims`` (whole
claim lifecycles over HTTP), ``request_cost`` (application CPU per request), ``reports`` (journal export and as-of
balances), ``stress`` (10,000 random operations, then every check). ``python -m bench.all`` (``make bench``) runs
them all, each in its own process, and prints one table. They need PostgreSQL (``DATABASE_URL``) and make their own
databases. Figures are in BENCHMARKS.md.

Each benchmark module exposes ``parser()``, ``QUICK`` (the arguments of its smallest size, ``--quick``) and
``measure(args)``, which prints the module's own tables and returns its ``bench.summary.Figure``s; ``main()`` is
``measure`` plus ``--json``. Shared concerns, a module each: ``summary`` (figures, goals, the table), ``plumbing``
(databases, Django set-up, machine facts, SQL counting), ``pgbench``, ``world`` (the issuance world, built with
``tests.factories``), ``sampling`` (/proc and pg_stat), ``server`` (gunicorn), ``http_load`` (client threads).
"""
