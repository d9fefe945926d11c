"""Warm-up requests for ``tensorflow_model_server --enable_model_warmup``.

The server replays ``<version>/assets.extra/tf_serving_warmup_requests`` (a TFRecord file of
serialised ``tensorflow.serving.PredictionLog`` protos, at most 1000) when it loads a version, so
the first real request does not pay for graph optimisation and memory allocation.

The records are ``tensorflow-serving-api``'s own messages (``PredictionLog`` > ``PredictLog`` >
``PredictRequest``), serialised deterministically (inputs in key order), so a record's bytes depend
only on its request.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from zoo._tf import tf
from zoo.errors import ConfigError

# After zoo._tf: these messages import TensorFlow's own protos (and so TensorFlow).
from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2  # noqa: E402

WARMUP_FILE = "tf_serving_warmup_requests"
MAX_RECORDS = 1000  # the server reads no more than this


def predict_request(model_name: str, signature_name: str,
                    inputs: Mapping[str, np.ndarray]) -> predict_pb2.PredictRequest:
    """The ``PredictRequest`` for ``signature_name`` of ``model_name`` with ``inputs``."""
    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature_name)
    )
    for key in sorted(inputs):
        request.inputs[key].CopyFrom(tf.make_tensor_proto(np.asarray(inputs[key])))
    return request


def prediction_log_bytes(model_name: str, signature_name: str, inputs: Mapping[str, np.ndarray]) -> bytes:
    """Serialised ``PredictionLog`` holding one ``PredictLog`` whose request is :func:`predict_request`'s."""
    log = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=predict_request(model_name, signature_name, inputs))
    )
    return log.SerializeToString(deterministic=True)


def example_inputs(specs: Mapping[str, tf.TensorSpec], batch_size: int) -> dict[str, np.ndarray]:
    """Valid inputs for a signature whose inputs are ``specs``, with ``batch_size`` rows.

    Float inputs are zeros (inside the support of every prior and in the image range); integer
    inputs (the per-row ``seed``) count up, so every row differs. Unknown dimensions other than the
    batch are refused: the exported signatures have none.
    """
    inputs = {}
    for key, spec in specs.items():
        shape = [batch_size, *spec.shape[1:]]
        if any(d is None for d in shape):
            raise ConfigError(f"input {key!r} has an unknown non-batch dimension {spec.shape}; cannot build a warm-up request")
        if spec.dtype.is_floating:
            inputs[key] = np.zeros(shape, spec.dtype.as_numpy_dtype)
        elif spec.dtype.is_integer:
            inputs[key] = np.arange(int(np.prod(shape))).reshape(shape).astype(spec.dtype.as_numpy_dtype)
        else:
            raise ConfigError(f"input {key!r} has dtype {spec.dtype.name}, which warm-up requests do not cover")
    return inputs


def write_warmup_requests(
    version_dir: str | os.PathLike,
    model_name: str,
    requests: Iterable[tuple[str, Mapping[str, np.ndarray]]],
) -> Path:
    """Write ``(signature_name, inputs)`` pairs to ``version_dir/assets.extra/tf_serving_warmup_requests``."""
    requests = list(requests)
    if not requests:
        raise ConfigError("no warm-up requests to write")
    if len(requests) > MAX_RECORDS:
        raise ConfigError(f"{len(requests)} warm-up requests given; the server reads at most {MAX_RECORDS}")
    path = Path(version_dir) / "assets.extra" / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for signature_name, inputs in requests:
            writer.write(prediction_log_bytes(model_name, signature_name, inputs))
    return path
