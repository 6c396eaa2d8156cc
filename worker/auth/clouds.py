"""National clouds: the login host and the Graph host come in pairs, and a token is only good for its pair.

The hosts are Microsoft's published national-cloud endpoints (Entra ID authentication endpoints and Microsoft
Graph national cloud deployments).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from worker.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Cloud:
    """One national cloud: where tokens come from and which Graph they are for."""

    name: str
    login_host: str
    graph_root: str

    @property
    def authority_host(self) -> str:
        """The login URL that tenant authorities hang under."""
        return f"https://{self.login_host}"

    @property
    def scope(self) -> str:
        """The client-credentials scope: every application permission granted to the app on this Graph."""
        return f"{self.graph_root}/.default"


CLOUDS: dict[str, Cloud] = {
    "global": Cloud("global", "login.microsoftonline.com", "https://graph.microsoft.com"),
    "usgov": Cloud("usgov", "login.microsoftonline.us", "https://graph.microsoft.us"),
    "usgov-dod": Cloud("usgov-dod", "login.microsoftonline.us", "https://dod-graph.microsoft.us"),
    "china": Cloud("china", "login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
}

_GLOBAL_GRAPH_HOST = "graph.microsoft.com"
_GRAPH_HOSTS = {urlsplit(cloud.graph_root).hostname: name for name, cloud in CLOUDS.items()}


def cloud_named(name: str) -> Cloud:
    """The cloud called `name` (one of CLOUDS); ConfigError otherwise."""
    try:
        return CLOUDS[name]
    except KeyError:
        raise ConfigError(f"auth.cloud must be one of {', '.join(CLOUDS)}; got {name!r}") from None


def graph_base_url(base_url: str, cloud: Cloud) -> str:
    """The Graph base URL for `cloud`.

    A base URL on the global Graph host (the default) moves to the cloud's Graph host, keeping its path
    (/beta, /v1.0); one on another cloud's Graph host is a ConfigError (the token would not be valid there);
    any other URL (the emulator, a proxy) is used as given.
    """
    parts = urlsplit(base_url)
    host = parts.hostname
    if host == _GLOBAL_GRAPH_HOST:
        root = urlsplit(cloud.graph_root)
        return urlunsplit((root.scheme, root.netloc, parts.path, parts.query, parts.fragment)).rstrip("/")
    other = _GRAPH_HOSTS.get(host)
    if other is not None and urlsplit(cloud.graph_root).hostname != host:
        raise ConfigError(
            f"graph.base_url {base_url} is on the {other} cloud's Graph but auth.cloud is {cloud.name}: "
            f"set auth.cloud: {other}, or leave graph.base_url on graph.microsoft.com"
        )
    return base_url.rstrip("/")
