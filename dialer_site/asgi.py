"""ASGI entry point: HTTP through Django, WebSockets through Channels routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dialer_site.settings")
# Django must be set up before the consumers (and their models) are imported.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from dialer_site.routing import staff_websocket_urlpatterns, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                # Staff pages under ws/: the session cookie identifies the user, so only our
                # own hosts may open them (no cross-site WebSocket hijacking).
                re_path(
                    r"^ws/",
                    AllowedHostsOriginValidator(
                        AuthMiddlewareStack(URLRouter(staff_websocket_urlpatterns))
                    ),
                ),
                # Everything else (Twilio's media stream) carries no cookie and no browser
                # Origin; its consumer checks Twilio's signature instead.
                re_path(r"", URLRouter(websocket_urlpatterns)),
            ]
        ),
    }
)
