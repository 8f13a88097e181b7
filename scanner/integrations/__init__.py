"""Integrations: orgscan's results sent to other services (GitHub code scanning).

They live in the host, not in ``reports/``: report writers only turn a document into files, while an
integration talks to a remote service with the caller's credentials.
"""
