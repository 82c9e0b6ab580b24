"""The REST API, /api/v1/: Django REST framework, with the OpenAPI schema drf-spectacular
draws from these views (GET /api/v1/openapi.json).

Hashed bearer tokens with scopes (auth), errors as RFC 9457 problem details (problems),
one module per resource. It lives in calls because calls may import campaigns, never the
other way round, and the API needs both."""
