from django.conf import settings


def client_ip(request) -> str | None:
    """The client's address: the peer's, or, behind `TRUSTED_PROXY_COUNT` proxies,
    the one the outermost trusted proxy saw (never a value the client chose)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()
        ]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None
