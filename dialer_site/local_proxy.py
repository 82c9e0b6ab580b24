"""nginx in front of several web processes on one machine (`make run` with WEB_PROCESSES > 1):
the config it runs with, written under .run/, proxying exactly as production does — it
includes deploy/nginx-proxy.conf, which deploy/nginx.conf includes too."""

from pathlib import Path

# Found from this file, not from Django's settings: the benches write this config too.
PROXY_RULES = Path(__file__).resolve().parent.parent / "deploy" / "nginx-proxy.conf"

CONFIG = """# Written by `make run` (dialer_site/local_proxy.py); rewritten at every start.
daemon off;
worker_processes 1;
pid {run_dir}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 1024; }}
http {{
    log_format upstreams '$remote_addr "$request" $status upstream=$upstream_addr ($upstream_status)';
    access_log {run_dir}/access.log upstreams;
    client_body_temp_path {run_dir}/body;
    proxy_temp_path {run_dir}/proxy;
    fastcgi_temp_path {run_dir}/fastcgi;
    uwsgi_temp_path {run_dir}/uwsgi;
    scgi_temp_path {run_dir}/scgi;
    upstream dialer_web {{
        least_conn;
{servers}
    }}
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    server {{
        listen {host}:{port};
        client_max_body_size 60m;
        location / {{ include {proxy_rules}; }}
    }}
}}
"""


def write_config(run_dir: Path, host: str, port: int, upstreams: list[str]) -> Path:
    """nginx on host:port over the web processes at `upstreams` ("address:port" each);
    returns the file."""
    (run_dir / "logs").mkdir(parents=True, exist_ok=True)  # nginx opens logs/error.log before the config
    # nginx's workers run as nobody when started as root: let them buffer an upload.
    (run_dir / "body").mkdir(mode=0o1777, exist_ok=True)
    (run_dir / "body").chmod(0o1777)
    servers = "\n".join(f"        server {upstream};" for upstream in upstreams)
    path = run_dir / "nginx.conf"
    path.write_text(CONFIG.format(run_dir=run_dir, servers=servers, host=host, port=port,
                                  proxy_rules=PROXY_RULES))
    return path


def command(config: Path) -> list[str]:
    return ["nginx", "-p", str(config.parent), "-c", str(config)]
