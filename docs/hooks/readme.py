"""A MkDocs hook: pages include sections of the README, so that both say the same thing once.

A page names a section with a line ``--8<-- "README.md:NAME"``; the README marks it with
``<!-- --8<-- [start:NAME] -->`` and ``<!-- --8<-- [end:NAME] -->`` lines, which GitHub does
not show. The README's examples run in the suite, so the pages' examples are tested too.

Links are rewritten for the page they land on: a link into ``docs/`` becomes relative to the
page, a README anchor whose section lives on another page points there, and a link to another
file of the repository (which the site does not publish) keeps only its text.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^--8<-- "README\.md:([\w-]+)"$', re.M)
LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")
FENCE = re.compile(r"(^```.*?^```)", re.M | re.S)

ANCHORS = {
    "#install": "index.md#install",
    "#callback-urls": "guides/http-api.md#callback-urls",
    "#encrypted-payloads": "guides/encryption.md",
    "#schedules": "guides/schedules.md#schedules",
    "#flow-control": "guides/schedules.md#flow-control",
    "#operating-it-metrics-logs-and-traces": "guides/operating.md#metrics-and-logs",
    "#traces": "guides/operating.md#traces",
    "#the-server-the-http-client-and-the-command-line": (
        "guides/http-api.md#the-server-the-http-client-and-the-command-line"
    ),
}
"""README anchors of sections that the site puts on a page of their own."""


def section(readme: str, name: str) -> str:
    """The README's lines between the section's markers."""
    start = f"<!-- --8<-- [start:{name}] -->\n"
    try:
        begin = readme.index(start) + len(start)
        return readme[begin : readme.index(f"<!-- --8<-- [end:{name}] -->", begin)]
    except ValueError:
        raise ValueError(f"README.md has no section marked {name!r}") from None


def relink(text: str, page_path: str) -> str:
    """Rewrite the links of README text (outside code blocks) for a page at ``page_path``."""
    here = posixpath.dirname(page_path) or "."

    def one(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if target in ANCHORS:
            return f"[{label}]({posixpath.relpath(ANCHORS[target], here)})"
        if target.startswith("docs/"):
            return f"[{label}]({posixpath.relpath(target.removeprefix('docs/'), here)})"
        if target.startswith("#") or "://" in target:
            return match.group(0)
        return label

    parts = FENCE.split(text)
    return "".join(part if part.startswith("```") else LINK.sub(one, part) for part in parts)


def on_page_markdown(markdown: str, /, *, page: Page, **_: object) -> str:
    """Replace each README include of a page with that section, its links rewritten for the page."""
    if not INCLUDE.search(markdown):
        return markdown
    readme = (ROOT / "README.md").read_text()
    return INCLUDE.sub(lambda match: relink(section(readme, match.group(1)), page.file.src_uri), markdown)
