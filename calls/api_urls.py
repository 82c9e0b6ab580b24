from django.urls import path

from calls import api

urlpatterns = [
    path("calls/", api.create_call, name="api-call-create"),
    path("calls/<int:call_id>/", api.call_detail, name="api-call-detail"),
]
