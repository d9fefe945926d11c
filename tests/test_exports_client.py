"""REST and gRPC clients against loopback stand-ins for tensorflow_model_server.

The stand-ins answer the way TF Serving does (its REST JSON shapes and error bodies; its gRPC
services and status codes) and compute predictions with the exported SavedModel itself, so the
client's requests are checked against the real signatures' names, shapes and dtypes.
"""

import http.server
import base64
import json
import threading
from concurrent import futures

import numpy as np
import pytest
from google.protobuf import json_format

from zoo._tf import tf

from zoo import models
from zoo.errors import ConfigError
from exports import client, savedmodel
from exports.errors import ServerUnreachableError, ServingError

LATENT_DIM = 4
MODEL = "dcgan"


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    generator = models.dcgan_generator(image_size=8, channels=3, latent_dim=LATENT_DIM, width=4)
    discriminator = models.dcgan_discriminator(image_size=8, channels=3, width=4)
    model = models.DCGAN(generator, discriminator, prior="uniform")
    directory = savedmodel.export(model, tmp_path_factory.mktemp("base"), MODEL, interpolation_steps=3)
    loaded = tf.saved_model.load(str(directory))
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel.FromString((directory / "saved_model.pb").read_bytes())
    signature_defs = proto.meta_graphs[0].signature_def
    return {"loaded": loaded, "signature_defs": signature_defs}


def _run(loaded, signature, arrays):
    function = loaded.signatures[signature]
    specs = function.structured_input_signature[1]
    outputs = function(**{key: tf.constant(np.asarray(value), dtype=specs[key].dtype) for key, value in arrays.items()})
    return {key: value.numpy() for key, value in outputs.items()}


# ------------------------------------------------------------------------------------------- REST


def _json(key, value):
    """What TF Serving's REST API writes for an output: strings named *_bytes as {"b64": ...}."""
    if key.endswith("_bytes"):
        return [{"b64": base64.b64encode(item).decode()} for item in value.tolist()]
    return value.tolist()



class _RestHandler(http.server.BaseHTTPRequestHandler):
    """TF Serving's REST API for one model; ``broken`` always answers a 400 with a TF error."""

    loaded = None
    metadata = None

    def log_message(self, *args):
        pass

    def _answer(self, status, body):
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        if self.path == f"/v1/models/{MODEL}":
            self._answer(200, {"model_version_status": [
                {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
        elif self.path == f"/v1/models/{MODEL}/metadata":
            self._answer(200, {"model_spec": {"name": MODEL, "signature_name": "", "version": "1"},
                               "metadata": {"signature_def": {"signature_def": self.metadata}}})
        else:
            self._answer(404, {"error": f"Servable not found for request: Latest({self.path.split('/')[3]})"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = self.path.split("/")[3].split(":")[0]
        if name == "broken":
            self._answer(400, {"error": "assertion failed: [z must hold finite numbers (no NaN or Inf)]"})
            return
        if name == "garbled":
            self._answer(500, "<html>proxy error</html>")
            return
        if ("instances" in body) == ("inputs" in body):
            self._answer(400, {"error": "Missing 'inputs' or 'instances' key"})
            return
        signature = body.get("signature_name", "serving_default")
        if "instances" in body:
            rows = body["instances"]
            outputs = _run(self.loaded, signature, {key: [row[key] for row in rows] for key in rows[0]})
            count = len(rows)
            self._answer(200, {"predictions": [
                {key: _json(key, value[i:i + 1])[0] for key, value in outputs.items()} for i in range(count)]})
        else:
            outputs = _run(self.loaded, signature, body["inputs"])
            self._answer(200, {"outputs": {key: _json(key, value) for key, value in outputs.items()}})


@pytest.fixture(scope="module")
def rest_server(export):
    handler = type("Handler", (_RestHandler,), {
        "loaded": export["loaded"],
        "metadata": {name: json_format.MessageToDict(definition, preserving_proto_field_name=True)
                     for name, definition in export["signature_defs"].items()},
    })
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_signatures_are_read_from_the_metadata(rest_server):
    signatures = client.RestClient(rest_server, MODEL).signatures()
    assert sorted(signatures) == sorted(savedmodel.SAMPLING_SIGNATURES)
    sample = signatures["sample"]
    assert sample.inputs == {"seed": client.TensorInfo(np.dtype(np.int32), (None, 2))}
    assert sample.outputs["images_uint8"] == client.TensorInfo(np.dtype(np.uint8), (None, 8, 8, 3))
    assert signatures["interpolate"].outputs["z"].shape == (None, 3, LATENT_DIM)


@pytest.mark.parametrize("format", ["row", "columnar"])
def test_rest_predict_returns_the_signature_outputs(export, rest_server, format):
    rest = client.RestClient(rest_server, MODEL, format=format)
    z = np.random.default_rng(0).uniform(-1, 1, (2, LATENT_DIM)).astype(np.float32)
    got = rest.generate(z)
    want = _run(export["loaded"], "serving_default", {"z": z})
    assert set(got) == {"images", "images_uint8"}
    np.testing.assert_allclose(got["images"], want["images"], atol=1e-6)
    assert got["images_uint8"].dtype == np.uint8
    np.testing.assert_array_equal(got["images_uint8"], want["images_uint8"])
    sampled = rest.sample([[0, 1], [0, 2], [0, 3]])  # plain Python ints become int32 seeds
    assert sampled["z"].shape == (3, LATENT_DIM) and sampled["z"].dtype == np.float32
    path = rest.predict({"z0": z, "z1": -z}, "interpolate")
    assert path["images"].shape == (2, 3, 8, 8, 3)


@pytest.mark.parametrize("format", ["row", "columnar"])
def test_rest_sample_png_decodes_to_the_sampled_pixels(export, rest_server, format):
    rest = client.RestClient(rest_server, MODEL, format=format)
    seeds = [[0, 1], [0, 2], [5, 3]]
    compact, full = rest.sample_png(seeds), rest.sample(seeds)
    assert compact["png_bytes"].shape == (3,) and compact["png_bytes"].dtype == object
    pixels = np.stack([tf.io.decode_png(png).numpy() for png in compact["png_bytes"]])
    np.testing.assert_array_equal(pixels, full["images_uint8"])
    np.testing.assert_array_equal(compact["z"], full["z"])


def test_rest_bodies_follow_the_signature(export, rest_server):
    signature = client.RestClient(rest_server, MODEL).signature("interpolate")
    z = np.zeros((2, LATENT_DIM))
    row = client.rest_predict_body(signature, {"z0": z, "z1": z}, format="row")
    assert row["signature_name"] == "interpolate" and len(row["instances"]) == 2
    assert set(row["instances"][0]) == {"z0", "z1"} and len(row["instances"][0]["z0"]) == LATENT_DIM
    columnar = client.rest_predict_body(signature, {"z0": z, "z1": z}, format="columnar")
    assert np.asarray(columnar["inputs"]["z1"]).shape == (2, LATENT_DIM)
    definition = export["signature_defs"]["interpolate"]
    assert set(columnar["inputs"]) == set(definition.inputs)
    for key, info in definition.inputs.items():
        assert [d.size for d in info.tensor_shape.dim][1:] == list(np.asarray(columnar["inputs"][key]).shape[1:])


@pytest.mark.parametrize(
    "inputs, signature, match",
    [
        ({"z": np.zeros((1, LATENT_DIM + 1))}, "serving_default", r"shape \[N, 4\]"),
        ({"z": np.zeros(LATENT_DIM)}, "serving_default", r"shape \[N, 4\]"),
        ({"seed": [[0.5, 1.0]]}, "sample", "got floats, pass integers"),
        ({"seed": [[0, 2**40]]}, "sample", "outside the int32 range"),
        ({}, "sample", r"missing \['seed'\]"),
        ({"seed": [[0, 1]], "n": 3}, "sample", r"unknown \['n'\]"),
        ({"z": [[np.nan] * LATENT_DIM]}, "serving_default", "NaN"),
        ({"z0": np.zeros((2, LATENT_DIM)), "z1": np.zeros((3, LATENT_DIM))}, "interpolate", "same first dimension"),
        ({"z": np.zeros((1, LATENT_DIM))}, "nope", "has no signature 'nope'"),
    ],
)
def test_bad_requests_are_refused_before_sending(rest_server, inputs, signature, match):
    with pytest.raises(ConfigError, match=match):
        client.RestClient(rest_server, MODEL).predict(inputs, signature)


def test_rest_status_and_errors(rest_server):
    assert client.RestClient(rest_server, MODEL).status() == [
        {"version": 1, "state": "AVAILABLE", "error_code": "OK", "error_message": ""}]
    with pytest.raises(ServingError, match="HTTP 404: Servable not found") as error:
        client.RestClient(rest_server, "missing").status()
    assert error.value.status == 404
    broken = client.RestClient(rest_server, "broken")
    broken._signatures = client.RestClient(rest_server, MODEL).signatures()
    with pytest.raises(ServingError, match="HTTP 400: assertion failed: .z must hold finite numbers"):
        broken.generate(np.zeros((1, LATENT_DIM)))
    garbled = client.RestClient(rest_server, "garbled")
    garbled._signatures = broken._signatures
    with pytest.raises(ServingError, match="HTTP 500: <html>proxy error"):
        garbled.generate(np.zeros((1, LATENT_DIM)))


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(ServerUnreachableError, match="no model server answered at http://127.0.0.1:9"):
        client.RestClient("http://127.0.0.1:9", MODEL, timeout=2).status()


def test_parse_single_output_responses():
    signature = client.Signature("s", {}, {"y": client.TensorInfo(np.dtype(np.float32), (None,))})
    np.testing.assert_array_equal(client.parse_rest_predictions(signature, {"predictions": [1, 2]})["y"], [1, 2])
    assert client.parse_rest_predictions(signature, {"outputs": [3]})["y"].dtype == np.float32
    with pytest.raises(ServingError, match="neither 'predictions' nor 'outputs'"):
        client.parse_rest_predictions(signature, {"result": 1})


def test_grid_command_writes_a_png(rest_server, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "grid.png"
    assert client.main(["--url", rest_server, "--model", MODEL, "--rows", "2", "--cols", "3", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    image = Image.open(out)
    assert image.size == (3 * 8, 2 * 8) and image.mode == "RGB"
    assert client.main(["--url", rest_server, "--model", "missing", "--out", str(tmp_path / "x.png")]) == 2
    assert "Servable not found" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- gRPC


@pytest.fixture(scope="module")
def grpc_server(export):
    grpc = pytest.importorskip("grpc")
    from tensorflow_serving.apis import (
        get_model_metadata_pb2,
        get_model_status_pb2,
        model_service_pb2_grpc,
        predict_pb2,
        prediction_service_pb2_grpc,
    )

    seen = []

    class Predictions(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            seen.append(request)
            if request.model_spec.name != MODEL:
                context.abort(grpc.StatusCode.NOT_FOUND, f"Servable not found for request: Latest({request.model_spec.name})")
            arrays = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
            try:
                outputs = _run(export["loaded"], request.model_spec.signature_name or "serving_default", arrays)
            except (tf.errors.InvalidArgumentError, TypeError, ValueError) as error:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error).splitlines()[0])
            response = predict_pb2.PredictResponse()
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

        def GetModelMetadata(self, request, context):
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for name, definition in export["signature_defs"].items():
                signature_map.signature_def[name].CopyFrom(definition)
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = MODEL
            response.metadata["signature_def"].Pack(signature_map)
            return response

    class Models(model_service_pb2_grpc.ModelServiceServicer):
        def GetModelStatus(self, request, context):
            response = get_model_status_pb2.GetModelStatusResponse()
            entry = response.model_version_status.add(version=1)
            entry.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Predictions(), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(Models(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield {"target": f"127.0.0.1:{port}", "seen": seen}
    server.stop(None)


def test_grpc_predict_request_matches_the_signature(export, grpc_server):
    grpc_client = client.GrpcClient(grpc_server["target"], MODEL, version=1)
    request = grpc_client.predict_request({"seed": [[0, 1], [0, 2]]}, "sample")
    assert request.model_spec.name == MODEL and request.model_spec.signature_name == "sample"
    assert request.model_spec.version.value == 1
    definition = export["signature_defs"]["sample"]
    assert set(request.inputs) == set(definition.inputs)
    for key, proto in request.inputs.items():
        assert proto.dtype == definition.inputs[key].dtype
        assert [d.size for d in proto.tensor_shape.dim][1:] == [d.size for d in definition.inputs[key].tensor_shape.dim][1:]


def test_grpc_predict_metadata_and_status(export, grpc_server):
    grpc_client = client.GrpcClient(grpc_server["target"], MODEL)
    assert sorted(grpc_client.signatures()) == sorted(savedmodel.SAMPLING_SIGNATURES)
    seeds = np.array([[3, 1], [3, 2]], np.int32)
    got = grpc_client.sample(seeds)
    want = _run(export["loaded"], "sample", {"seed": seeds})
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_array_equal(got[key], want[key])
        assert got[key].dtype == want[key].dtype
    assert grpc_server["seen"][-1].model_spec.signature_name == "sample"
    assert grpc_client.status() == [{"version": 1, "state": "AVAILABLE", "error_code": "OK", "error_message": ""}]


def test_grpc_errors_are_clear(grpc_server, export):
    missing = client.GrpcClient(grpc_server["target"], "missing")
    missing._signatures = client.GrpcClient(grpc_server["target"], MODEL).signatures()
    with pytest.raises(ServingError, match="NOT_FOUND: Servable not found") as error:
        missing.generate(np.zeros((1, LATENT_DIM)))
    assert error.value.status == "NOT_FOUND"
    unreachable = client.GrpcClient("127.0.0.1:9", MODEL, timeout=2)
    with pytest.raises(ServerUnreachableError, match="no model server answered at 127.0.0.1:9"):
        unreachable.status()
