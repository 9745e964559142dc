"""``ketamine-ptsd serve [--db URL] [--host 127.0.0.1] [--port 8000] [--trusted-proxy ADDR]``: the
web app and the API.

SYSTEM.md §Main commands. Binds to the loopback interface by default (a site puts a TLS proxy in
front to serve a ward). The database must already be migrated (``ketamine-ptsd db upgrade``);
the command says so in one line instead of starting a server that fails on every page.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from ketamine_ptsd.adapters.cli.calculators import ProtocolDirOption, use_protocol_dirs
from ketamine_ptsd.adapters.cli.output import fail
from ketamine_ptsd.adapters.settings import display_url, resolve_database_url

__all__ = ["register"]

SECRET_ENV = "KETAMINE_PTSD_SECRET_KEY"
#: The site's IANA time zone for the pages (e.g. Europe/London); UTC when unset.
TIMEZONE_ENV = "KETAMINE_PTSD_SITE_TIMEZONE"


def _serve(
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Database URL or SQLite file (default: "
            "$KETAMINE_PTSD_DATABASE_URL, then the user data dir).",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Mark cookies Secure (behind HTTPS).")
    ] = False,
    protocol_dir: ProtocolDirOption = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="Address or network of a reverse proxy whose X-Forwarded-For names the client "
            "(repeatable; without it the header is ignored).",
        ),
    ] = None,
) -> None:
    """Start the web app and the REST API (/api/v1, OpenAPI at /api/v1/openapi.json)."""
    site_dirs = use_protocol_dirs(protocol_dir)
    import uvicorn

    from ketamine_ptsd.adapters.db.migrate import current_revision, head_revision
    from ketamine_ptsd.adapters.web.app import create_app
    from ketamine_ptsd.adapters.web.config import WebSettings

    try:
        url = resolve_database_url(db)
    except ValueError as exc:
        fail(str(exc))
    try:
        revision = current_revision(url)
    except Exception as exc:  # one line, never a traceback (SYSTEM.md)
        fail(f"cannot open the database at {display_url(url)}: {type(exc).__name__}")
    if revision != head_revision():
        fail(f"the database at {display_url(url)} is not migrated; run `ketamine-ptsd db upgrade`")
    kwargs = {}
    secret = os.environ.get(SECRET_ENV)
    if secret:
        kwargs["secret_key"] = secret
    zone = os.environ.get(TIMEZONE_ENV)
    if zone:
        kwargs["site_timezone"] = zone
    try:
        settings = WebSettings(
            database_url=url,
            cookie_secure=secure_cookies,
            trusted_proxies=tuple(trusted_proxy or ()),
            protocol_dirs=site_dirs,
            **kwargs,
        )
    except ValueError as exc:
        fail(str(exc))
    app = create_app(settings)
    typer.echo(f"serving {display_url(url)} on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(_serve)
