"""The unmatched view's shaping: one row per Gladly profile that fails to link, ready to act on.

Input is :meth:`EventStore.unmatched_profiles` (one row per Gladly customer id, else per email
hash, else per external id). Output adds what an admin reads first: who it is, what Gladly asked
for, the suggestion as a sentence and, when ``GLADLY_PROFILE_URL`` is set, a link to the profile.
Plain pandas, no Streamlit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import quote

import pandas as pd

PROFILE_URL_ENV = "GLADLY_PROFILE_URL"
COLUMNS = ["profile", "asked_for", "reason", "suggestion", "lookups", "first_seen", "last_seen", "gladly_link"]
SORTS = {
    "Most lookups": (["lookups", "last_seen"], [False, False]),
    "Last seen": (["last_seen", "lookups"], [False, False]),
    "First seen": (["first_seen", "lookups"], [True, False]),
}
_KIND_LABELS = {"gladly_id": "Gladly profile", "email_hash": "email only", "external_id": "external id only"}


def profile_url_template(env: Mapping[str, str] | None = None) -> str | None:
    """``GLADLY_PROFILE_URL`` when usable: http(s) with an ``{id}`` placeholder; else ``None``."""
    raw = ((os.environ if env is None else env).get(PROFILE_URL_ENV) or "").strip()
    if not raw.startswith(("https://", "http://")) or "{id}" not in raw:
        return None
    return raw


def profile_link(template: str | None, gladly_id: object) -> str | None:
    """The Gladly profile's URL (the id percent-encoded, so it stays one path segment)."""
    if not template or not isinstance(gladly_id, str) or not gladly_id:
        return None
    return template.replace("{id}", quote(gladly_id, safe=""))


def suggestion_text(suggestion: object) -> str | None:
    """``"7781203344"`` → ``"Ordergroove has customer 7781203344 with this profile's email"``."""
    if not isinstance(suggestion, str) or not suggestion.strip():
        return None
    ids = [part.strip() for part in suggestion.split(",") if part.strip()]
    if not ids:
        return None
    if len(ids) == 1:
        return f"Ordergroove has customer {ids[0]} with this profile's email"
    return f"Ordergroove has customers {', '.join(ids[:-1])} and {ids[-1]} with this profile's email"


def _asked_for(row: pd.Series) -> str:
    parts = []
    if row["external_customer_id"]:
        parts.append(f"id {row['external_customer_id']}")
    if row["masked_email"]:
        parts.append(f"email {row['masked_email']}")
    return " · ".join(parts) or "—"


def _profile(row: pd.Series) -> str:
    if row["gladly_customer_id"]:
        return str(row["gladly_customer_id"])
    label = _KIND_LABELS.get(row["key_kind"], "unknown")
    return f"({label})"


def shape(profiles: pd.DataFrame, template: str | None = None) -> pd.DataFrame:
    """The store's rows as the table shows them (:data:`COLUMNS`), in the store's order."""
    if profiles.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})
    rows = profiles.astype(object).where(profiles.notna(), None)
    out = pd.DataFrame({
        "profile": rows.apply(_profile, axis=1),
        "asked_for": rows.apply(_asked_for, axis=1),
        "reason": rows["reason"].fillna("—"),
        "suggestion": rows["suggestion"].map(suggestion_text),
        "lookups": profiles["lookups"].astype("int64"),
        "first_seen": profiles["first_seen"],
        "last_seen": profiles["last_seen"],
        "gladly_link": rows["gladly_customer_id"].map(lambda gid: profile_link(template, gid)),
    })
    return out[COLUMNS]


def reasons_in(table: pd.DataFrame) -> list[str]:
    """The distinct reasons, most profiles first (the filter's choices)."""
    return list(table["reason"].value_counts().index) if not table.empty else []


def narrow(table: pd.DataFrame, reasons: list[str] | None = None, text: str = "",
           sort: str = "Most lookups") -> pd.DataFrame:
    """Rows of the chosen reasons (all when empty) whose profile, ask or suggestion contains
    ``text`` (case-insensitive), in the chosen order."""
    out = table
    if reasons:
        out = out[out["reason"].isin(reasons)]
    needle = (text or "").strip().lower()
    if needle:
        hay = (out["profile"].fillna("") + " " + out["asked_for"].fillna("") + " "
               + out["suggestion"].fillna("")).str.lower()
        out = out[hay.str.contains(needle, regex=False)]
    columns, ascending = SORTS.get(sort, SORTS["Most lookups"])
    return out.sort_values(columns, ascending=ascending, kind="stable").reset_index(drop=True)


def to_csv(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV, times in ISO 8601 UTC."""
    out = table.copy()
    for column in ("first_seen", "last_seen"):
        if column in out.columns and not out.empty:
            out[column] = pd.to_datetime(out[column], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out.to_csv(index=False).encode("utf-8")
