"""Auditor reports: point-in-time statements, the cap-compliance proof, registers, the journal export with its
offline verifier, verification over HTTP, exports (CSV, XLSX) and third-party auditors' grants.

Reports only read the other domains, through their selectors (``ledger.history`` for the ledger as of a moment);
the tables written here are this package's own (export jobs, verification requests, auditor grants).
"""
