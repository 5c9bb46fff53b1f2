"""Root pytest configuration: what doctest collection must not import."""

# docs/conftest.py and tests/conftest.py hold no doctests; collected as modules both
# would be imported as "conftest" and clash.
collect_ignore = ["vaesvm/__main__.py", "benchmarks", "docs/conf.py", "docs/conftest.py",
                  "tests/conftest.py"]
# The gallery scripts run in `make docs` (sphinx-gallery), not as test modules.
collect_ignore_glob = ["docs/_build/*", "docs/generated/*", "docs/auto_examples/*", "examples/*"]
