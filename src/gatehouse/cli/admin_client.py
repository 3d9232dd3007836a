"""Talking to a running gateway's admin API from the command line."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import typer
from rich.console import Console

DEFAULT_URL = "http://127.0.0.1:8080"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would send the Authorization header (an admin key) on
    to whatever host the redirect names."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


_opener = urllib.request.build_opener(_NoRedirects)
# gatehouse.guard.access.ADMIN_KEY_ENV, not imported: it pulls in the store (slow start).
ADMIN_KEY_ENV = "GATEHOUSE_ADMIN_KEY"
err = Console(stderr=True)


def admin_get(url: str, path: str, query: dict[str, str] | None = None) -> Any:
    """GET an admin endpoint with the key in ``GATEHOUSE_ADMIN_KEY``; exit 1 on failure.

    Any key with a role the endpoint grants will do, not only the gateway's bootstrap
    admin key: a viewer's reads stats and deployments, an operator's the request log.
    """
    key = os.environ.get(ADMIN_KEY_ENV, "")
    if not key:
        err.print(
            f"set {ADMIN_KEY_ENV} to a key of the gateway with the viewer role or above "
            "(operator for `logs tail`): the gateway's own bootstrap admin key, or one made "
            "with `gatehouse keys create --role viewer`",
            markup=False,
        )
        raise typer.Exit(1)
    base = url.rstrip("/")
    if base.endswith("/v1"):  # the base URL clients use; the admin API is beside it
        base = base[:-3]
    if not base.startswith(("http://", "https://")):
        err.print(f"--url must be an http:// or https:// URL, got {url!r}", markup=False)
        raise typer.Exit(2)
    full = base + path
    if query:
        full += "?" + urllib.parse.urlencode(query)
    try:
        request = urllib.request.Request(full, headers={"Authorization": f"Bearer {key}"})
        with _opener.open(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        if exc.code in (401, 403):  # the server can't know where the CLI got the key
            message = f"{message} (the key sent is ${ADMIN_KEY_ENV})"
        elif 300 <= exc.code < 400:
            where = exc.headers.get("Location", "?")
            message = f"redirected to {where}; not followed (the key would go along)"
        err.print(f"{full}: HTTP {exc.code}: {message}", markup=False)
        raise typer.Exit(1) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        err.print(f"cannot reach {full}: {exc}", markup=False)
        raise typer.Exit(1) from None
