"""Run the code examples of the documentation: one test per example block.

Every doctest block of a page ``docs/**/*.rst`` (a paragraph of ``>>>`` lines and
their expected output) is one test, named after its first line:
``docs/user_guide/pipelines.rst::line42``. Pages in subfolders (``user_guide/``,
``research/``) are collected too; Sphinx's output and generated stubs are not.
The blocks of a page run in page order and share one namespace, as a reader
going down the page would: a later example uses the data an earlier one set up
(an example run on its own, e.g. with ``-k``, first runs the ones before it).
``python -m pytest docs/`` runs them all.

torch runs on one intra-op thread, as in ``tests/conftest.py``: results do not
depend on how busy the machine is.
"""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
import torch
from _pytest.doctest import DoctestTextfile

torch.set_num_threads(1)

HERE = Path(__file__).parent
# build outputs and generated pages: not sources of examples
SKIPPED = ("_build", "generated", "auto_examples")


def is_page(file_path: Path) -> bool:
    """Whether ``file_path`` is a hand-written reStructuredText page of the docs."""
    if file_path.suffix != ".rst" or HERE not in file_path.parents:
        return False
    return not any(part in SKIPPED for part in file_path.relative_to(HERE).parts)


OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def example_blocks(text: str):
    """Yield ``(index of the first line, text)`` of each ``>>>`` block of a page."""
    lines = text.splitlines(keepends=True)
    start = None
    for i, line in enumerate([*lines, "\n"]):
        if start is None and line.lstrip().startswith(">>>"):
            start = i
        elif start is not None and not line.strip():
            yield start, "".join(lines[start:i])
            start = None


@pytest.hookimpl(wrapper=True)
def pytest_collect_file(file_path, parent):
    collected = yield
    if is_page(file_path):
        # pytest collects a page named on the command line as one doctest: ours replace it
        collected = [c for c in collected if not isinstance(c, DoctestTextfile)]
        collected.append(DocPage.from_parent(parent, path=file_path))
    return collected


class DocPage(pytest.File):
    """A page: its example blocks, run in order in one namespace."""

    def collect(self):
        self.namespace: dict = {"__name__": "__main__"}
        self.examples: list[DocExample] = []
        self.n_run = 0  # the examples before this index have run
        parser = doctest.DocTestParser()
        for start, text in example_blocks(self.path.read_text(encoding="utf-8")):
            name = f"line{start + 1}"
            page = self.path.relative_to(HERE).as_posix()
            test = parser.get_doctest(text, {}, f"{page}::{name}", str(self.path), start)
            example = DocExample.from_parent(self, name=name, test=test)
            self.examples.append(example)
            yield example

    def teardown(self) -> None:
        self.namespace.clear()


class DocExampleFailure(Exception):
    """An example's output differed from the page, or it raised."""


class DocExample(pytest.Item):
    """One example block of a page."""

    def __init__(self, *, test: doctest.DocTest, **kwargs) -> None:
        super().__init__(**kwargs)
        self.test = test

    def runtest(self) -> None:
        page = self.parent
        index = page.examples.index(self)
        # Run on their own (e.g. with -k), the examples need what the earlier ones set up.
        for earlier in page.examples[page.n_run:index]:
            report = earlier.run_block()
            if report:
                raise DocExampleFailure(f"{earlier.name}, which this example needs, "
                                        f"failed:\n{report}")
        page.n_run = index + 1
        if all(example.options.get(doctest.SKIP) for example in self.test.examples):
            pytest.skip("every line is marked +SKIP")
        report = self.run_block()
        if report:
            raise DocExampleFailure(report)

    def run_block(self) -> str:
        """Run the block in the page's namespace; return the failure report ('' if none)."""
        self.test.globs = self.parent.namespace
        runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
        report: list[str] = []
        runner.run(self.test, out=report.append, clear_globs=False)
        # the report opens with a line of asterisks: start at 'File "...", line N'
        return "".join(report).lstrip("*\n")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, DocExampleFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, self.test.lineno, f"[doc example] {self.name}"

