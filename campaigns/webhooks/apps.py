from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "campaigns.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
