"""WebSocket routes. Each consumer checks its own caller: Twilio's signature for the
media stream, the staff session for the dashboard."""

websocket_urlpatterns: list = []
