"""Trained generators as SavedModels that TF Serving serves as they are, and clients for them.

``exports.savedmodel`` builds the signatures and writes a version, ``exports.repository`` keeps
TF Serving's directory layout and config files, ``exports.warmup`` writes warm-up requests,
``exports.opcheck`` proves the graph needs only core TensorFlow ops, ``exports.client`` talks to a
running server over REST or gRPC, ``exports.cli`` adds ``zoo export``. Imports ``zoo``, never
``training``.
"""
