"""Errors as RFC 9457 problem details (application/problem+json):

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "detail": "to: '555-12' is not a valid phone number.",
     "errors": [{"field": "to", "detail": "'555-12' is not a valid phone number."}]}

`errors` names each field and its problem; `error` repeats `detail` for clients of the
first API, whose errors were {"error": "..."}. Hand-written (40 lines on DRF's own
handler, which keeps Retry-After and WWW-Authenticate): the packages for it are
unmaintained (drf-problems: 2022, RFC 7807) or unknown."""

from http import HTTPStatus

from django.http import JsonResponse
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

MEDIA_TYPE = "application/problem+json"
ASK_FOR_CREDENTIALS = "Send an API token: 'Authorization: Bearer <token>'."


class Conflict(exceptions.APIException):
    """The request is fine but the resource's state refuses it (a campaign that cannot start)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The resource's current state does not allow this."


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be carried out as sent."


def field_errors(detail, path: str = "") -> list[dict]:
    """DRF's nested error lists and dicts as one flat list of {field, detail}."""
    if isinstance(detail, dict):
        return [
            error
            for key, value in detail.items()
            for error in field_errors(
                value,
                path if key in ("non_field_errors", "detail") else f"{path}.{key}" if path else str(key),
            )
        ]
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": path or None, "detail": str(item)} for item in detail]
        return [
            error
            for index, item in enumerate(detail)
            for error in field_errors(item, f"{path}.{index}" if path else str(index))
        ]
    return [{"field": path or None, "detail": str(detail)}]


def problem(status_code: int, detail: str, errors: list[dict] | None = None) -> dict:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        "error": detail,
    }
    if errors:
        body["errors"] = errors
    return body


def problem_details(exc, context):
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: Django's 500, logged with its traceback
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(response.data)
        detail = " ".join(f"{e['field']}: {e['detail']}" if e["field"] else e["detail"] for e in errors)
        response.data = problem(response.status_code, detail, errors)
    elif isinstance(exc, exceptions.NotAuthenticated):
        response.data = problem(response.status_code, ASK_FOR_CREDENTIALS)
    else:
        response.data = problem(response.status_code, str(getattr(exc, "detail", exc)))
    response.content_type = MEDIA_TYPE
    return response


def not_found(request, exception):
    """Django's 404 for an address no view answers: a problem under /api/, else the page."""
    if request.path.startswith("/api/"):
        body = problem(404, "There is nothing at this address.")
        return JsonResponse(body, status=404, content_type=MEDIA_TYPE)
    return page_not_found(request, exception)


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "error": {"type": "string", "description": "The same as detail (the first API's error field)."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True, "description": "e.g. leads.3.phone"},
                    "detail": {"type": "string"},
                },
                "required": ["field", "detail"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}
ERRORS_EVERYWHERE = {
    "401": "No token, or not a valid one.",
    "403": "The token lacks the scope.",
    "429": "Too many requests for this token: wait Retry-After seconds.",
}


def document_problems(result, generator, request, public):
    """drf-spectacular postprocessing: every operation's error answers are problem details."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            errors = dict(ERRORS_EVERYWHERE)
            if "{" in path:
                errors["404"] = "No such resource."
            if method in ("post", "put", "patch") or operation.get("parameters"):
                errors["400"] = "The request is not valid: `errors` names each field and its problem."
            for code, description in errors.items():
                operation["responses"].setdefault(code, {"description": description})
            for code, response in operation["responses"].items():
                if code.startswith(("4", "5")):
                    response["content"] = reference
    return result
