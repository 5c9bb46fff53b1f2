"""Root pytest configuration: what doctest collection must not import."""

collect_ignore = ["vaesvm/__main__.py", "benchmarks", "docs/conf.py"]
collect_ignore_glob = ["docs/_build/*", "docs/generated/*"]
