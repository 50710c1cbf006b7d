"""The web portal: server-rendered pages for the public, applicants, agencies and auditors.

It holds no business rule: every read is a domain selector and every write a domain service, the same ones the
API calls. Pages are Django templates with htmx (served from our own static files) for partial updates.
"""
