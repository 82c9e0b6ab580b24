from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dialer_site.dashboard"
    label = "dashboard"

    def ready(self) -> None:
        from calls.live_pacing import refresher
        from campaigns.imports.writing import leads_written
        from campaigns.lifecycle import campaign_changed
        from dialer_site.dashboard import live_figures

        # The dashboard socket's figures come from here (calls knows no dashboard).
        refresher.provide(live_figures.figures, live_figures.summary)
        # Every transition, whoever made it, reaches the open pages once it is committed.
        campaign_changed.connect(live_figures.publish_move, dispatch_uid="dashboard.publish_move")
        leads_written.connect(live_figures.publish_leads, dispatch_uid="dashboard.publish_leads")
