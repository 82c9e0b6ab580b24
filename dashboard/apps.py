from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"

    def ready(self) -> None:
        from campaigns.lifecycle import campaign_changed
        from dashboard.stats import publish_campaign

        # Every transition, whoever made it, reaches the open pages once it is committed.
        campaign_changed.connect(publish_campaign, dispatch_uid="dashboard.publish_campaign")
