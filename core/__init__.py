"""Project infrastructure that every package shares and that imports none of them.

``accounts``, ``ledger`` and ``voucher_service`` all build on these three modules, so each concern has one idiom:

* ``core.transactions``: ``service_write`` (the one decorator for a service write), ``lock_in_pk_order``,
  ``before_commit`` and ``enqueue_on_commit`` (the one way to start a task after commit);
* ``core.errors``: ``ErrorCode`` (each member is a code and its HTTP status) and ``ServiceError``, the one base of
  every typed refusal; each domain subclasses both once;
* ``core.migration_operations``: ``PostgreSQLOnlyRunSQL`` for migrations that install triggers and functions.

It is not a Django app: no models, no migrations, no settings of its own.
"""
