from django.urls import path

from calls import views

urlpatterns = [
    path("", views.call_list, name="call-list"),
    path("inbound/", views.inbound, name="inbound"),
    path("<int:call_id>/", views.call_detail, name="call-detail"),
    path("<int:call_id>/live.json", views.call_live, name="call-live"),
    path("<int:call_id>/recording/", views.call_recording, name="call-recording"),
    path("recordings/<str:token>/", views.call_recording_by_link, name="call-recording-link"),
]
