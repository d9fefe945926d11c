"""Training runs for the zoo's models: ``zoo train`` and what it leaves behind.

- :mod:`training.config`: recipes (``training/recipes/*.json``), ``--set`` overrides, validation.
- :mod:`training.run`: :func:`training.run.train`, one run from a resolved config.
- :mod:`training.rundir`: the run directory and its records.
- :mod:`training.callbacks`: checkpoints/resume, NaN stop, sample images, TensorBoard, EMA.
- :mod:`training.strategy`: ``--strategy``, ``--mixed-precision``, ``--jit``.
- :mod:`training.cli`: the ``zoo train`` command (entry point ``zoo.commands: train``).

``training`` imports ``zoo``; ``zoo`` never imports ``training``.
"""
