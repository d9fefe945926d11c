"""Warm-up request encoding, parsed back with tensorflow-serving-api's own protos."""

import numpy as np
import pytest

from zoo._tf import tf

from zoo.errors import ConfigError
from exports import warmup

from tensorflow_serving.apis import prediction_log_pb2  # noqa: E402  (after zoo._tf: it imports TensorFlow)


def test_records_parse_as_prediction_logs(tmp_path):
    big = np.arange(3 * 64 * 64 * 3, dtype=np.float32).reshape(3, 64, 64, 3)  # multi-byte lengths
    seeds = np.array([[0, 1], [5, 2**31 - 1]], np.int32)
    path = warmup.write_warmup_requests(tmp_path, "dcgan", [("encode", {"images": big}), ("sample", {"seed": seeds})])
    assert path == tmp_path / "assets.extra" / "tf_serving_warmup_requests"
    logs = [prediction_log_pb2.PredictionLog.FromString(raw) for raw in tf.data.TFRecordDataset(str(path)).as_numpy_iterator()]
    assert [log.WhichOneof("log_type") for log in logs] == ["predict_log", "predict_log"]
    first, second = (log.predict_log.request for log in logs)
    assert (first.model_spec.name, first.model_spec.signature_name) == ("dcgan", "encode")
    np.testing.assert_array_equal(tf.make_ndarray(first.inputs["images"]), big)
    assert second.model_spec.signature_name == "sample"
    got = tf.make_ndarray(second.inputs["seed"])
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, seeds)


def test_example_inputs_follow_the_specs():
    specs = {"z": tf.TensorSpec([None, 4], tf.float32), "seed": tf.TensorSpec([None, 2], tf.int32)}
    inputs = warmup.example_inputs(specs, 3)
    assert inputs["z"].shape == (3, 4) and inputs["z"].dtype == np.float32 and not inputs["z"].any()
    assert inputs["seed"].dtype == np.int32 and len({tuple(row) for row in inputs["seed"]}) == 3
    with pytest.raises(ConfigError, match="unknown non-batch dimension"):
        warmup.example_inputs({"x": tf.TensorSpec([None, None], tf.float32)}, 1)
    with pytest.raises(ConfigError, match="dtype string"):
        warmup.example_inputs({"x": tf.TensorSpec([None], tf.string)}, 1)


def test_request_count_limits(tmp_path):
    with pytest.raises(ConfigError, match="no warm-up requests"):
        warmup.write_warmup_requests(tmp_path, "m", [])
    too_many = [("serving_default", {"z": np.zeros((1, 1), np.float32)})] * (warmup.MAX_RECORDS + 1)
    with pytest.raises(ConfigError, match="at most 1000"):
        warmup.write_warmup_requests(tmp_path, "m", too_many)
    assert not (tmp_path / "assets.extra").exists()


def test_records_are_byte_for_byte_what_the_hand_written_encoder_wrote():
    # The fixture was written by the wire-format encoder that tensorflow-serving-api's messages replaced.
    import json
    import pathlib

    before = json.loads((pathlib.Path(__file__).parent / "data" / "serving_files_before_issue31.json").read_text())
    for record in before["warmup_records"]:
        inputs = {}
        for key, spec in record["inputs"].items():
            size = int(np.prod(spec["shape"]))
            values = np.zeros(size) if spec["fill"] == "zeros" else np.arange(size)
            inputs[key] = values.reshape(spec["shape"]).astype(spec["dtype"])
        assert warmup.prediction_log_bytes(record["model"], record["signature"], inputs).hex() == record["hex"]
