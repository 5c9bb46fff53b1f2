"""Sphinx configuration for the vaesvm documentation.

Build with ``make -C docs html`` (warnings are errors).
"""

import os
import re
import sys

# The package is normally installed (editable); fall back to the checkout.
sys.path.insert(0, os.path.abspath(".."))

import vaesvm  # noqa: E402
from vaesvm._options import RULE_TEXTS  # noqa: E402

# -- Project -----------------------------------------------------------------
project = "vaesvm"
author = "vaesvm developers"
copyright = "vaesvm developers"
version = vaesvm.__version__
release = vaesvm.__version__

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinxarg.ext",  # the CLI reference (cli.rst), generated from vaesvm.cli.build_parser()
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# ``generated/`` (autosummary stubs, git-ignored) is a build input; only the
# output directory is excluded.
# results/*/results.md are included by results.md, not pages of their own.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "results/**/results.md"]

nitpicky = False

# Every "auto" rule is stated once, in vaesvm/_options.py; the pages say it with
# |label_weight_rule|, |propagation_rule|, |epochs_rule|, |image_rule|, |device_rule|...
rst_prolog = "\n".join(f".. |{name}| replace:: {text}" for name, text in RULE_TEXTS.items())

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # numpydoc docstrings already give the types
autodoc_member_order = "bysource"

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_show_inherited_class_members = False

# -- sphinx-gallery ----------------------------------------------------------
# examples/plot_*.py run at every build (small data, seconds each) and become
# auto_examples/ (git-ignored); sg_execution_times.rst records how long each took.
from sphinx_gallery.sorting import ExplicitOrder  # noqa: E402

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # Every example is listed here (a new one too), in reading order.
    "within_subsection_order": ExplicitOrder([
        "plot_quick_start_digits.py",
        "plot_fashion_mnist_semi_supervised.py",
        "plot_unlabeled_minus_one.py",
        "plot_suggest_labels.py",
        "plot_grid_search_cache.py",
        "plot_own_images.py",
        "plot_latent_space.py",
    ]),
    # "Examples using vaesvm.X" lists, for `.. minigallery:: vaesvm.X` on API pages.
    "doc_module": ("vaesvm",),
    "backreferences_dir": "generated/backreferences",
    "abort_on_example_error": True,
    "remove_config_comments": True,
}

# -- HTML --------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"vaesvm {release}"
html_theme_options = {
    "description": "VAE features + scikit-learn classifiers for semi-supervised learning",
    "fixed_sidebar": True,
}


# Methods inherited from scikit-learn (set_output, get_metadata_routing, ...) keep
# their docstrings, whose cross-references point into scikit-learn's own docs
# (labels and glossary terms that do not exist here): render them as plain text.
_SKLEARN_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)(?:\s*<[^`>]*>)?`")


def _plain_sklearn_references(app, what, name, obj, options, lines):
    if getattr(obj, "__module__", "") and obj.__module__.startswith("sklearn"):
        lines[:] = [_SKLEARN_ROLE.sub(lambda m: m.group(1).strip(), line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _plain_sklearn_references)
