from django.urls import path

from campaigns import customer_views as views

urlpatterns = [
    path("", views.customer_list, name="customer-list"),
    path("<int:customer_id>/", views.customer_detail, name="customer-detail"),
    path("<int:customer_id>/do-not-call/add/", views.customer_dnc_add, name="customer-dnc-add"),
    path("<int:customer_id>/do-not-call/remove/", views.customer_dnc_remove, name="customer-dnc-remove"),
]
