"""Markdown pages: no paragraph line that Markdown would turn into a list item.

A wrapped line that starts with "1)" or "2." (e.g. "... fixed label weight\n1) gave")
renders as a numbered list in the middle of a paragraph; Sphinx gives no warning.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("docs/results/*/*.md")])
LIST_START = re.compile(r"^\s*\d+[.)]\s")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_accidental_numbered_list(page):
    lines = page.read_text().splitlines()
    bad = [f"{page.name}:{i + 1}: {line.strip()}" for i, line in enumerate(lines)
           if i and LIST_START.match(line) and lines[i - 1].strip()
           and not LIST_START.match(lines[i - 1]) and not lines[i - 1].lstrip().startswith(
               ("|", "```", "#"))]
    assert not bad, "a wrapped line starts like a numbered list item:\n" + "\n".join(bad)
