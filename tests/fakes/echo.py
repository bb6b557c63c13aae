"""What a careless upstream puts in an error body: the request it got, headers included.

The fakes' "echo" failure answers an error whose message is this text, as some proxies
and debug endpoints do; Pulso must not carry the credential in it any further.
"""

from __future__ import annotations

from collections.abc import Mapping


def echo_request(method: str, path: str, headers: Mapping[str, str]) -> str:
    """The request line and every header, one per line, as the server received them."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers.items())]
    return "You sent:\n" + "\n".join(lines)
