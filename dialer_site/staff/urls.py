from django.urls import path

from dialer_site.staff import views

urlpatterns = [path("", views.profile, name="staff-profile")]
