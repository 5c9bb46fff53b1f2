"""The documentation's structure: what the user pages may say, and what they must cover.

The examples themselves run under ``python -m pytest docs`` (``docs/conftest.py``).
"""

import pathlib
import re

import pytest

from vaesvm import VAETransformer

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESEARCH = DOCS / "research"
SKIPPED = ("_build", "generated", "auto_examples", "results")


def pages(folder: pathlib.Path = DOCS) -> list[pathlib.Path]:
    """Hand-written pages (.rst and .md) under ``folder``, outside build outputs."""
    found = [p for p in folder.rglob("*") if p.suffix in (".rst", ".md")]
    return sorted(p for p in found
                  if not any(part in SKIPPED for part in p.relative_to(DOCS).parts[:-1]))


USER_PAGES = [p for p in pages() if RESEARCH not in p.parents]
RESEARCH_PAGES = pages(RESEARCH)


def ids(path: pathlib.Path) -> str:
    return str(path.relative_to(DOCS))


def test_pages_found():
    names = {ids(p) for p in USER_PAGES}
    assert {"index.rst", "install.rst", "getting_started.rst", "api.rst", "cli.rst",
            "results.md", "performance.rst", "user_guide/semi_supervised.rst"} <= names
    assert {"index.rst", "defaults.rst", "performance_record.rst"} <= {
        p.name for p in RESEARCH_PAGES}


def test_every_parameter_in_the_user_guide_tables():
    text = (DOCS / "user_guide" / "semi_supervised.rst").read_text()
    rows = set(re.findall(r"^   \* - ``(\w+)``$", text, flags=re.M))
    missing = set(VAETransformer().get_params()) - rows
    assert not missing, f"parameters without a row in the user guide's tables: {missing}"


def test_api_reference_lists_public_names_only():
    text = (DOCS / "api.rst").read_text()
    entries = re.findall(r"^   ([\w.]+)$", text, flags=re.M)
    assert {"VAETransformer", "LabeledOnlyClassifier", "load_fashion_mnist",
            "make_semi_supervised_split", "datasets.get_data_home"} <= set(entries)
    private = [e for e in entries if any(part.startswith("_") for part in e.split("."))
               or e.startswith("study.")]
    assert not private, f"the API reference lists non-public names: {private}"


def test_class_template_lists_every_public_method():
    # the template iterates over autosummary's ``methods`` (every public method,
    # inherited ones included) instead of a hand-kept list that can miss some
    template = (DOCS / "_templates" / "autosummary" / "class.rst").read_text()
    assert "for item in public" in template and ":members:" not in template


@pytest.mark.parametrize("page", USER_PAGES + RESEARCH_PAGES, ids=ids)
def test_every_example_runs(page):
    assert "+SKIP" not in page.read_text(), f"{ids(page)}: an example that never runs"


@pytest.mark.parametrize("page", USER_PAGES, ids=ids)
def test_user_pages_state_the_current_release_only(page):
    text = page.read_text()
    history = re.findall(r"previous release|earlier release|release before|"
                         r"not re-run|arithmetic slip|an earlier version of this page",
                         text, flags=re.I)
    assert not history, f"{ids(page)} speaks of history: {history}"
    if page.name != "performance.rst":
        assert "AVX512" not in text, f"{ids(page)} names a machine (only the performance page)"


def test_the_machine_is_named_once():
    text = (DOCS / "performance.rst").read_text()
    assert text.count("AVX512") == 1


@pytest.mark.parametrize("page", RESEARCH_PAGES, ids=ids)
def test_research_pages_are_labelled(page):
    assert "Research notes: how the defaults were chosen; users never need this part." in (
        page.read_text())


LIST_START = re.compile(r"^\s*\d+[.)]\s")


@pytest.mark.parametrize("page", [p for p in pages() if p.suffix == ".md"], ids=ids)
def test_no_accidental_numbered_list_in_markdown(page):
    # as tests/test_docs_markup.py, for the Markdown pages in subfolders too
    lines = page.read_text().splitlines()
    bad = [f"{i + 1}: {line.strip()}" for i, line in enumerate(lines)
           if i and LIST_START.match(line) and lines[i - 1].strip()
           and not LIST_START.match(lines[i - 1])
           and not lines[i - 1].lstrip().startswith(("|", "```", "#"))]
    assert not bad, "a wrapped line starts like a numbered list item:\n" + "\n".join(bad)
