"""Profile the warm lookup path with pyinstrument and say where its time goes.

:func:`profile_warm` runs N warm in-process lookups under the sampling profiler, writes the
HTML and text reports, and returns two rankings: the hottest frames by self time, and our own
functions (``app/…``) charged with everything they call in libraries, which answers "which part
of our warm path is slowest" without reading the whole call tree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

APP_MARK = "/app/"


@dataclass
class ProfileSummary:
    lookups: int
    seconds: float
    top_self: list[tuple[str, float]]  # (frame, share of samples)
    top_app: list[tuple[str, float]]  # (our function incl. library calls below it, share)
    text_path: Path
    html_path: Path
    top_module: list[tuple[str, float]] = field(default_factory=list)


def _label(frame: Any) -> str:
    path = frame.file_path_short or frame.file_path or "?"
    return f"{frame.function} ({path}:{frame.line_no})"


def _is_ours(frame: Any) -> bool:
    path = frame.file_path or ""
    return APP_MARK in path and "/app/bench/" not in path and "site-packages" not in path


def rank(root: Any) -> tuple[dict[str, float], dict[str, float]]:
    """Self time per frame, and self time charged to the innermost enclosing ``app/`` function.

    Self time is a frame's time minus its children's; pyinstrument's synthetic ``[self]`` leaves
    are charged to the function they belong to.
    """
    by_self: dict[str, float] = defaultdict(float)
    by_app: dict[str, float] = defaultdict(float)
    stack: list[tuple[Any, str | None, str]] = [(root, None, "?")]
    while stack:
        frame, owner, parent_label = stack.pop()
        synthetic = frame.function.startswith("[") if frame.function else False
        label = parent_label if synthetic else _label(frame)
        if not synthetic and _is_ours(frame):
            owner = label
        own = frame.time - sum(child.time for child in frame.children)
        if own > 0:
            by_self[label] += own
            by_app[owner or "(outside app/: Flask, Werkzeug, test client)"] += own
        stack.extend((child, owner, label) for child in frame.children)
    return by_self, by_app


def profile_warm(prepare: Callable[[int], Any], run: Callable[[Any], Any], lookups: int, out_dir: Path, *,
                 interval: float = 0.0002, top: int = 12) -> ProfileSummary:
    """Profile ``run(prepare(lookups))`` (warm lookups; preparing, e.g. signing, is not profiled)
    and write profile.txt / profile.html."""
    from pyinstrument import Profiler

    prepared = prepare(lookups)
    profiler = Profiler(interval=interval)
    profiler.start()
    run(prepared)
    session = profiler.stop()
    out_dir.mkdir(parents=True, exist_ok=True)
    text_path, html_path = out_dir / "profile.txt", out_dir / "profile.html"
    text_path.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    html_path.write_text(profiler.output_html())
    root = session.root_frame()
    total = root.time if root is not None else 0.0
    by_self, by_app = rank(root) if root is not None else ({}, {})
    by_module: dict[str, float] = defaultdict(float)
    for name, seconds in by_app.items():
        by_module[_module_of(name)] += seconds

    def shares(table: dict[str, float]) -> list[tuple[str, float]]:
        ordered = sorted(table.items(), key=lambda item: item[1], reverse=True)[:top]
        return [(name, seconds / total if total else 0.0) for name, seconds in ordered]

    with text_path.open("a") as fh:
        fh.write("\n\nSelf time by frame:\n")
        for name, share in shares(by_self):
            fh.write(f"  {share:6.1%}  {name}\n")
        fh.write("\nTime charged to our own functions (library calls below them included):\n")
        for name, share in shares(by_app):
            fh.write(f"  {share:6.1%}  {name}\n")
        fh.write("\nTime charged to our own modules (library calls below them included):\n")
        for name, share in shares(by_module):
            fh.write(f"  {share:6.1%}  {name}\n")
    return ProfileSummary(lookups, session.duration, shares(by_self), shares(by_app), text_path, html_path,
                          top_module=shares(by_module))


def _module_of(label: str) -> str:
    """``parse_datetime (app/ordergroove/parsing.py:80)`` → ``app/ordergroove/parsing.py``."""
    if "(" not in label or ".py" not in label:
        return label
    inside = label.rsplit("(", 1)[1]
    return inside.split(":", 1)[0].rstrip(")")
