"""The service's API key: read once at start-up, checked on every /v1 request in constant time."""

from __future__ import annotations

import hmac

from worker.errors import ConfigError
from worker.settings import ServiceSettings


def load_api_key(service: ServiceSettings) -> bytes:
    """`service.api_key` (PATCH_WORKER_SERVICE__API_KEY), else the contents of `service.api_key_file`.

    ConfigError (exit 2) when there is none, the file cannot be read, or the key is empty.
    """
    if service.api_key is not None:
        key = service.api_key.get_secret_value().strip()
        where = "service.api_key"
    elif service.api_key_file is not None:
        try:
            key = service.api_key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read service.api_key_file {service.api_key_file}: {exc}") from None
        where = f"service.api_key_file ({service.api_key_file})"
    else:
        raise ConfigError(
            "no API key: set PATCH_WORKER_SERVICE__API_KEY (or service.api_key_file, a mounted secret); "
            "every /v1 request must send it as 'Authorization: Bearer KEY'"
        )
    if not key:
        raise ConfigError(f"{where} is empty")
    return key.encode()


def bearer_matches(header: str | None, key: bytes) -> bool:
    """True when an Authorization header carries `key` as its bearer token (compared in constant time)."""
    if header is None:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # a header may carry any bytes (aiohttp keeps undecodable ones as surrogates): never let them raise
    return hmac.compare_digest(token.strip().encode("utf-8", "replace"), key)
