"""The study app behind ``vaesvm study`` and ``vaesvm ablate``.

- :mod:`~vaesvm.study.config`: :class:`~vaesvm.study.config.StudyConfig` and each
  command's defaults.
- :mod:`~vaesvm.study.experiments`: the methods, the ablation factors,
  :func:`~vaesvm.study.experiments.run_study` and
  :func:`~vaesvm.study.experiments.run_ablation`.
- :mod:`~vaesvm.study.runner`: :func:`~vaesvm.study.runner.run_command`, what the
  command line calls.
- :mod:`~vaesvm.study.report`: ``results.json`` / ``results.md`` and their tables.
- :mod:`~vaesvm.study.progress`: the progress bar, counted in VAE epochs.
- :mod:`~vaesvm.study.plots` and :mod:`~vaesvm.study.figures`: the figures.

It builds on the public estimator (:class:`vaesvm.VAETransformer`) and the dataset
helpers; nothing in the estimator imports it.
"""
