"""Mounted at the site root: contact imports under /imports/, the results export under
/campaigns/<id>/ (dashboard.urls matches nothing there, so these are reached)."""

from django.urls import path

from campaigns.imports import views

urlpatterns = [
    path("imports/", views.import_list, name="import-list"),
    path("imports/<int:pk>/", views.import_detail, name="import-detail"),
    path("imports/<int:pk>/mapping/", views.import_mapping, name="import-mapping"),
    path("imports/<int:pk>/progress.json", views.import_progress, name="import-progress"),
    path("imports/<int:pk>/rejected.csv", views.import_rejected_csv, name="import-rejected-csv"),
    path("imports/<int:pk>/resume/", views.import_resume, name="import-resume"),
    path("campaigns/<int:campaign_id>/export.csv", views.campaign_export, name="campaign-export"),
]
