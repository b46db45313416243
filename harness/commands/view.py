"""`harness view [RUN]`: serve a run's HTML report on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import threading
import webbrowser
from pathlib import Path

import click


@click.command("view")
@click.argument("run", required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="Port (default: any).")
@click.option("--open", "open_browser", is_flag=True, help="Open the report in a browser.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="harness.yaml")
def command(run: str | None, port: int, open_browser: bool, config_path: Path | None) -> None:
    """Serve RUN's report (a run id or directory; default: the latest run) on 127.0.0.1 and
    print its URL. Stops on Ctrl-C.

    Exit status: 0 when stopped, 2 when there is no such run or no report.html in it.
    """
    from harness.config import load_config
    from harness.errors import ConfigError
    from harness.runs import resolve_run

    config = load_config(config_path)
    run_dir = resolve_run(config.path(config.reports_dir), run)
    if not (run_dir / "report.html").is_file():
        raise ConfigError(
            f"no report.html in {run_dir}", hint=f"`harness report {run_dir}` writes it"
        )
    handler = functools.partial(_Quiet, directory=str(run_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    url = f"http://127.0.0.1:{server.server_address[1]}/report.html"
    click.echo(f"Serving {run_dir.name}: {url}  (Ctrl-C to stop)", nl=True)
    if open_browser:
        threading.Timer(0.2, webbrowser.open, args=(url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return
