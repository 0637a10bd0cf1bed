"""Service health: ``systemd:UNIT``, ``tcp:HOST:PORT`` or an ``http(s)://`` URL.

An HTTP check follows redirects as urllib does (at most 10; http to https and back included) and
judges the final status: up on 2xx/3xx, or only on the statuses the check names
(``URL#200+204``). A 3xx is final only when it cannot be followed (no Location, 304, a loop). The
code goes into the snapshot (``http_status``) whatever it is.
"""

from __future__ import annotations

import shutil
import socket
from functools import partial

from argus_cli.children import run_tool
from argus_cli.collectors.context import CollectContext
from argus_cli.config import ServiceCheck
from argus_cli.snapshot import ServiceStatus
from argus_cli.text import truncate

CHECK_TIMEOUT = 3.0  # below the collector timeout, so one slow check cannot hide the others


def collect(ctx: CollectContext) -> tuple[ServiceStatus, ...]:
    checks = ctx.config.services
    if not checks:
        return ()
    from concurrent.futures import ThreadPoolExecutor  # hosts without checks never load it

    with ThreadPoolExecutor(max_workers=min(8, len(checks))) as pool:
        check = partial(check_service, systemctl=ctx.config.systemctl_bin)
        return tuple(pool.map(check, checks))


def check_service(svc: ServiceCheck, timeout: float = CHECK_TIMEOUT, *,
                  systemctl: str = "systemctl") -> ServiceStatus:
    code: int | None = None
    if svc.check.startswith("systemd:"):
        status, detail = check_systemd(svc.check[8:], timeout, systemctl)
    elif svc.check.startswith("tcp:"):
        host, _, port = svc.check[4:].rpartition(":")
        status, detail = check_tcp(host, int(port), timeout)
    else:
        status, code, detail = check_http(svc.check, timeout, svc.expect)
    return ServiceStatus(name=svc.name, check=svc.check, status=status, http_status=code,
                         detail=truncate(detail, 200))


def check_systemd(unit: str, timeout: float, systemctl: str = "systemctl") -> tuple[str, str]:
    """``systemctl is-active``'s word as up/down; a missing or hung systemctl is unknown, not down."""
    if shutil.which(systemctl) is None:
        return "unknown", "systemctl not found"
    run = run_tool([systemctl, "is-active", "--", unit], timeout=timeout)
    if run.timed_out:
        return "unknown", f"systemctl is-active timed out after {timeout:g}s"
    if run.error:
        return "unknown", run.error
    state = run.stdout.strip() or run.stderr.strip()
    if state == "active":
        return "up", "active"
    if state in ("inactive", "failed", "deactivating"):
        return "down", state
    return "unknown", state or f"systemctl exit {run.returncode}"


def check_tcp(host: str, port: int, timeout: float) -> tuple[str, str]:
    try:
        with socket.create_connection((host.strip("[]"), port), timeout=timeout):
            return "up", f"connected to {host}:{port}"
    except socket.gaierror as exc:
        return "unknown", f"cannot resolve {host}: {exc.strerror}"
    except TimeoutError:
        return "down", f"connect to {host}:{port} timed out after {timeout:g}s"
    except OSError as exc:
        return "down", f"connect to {host}:{port}: {exc.strerror or exc}"


def expected_text(expect: tuple[int, ...]) -> str:
    """The statuses that mean up, as the detail names them: ``2xx/3xx`` or ``200/204``."""
    return "/".join(map(str, expect)) if expect else "2xx/3xx"


def check_http(url: str, timeout: float, expect: tuple[int, ...] = ()) -> tuple[str, int | None, str]:
    """(status, final HTTP code or None without an answer, detail). Up when the code is one of
    ``expect``, or any 2xx/3xx when it is empty."""
    import http.client  # ~9 ms of imports that hosts without HTTP checks never need
    import urllib.error
    import urllib.request

    # The URL comes from the operator's config and was checked to be http(s) when it was loaded.
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "argus-healthcheck"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - operator URL
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, socket.gaierror):
            return "unknown", None, f"cannot resolve host: {reason.strerror}"
        return "down", None, f"GET failed: {getattr(reason, 'strerror', None) or reason}"
    except (TimeoutError, OSError) as exc:
        return "down", None, f"GET failed: {exc}"
    except (http.client.HTTPException, ValueError) as exc:
        # Not HTTP (a bad status line, too many headers, a Location no URL may hold): the
        # exception's text is the server's own words, so only its kind is kept. Nothing of a
        # reply but its status code is ever reported.
        return "down", None, f"GET failed: the reply is not valid HTTP ({type(exc).__name__})"
    up = code in expect if expect else 200 <= code < 400
    # A default up says only the code; otherwise the detail says what would have been up.
    shown = f"HTTP {code}" if up and not expect else f"HTTP {code} (expected {expected_text(expect)})"
    return ("up" if up else "down"), code, shown
