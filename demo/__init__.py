"""``zoo demo``: a browser page over the zoo's exported models (Gradio).

- :mod:`demo.cache`: the cache directory, and each shipped preset exported once into it
  (through :func:`exports.savedmodel.export`), again only when the preset changes.
- :mod:`demo.backends`: the models the page shows, either SavedModels loaded in this process with
  TensorFlow alone (``tf.saved_model.load``, the signatures TF Serving runs) or a running TF Serving
  (``--serving-url``, through :mod:`exports.client`).
- :mod:`demo.pictures`: sample grids and interpolation strips as PNG-ready arrays.
- :mod:`demo.diversity`: GAN vs GDPP-GAN: ring/grid scatters and the stacked-digit class histograms.
- :mod:`demo.cards`: a preset's card and an export's facts as Markdown.
- :mod:`demo.app`: the page (tabs Sample, Interpolate, Diversity, Card) and its input checks.
- :mod:`demo.cli`: the ``zoo demo`` command (entry point ``zoo.commands: demo``).

Needs the ``demo`` extra (``pip install -e ".[demo]"``: Gradio, matplotlib). Imports ``zoo`` and
``exports``; neither imports it.
"""
