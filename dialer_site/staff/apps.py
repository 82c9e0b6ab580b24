from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "dialer_site.staff"
    label = "staff"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from dialer_site.staff.time_zones import remember_profile_zone

        user_logged_in.connect(remember_profile_zone, dispatch_uid="staff-time-zone")
