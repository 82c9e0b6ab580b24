from django.apps import AppConfig


class DialerSiteConfig(AppConfig):
    name = "dialer_site"

    def ready(self) -> None:
        from dialer_site import checks  # noqa: F401  (registers the system checks)
