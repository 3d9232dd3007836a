"""What kind of failure an upstream error is, and so what the router does next."""

from __future__ import annotations

from gatehouse.errors import (
    GatehouseError,
    RateLimited,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
)

#: Failure classes after which another deployment of the same model may succeed.
RETRY_SAME_MODEL = frozenset({"rate_limited", "timeout", "server_error"})


def failure_class(err: GatehouseError) -> str | None:
    """The failure class of an error, or None for one the client caused.

    ``context_window`` and ``content_filter`` are client-side rejections that another
    model (a fallback) may still serve; any other 4xx is returned to the client.
    """
    if isinstance(err, UpstreamRejected):
        if err.code == "context_length_exceeded":
            return "context_window"
        if err.code == "content_filter":
            return "content_filter"
        return None
    if isinstance(err, RateLimited):
        return "rate_limited"
    if isinstance(err, UpstreamTimeout):
        return "timeout"
    if isinstance(err, UpstreamError):
        return "server_error"
    return None
