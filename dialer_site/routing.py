"""WebSocket routes. Each consumer checks its own caller: Twilio's signature for the
media stream, the staff session for the dashboard."""

from django.urls import path

from calls.consumers import MediaStreamConsumer
from calls.dashboard_consumer import DashboardConsumer
from calls.talk_consumer import BrowserTalkConsumer

websocket_urlpatterns: list = [path("twilio/stream/", MediaStreamConsumer.as_asgi())]
# Relative to ws/; asgi.py puts these behind the session (AuthMiddlewareStack) and Origin checks.
staff_websocket_urlpatterns = [
    path("dashboard/", DashboardConsumer.as_asgi()),
    path("campaigns/<int:campaign_id>/talk/", BrowserTalkConsumer.as_asgi()),
]
