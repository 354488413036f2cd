"""The README's section on clients in other languages shows code as it is in the files that run in tests."""

from __future__ import annotations

import re

from tests.cli.conftest import ROOT

SECTION = "## Any service, any language"
CLIENTS = ROOT / "tests" / "clients"
SOURCES = {
    "python": [CLIENTS / "queue_app.py", CLIENTS / "python_consumer.py", CLIENTS / "boto3_consumer.py"],
    "ts": [ROOT / "clients" / "typescript" / "examples" / "consumer.ts"],
    "console": [],
}
"""Where each language's blocks come from: the worker module and the consumers the tests run (console: none)."""


def blocks() -> list[tuple[str, str]]:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(SECTION)
    end = readme.index("\n## ", start + len(SECTION))
    return re.findall(r"^```(\w+)\n(.*?)^```", readme[start:end], re.M | re.S)


def test_each_block_of_the_section_is_an_excerpt_of_code_the_tests_run() -> None:
    found = blocks()
    assert {language for language, _ in found} == set(SOURCES)
    for language, code in found:
        if not SOURCES[language]:
            continue
        for part in re.split(r"\n\s*\n", code.strip()):  # each paragraph as it stands in one of the files
            assert any(part in source.read_text() for source in SOURCES[language]), f"in no {language} source:\n{part}"
