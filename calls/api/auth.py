"""Bearer tokens (ApiToken, stored as SHA-256) with scopes, and a rate limit per token."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from calls.models import ApiToken

# last_used_at is for people ("is this token still used?"): a write a minute is plenty.
LAST_USED_PRECISION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None  # the permission check then answers 401, asking for a token
        api_token = ApiToken.objects.filter(token_hash=ApiToken.digest(token), revoked=False).first()
        if api_token is None:
            raise exceptions.AuthenticationFailed("This API token is not valid or has been revoked.")
        now = timezone.now()
        if not api_token.last_used_at or api_token.last_used_at < now - LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        return None, api_token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class ScopePermission(permissions.BasePermission):
    """GET and HEAD need `read`; changes need the view's `write_scope` (`write` by default)."""

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return False  # DRF answers 401 (problems.ASK_FOR_CREDENTIALS)
        needed = (
            ApiToken.Scope.READ
            if request.method in permissions.SAFE_METHODS
            else getattr(view, "write_scope", ApiToken.Scope.WRITE)
        )
        if needed not in request.auth.scopes:
            self.message = f"This token does not have the '{needed}' scope."
            return False
        return True


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """settings.API_RATE_LIMIT requests per token, counted in Redis across every web
    process; DRF answers 429 with Retry-After beyond it."""

    scope = "token"

    def get_rate(self):
        return settings.API_RATE_LIMIT

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None  # refused anyway
        return f"api-rate:{request.auth.token_hash}"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token made in the admin (API tokens → Add), with its scopes.",
        }
