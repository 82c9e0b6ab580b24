"""Helpers every app uses (staff-only access, keyset paging, the shared Redis client). The bottom of the
project: it imports no app, so any app may import it."""
