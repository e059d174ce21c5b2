"""Scrub exception text before it is stored or shown: no secrets, no huge blobs."""

import re

#: Enough to recognise an error; a traceback-sized message is cut here.
MAX_MESSAGE = 500

_PATTERNS = [
    # user:password@ in URLs (database, broker, SMTP)
    (re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]*:[^/\s@]*@", re.I), r"\g<scheme>***@"),
    # key=value / key: value for names that hold secrets
    (
        re.compile(
            r"(?P<key>(?:password|passwd|pwd|secret|token|api[_-]?key|authorization|cookie)"
            r"[\"']?\s*[:=]\s*)(?P<q>[\"']?)[^\s\"',;]+",
            re.I,
        ),
        r"\g<key>\g<q>***",
    ),
    # bearer tokens and our own API tokens
    (re.compile(r"\b(bearer\s+)\S+", re.I), r"\1***"),
    (re.compile(r"\btc_[A-Za-z0-9_-]{10,}"), "tc_***"),
]


def scrub(text: str) -> str:
    """Return `text` with credentials masked and cut to MAX_MESSAGE characters."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
