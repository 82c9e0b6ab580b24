"""Run one web process (what the Procfile and deploy/dialer-web@.service run): daphne's
server with admission control, a heartbeat to Redis, /metrics, and a SIGTERM that drains
live calls before exiting (dialer_site.web_server). Use it instead of the `daphne` command."""

from django.core.management.base import BaseCommand

from dialer_site.env import env_int, env_str


class Command(BaseCommand):
    help = "Serve HTTP and WebSockets on one port; SIGTERM drains live calls, then exits."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=env_str("DIALER_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env_int("PORT", 8000))
        parser.add_argument("--proxy-headers", action="store_true",
                            help="Trust X-Forwarded-For/-Port/-Proto (behind nginx).")
        parser.add_argument("--no-access-log", action="store_true")

    def handle(self, *args, host, port, proxy_headers, no_access_log, **options):
        from dialer_site.asgi import application
        from dialer_site.web_server import WebServer

        interface = host.strip("[]").replace(":", r"\:")  # Twisted's endpoint syntax escapes colons
        endpoint = f"tcp:port={port}:interface={interface}"
        WebServer(application, [endpoint], proxy_headers=proxy_headers, access_log=not no_access_log).run()
