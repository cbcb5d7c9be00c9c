"""Untrusted text inside Streamlit markdown: names, product names, ids and the ``?customer=`` value.

Everything Ordergroove returns and everything in the URL is data, never markup: a product named
``![x](https://evil/pixel)`` must read as those characters, not make every viewer's browser load
a remote image. Streamlit's markdown is CommonMark plus GFM, directives (``:red[…]``,
``:material/icon:``), emoji shortcodes and ``$…$`` maths, so :func:`text` backslash-escapes every
ASCII punctuation character (CommonMark's escapable set, which covers all of those) and flattens
line breaks; :func:`code` builds a code span whose fence no backtick in the value can close.

>>> print(text("**x**"))
\\*\\*x\\*\\*
>>> code("a`b")
'`` a`b ``'
"""

from __future__ import annotations

import re
import string

_PUNCTUATION = frozenset(string.punctuation)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_BACKTICKS = re.compile(r"`+")
_SCHEME = re.compile(r"://")
_WWW = re.compile(r"(?i)\b(www)\.")
_ZWSP = "\u200b"


def _flat(value: object) -> str:
    """One line: control characters and line breaks become a single space."""
    return _CONTROL.sub(" ", "" if value is None else str(value))


def text(value: object) -> str:
    """``value`` as literal markdown text (bold it, italicise it, nothing inside it is markup).

    GFM also turns bare ``https://…`` and ``www.…`` into links after escapes are resolved, so a
    zero-width space goes into those two triggers (emails may still become ``mailto:`` links).
    """
    flat = _WWW.sub(r"\1" + _ZWSP + ".", _SCHEME.sub(":" + _ZWSP + "//", _flat(value)))
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in flat)


def code(value: object) -> str:
    """``value`` as an inline code span, whatever backticks it holds."""
    raw = _flat(value)
    longest = max((len(run) for run in _BACKTICKS.findall(raw)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or raw.startswith(" ") or raw.endswith(" ") else ""
    return f"{fence}{pad}{raw}{pad}{fence}" if raw else "` `"


def file_part(value: object) -> str:
    """``value`` reduced to characters safe in a download's file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", _flat(value)).strip("._") or "customer"
