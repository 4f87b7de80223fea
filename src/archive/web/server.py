"""`archive serve`: uvicorn serving the web application of one archive home."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path

from archive.errors import UsageError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_warning(host: str, tls: bool) -> str | None:
    """The warning printed when the server would carry passwords in clear over a network."""
    if tls or is_loopback(host):
        return None
    return (f"警告：监听 {host} 但没有启用 TLS，密码和个人信息会以明文经过办公网络。"
            "请用 --certfile/--keyfile 启用 HTTPS，或放在配置了 HTTPS 的 nginx 之后（见 README「网页」一节）。")


def serve(root: Path, *, host: str = "127.0.0.1", port: int = 8000, certfile: str | None = None,
          keyfile: str | None = None, https_proxy: bool = False, echo: Callable[[str], None] = print) -> None:
    """Serve the archive home. `https_proxy`: plain HTTP on this machine behind a proxy that
    terminates TLS (nginx), so cookies are still marked Secure. A proxy on this machine may
    name the client address (X-Forwarded-For), so failed logins are counted per real client."""
    import uvicorn

    from archive.web.app import create_app
    from archive.web.auth import WebSettings

    if bool(certfile) != bool(keyfile):
        raise UsageError("--certfile 和 --keyfile 要同时给出")
    tls = bool(certfile)
    if https_proxy and not is_loopback(host):
        raise UsageError("--https-proxy 时只能监听本机地址（如 127.0.0.1），由本机的 nginx 对外提供 HTTPS")
    warning = plain_http_warning(host, tls)
    if warning:
        echo(warning)
    app = create_app(root, WebSettings(root=root, https=tls or https_proxy))
    scheme = "https" if tls else "http"
    shown = f"[{host}]" if ":" in host else host
    echo(f"网页版：{scheme}://{shown}:{port}/ （档案库 {root}；按 Ctrl+C 停止）")
    uvicorn.run(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile,
                log_level="warning", server_header=False, proxy_headers=True, forwarded_allow_ips="127.0.0.1")
