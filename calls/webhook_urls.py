"""Twilio's webhook paths: fixed, because the Twilio console and the emulator name them."""

from django.urls import path

from calls import webhooks

urlpatterns = [
    path("voice/", webhooks.voice, name="twilio-voice"),
    path("status/", webhooks.status_callback, name="twilio-status"),
    path("amd/", webhooks.amd_callback, name="twilio-amd"),
    path("connect/", webhooks.connect, name="twilio-connect"),
    path("dial/<int:attempt_id>/", webhooks.dial_action, name="twilio-dial"),
    path("dial/<int:attempt_id>/answered/", webhooks.dial_answered, name="twilio-dial-answered"),
    path("conference/<int:attempt_id>/", webhooks.conference_status, name="twilio-conference"),
]
