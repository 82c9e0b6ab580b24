"""Signed, durable webhooks to the customer's systems (CRMs).

An app of its own inside campaigns, so that campaigns code (leads, imports, the lifecycle)
and calls code can both write events without campaigns importing calls. Events are written
to an outbox in the transaction of the change they report (`outbox.emit`); Celery delivers
them (`delivery`), signed as the Standard Webhooks specification says (`sending`)."""
