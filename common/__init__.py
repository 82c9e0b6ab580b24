"""Helpers every app's pages use (staff-only access, keyset paging). The bottom of the
project: it imports no app, so any app may import it."""
