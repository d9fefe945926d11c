"""SavedModel exports, proven without a model server.

One tiny DCGAN (non-parametric prior, the case that needs the prior inside the graph, with the
matched interpolation path), one tiny VAE (linear path) and a float16 export of a tiny DCGAN whose
images span [-1, 1] are exported once per module. A fresh interpreter that never imports ``zoo`` or
``tensorflow_probability`` then loads them, calls every signature, replays the warm-up file and
feeds bad requests through a TF1 session callable (the C++ ``Session::Run`` path the model server
uses, where the Python-side shape checks of ``tf.function`` do not exist).
"""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from zoo._tf import tf

import keras

from zoo import latent, models
from zoo.errors import ConfigError
from exports import opcheck, savedmodel
from exports.errors import ExportError

LATENT_DIM = 4
STEPS = 5
SEEDS = np.array([[0, 1], [0, 2], [7, 3]], np.int32)
INTERPOLATION = {"dcgan": "matched", "vae": "linear"}
VAE_SIGNATURES = savedmodel.SAMPLING_SIGNATURES + ("decode", "encode", "reconstruct")  # VAE.serving_signatures


def tiny_dcgan():
    generator = models.dcgan_generator(image_size=8, channels=1, latent_dim=LATENT_DIM, width=4)
    discriminator = models.dcgan_discriminator(image_size=8, channels=1, width=4)
    return models.DCGAN(generator, discriminator, prior="nonparametric")


def tiny_vae():
    encoder = models.vae_encoder(image_size=8, channels=3, latent_dim=LATENT_DIM, width=4)
    decoder = models.vae_decoder(image_size=8, channels=3, latent_dim=LATENT_DIM, width=4)
    return models.VAE(encoder, decoder, prior="normal")


def loud_dcgan():
    """A tiny DCGAN whose images use the range [-1, 1], so float16 rounding shows in its pixels."""
    model = tiny_dcgan()
    last = model.generator.layers[-2]  # the last transposed convolution, before the tanh
    last.kernel.assign(last.kernel * 1000.0)
    return model


def overflowing_dcgan():
    """A tiny DCGAN that float32 serves but float16 cannot hold: its projection weights exceed 65504."""
    model = tiny_dcgan()
    dense = model.generator.layers[1]
    dense.kernel.assign(tf.fill(dense.kernel.shape, 1e5))
    return model


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def _references(model):
    """Inputs for every signature and what the Keras model computes for them (``signature/key``)."""
    rng = np.random.default_rng(0)
    kind = "vae" if isinstance(model, models.VAE) else "gan"
    network = model.decode if kind == "vae" else (lambda z: _numpy(model.generator(z, training=False)))
    z = rng.uniform(-1, 1, (3, LATENT_DIM)).astype(np.float32)
    z0, z1 = (rng.uniform(-1, 1, (2, LATENT_DIM)).astype(np.float32) for _ in range(2))
    sampled = _numpy(model.prior.sample_per_row(SEEDS))
    if kind == "gan":
        path = latent.interpolate(z0, z1, STEPS, method="matched", prior=model.prior)
    else:
        path = latent.interpolate(z0, z1, STEPS)
    path = _numpy(path)
    inputs = {"serving_default/z": z, "sample/seed": SEEDS, "sample_png/seed": SEEDS,
              "interpolate/z0": z0, "interpolate/z1": z1}
    expected = {
        "serving_default/images": network(z),
        "sample/z": sampled,
        "sample_png/z": sampled,
        "sample/images": network(sampled),
        "interpolate/z": path,
        "interpolate/images": network(path.reshape(-1, LATENT_DIM)).reshape(2, STEPS, *model.element_shape),
    }
    if kind == "vae":
        images = rng.uniform(-1, 1, (2, *model.element_shape)).astype(np.float32)
        mean, logvar = model.encode(images)
        inputs.update({"decode/z": z, "encode/images": images, "reconstruct/images": images})
        expected.update({
            "decode/images": model.decode(z),
            "encode/mean": mean,
            "encode/logvar": logvar,
            "reconstruct/images": model.reconstruct(images),
        })
    return inputs, expected


# Runs in a fresh interpreter: TensorFlow only (tensorflow_serving for the warm-up protos).
_FRESH_PROCESS = textwrap.dedent(r'''
    import json, sys
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2

    job = json.loads(sys.argv[1])
    report = {"signatures": {}, "bad_requests": {}, "warmup": {}}
    for name, spec in job["exports"].items():
        loaded = tf.saved_model.load(spec["dir"])
        inputs = dict(np.load(spec["inputs"]))
        outputs = {}
        for signature, function in loaded.signatures.items():
            keys = function.structured_input_signature[1]
            result = function(**{key: tf.constant(inputs[f"{signature}/{key}"]) for key in keys})
            outputs.update({f"{signature}/{key}": value.numpy() for key, value in result.items()})
        np.savez(spec["outputs"], **outputs)
        report["signatures"][name] = sorted(loaded.signatures)
    report["imported"] = sorted(m for m in ("zoo", "exports", "tensorflow_probability") if m in sys.modules)

    # Bad requests through Session::Run, as tensorflow_model_server feeds them.
    for name, spec in job["exports"].items():
        graph = tf.Graph()
        with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
            meta = tf.compat.v1.saved_model.load(session, ["serve"], spec["dir"])
            for label, (signature, feeds) in job["bad_requests"].get(name, {}).items():
                definition = meta.signature_def[signature]
                options = config_pb2.CallableOptions(
                    feed=[definition.inputs[key].name for key in feeds],
                    fetch=[definition.outputs["images"].name],
                )
                try:
                    run = session._make_callable_from_options(options)
                    run(*[np.asarray(value, dtype=dtype) for value, dtype in feeds.values()])
                except tf.errors.OpError as error:
                    report["bad_requests"][label] = type(error).__name__ + ": " + error.message
                else:
                    report["bad_requests"][label] = "accepted"

    # Warm-up records, parsed with the real protos and replayed through the signatures.
    from tensorflow_serving.apis import prediction_log_pb2
    for name, spec in job["exports"].items():
        loaded = tf.saved_model.load(spec["dir"])
        path = spec["dir"] + "/assets.extra/tf_serving_warmup_requests"
        records = []
        for raw in tf.data.TFRecordDataset(path).as_numpy_iterator():
            log = prediction_log_pb2.PredictionLog.FromString(raw)
            request = log.predict_log.request
            function = loaded.signatures[request.model_spec.signature_name]
            specs = function.structured_input_signature[1]
            arrays = {key: tf.make_ndarray(proto) for key, proto in request.inputs.items()}
            matches = sorted(arrays) == sorted(specs) and all(
                tf.as_dtype(request.inputs[key].dtype) == specs[key].dtype
                and specs[key].shape.is_compatible_with(arrays[key].shape)
                for key in arrays
            )
            outputs = function(**{key: tf.constant(value) for key, value in arrays.items()})
            records.append({
                "model": request.model_spec.name,
                "signature": request.model_spec.signature_name,
                "matches_signature": matches,
                "finite": all(bool(np.all(np.isfinite(v.numpy().astype(np.float64))))
                              for v in outputs.values() if v.dtype != tf.string),
            })
        report["warmup"][name] = records

    # Last, as it imports the project: the op check, in a process where only TensorFlow loaded ops.
    from exports import opcheck
    report["opcheck"] = {name: opcheck.inspect(spec["dir"]).problems() for name, spec in job["exports"].items()}
    report["opcheck_imported_tfp"] = "tensorflow_probability" in sys.modules
    print(json.dumps(report))
''')


def _bad_requests():
    good_z = [[0.1] * LATENT_DIM]
    nan_z = [[np.nan] * LATENT_DIM]
    return {
        "dcgan": {
            "good_latent": ("serving_default", {"z": (good_z, "float32")}),
            "narrow_latent": ("serving_default", {"z": ([[0.1] * (LATENT_DIM - 1)], "float32")}),
            "rank3_latent": ("serving_default", {"z": ([good_z], "float32")}),
            "nan_latent": ("serving_default", {"z": (nan_z, "float32")}),
            "int_latent": ("serving_default", {"z": ([[1] * LATENT_DIM], "int32")}),
            "seed_of_three": ("sample", {"seed": ([[1, 2, 3]], "int32")}),
            "float_seed": ("sample", {"seed": ([[1.0, 2.0]], "float32")}),
            "missing_seed": ("sample", {}),
            "wide_z1": ("interpolate", {"z0": (good_z, "float32"), "z1": ([[0.1] * (LATENT_DIM + 1)], "float32")}),
        },
        "dcgan16": {  # the float16 export checks its float32 inputs as the float32 one does
            "nan_latent_float16": ("serving_default", {"z": (nan_z, "float32")}),
            "narrow_latent_float16": ("serving_default", {"z": ([[0.1] * (LATENT_DIM - 1)], "float32")}),
        },
        "vae": {
            "small_images": ("reconstruct", {"images": (np.zeros((1, 4, 4, 3)).tolist(), "float32")}),
            "nan_images": ("reconstruct", {"images": (np.full((1, 8, 8, 3), np.nan).tolist(), "float32")}),
            # 0..255 pixels, the natural REST mistake (issue 34): refused, not encoded to huge means.
            "pixels_0_255": ("reconstruct", {"images": (np.full((1, 8, 8, 3), 255.0).tolist(), "float32")}),
        },
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    job = {"exports": {}, "bad_requests": {}}
    expected = {}
    for name, model, precision in (("dcgan", tiny_dcgan(), "float32"), ("vae", tiny_vae(), "float32"),
                                   ("dcgan16", loud_dcgan(), "float16")):
        directory = savedmodel.export(model, base, name, interpolation_steps=STEPS, precision=precision,
                                      interpolation=INTERPOLATION[name.removesuffix("16")], warmup_batch_sizes=(1, 3))
        inputs, expected[name] = _references(model)
        np.savez(base / f"{name}_inputs.npz", **inputs)
        job["exports"][name] = {
            "dir": str(directory),
            "inputs": str(base / f"{name}_inputs.npz"),
            "outputs": str(base / f"{name}_outputs.npz"),
        }
    job["bad_requests"] = _bad_requests()
    result = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, json.dumps(job)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    outputs = {name: dict(np.load(spec["outputs"], allow_pickle=True)) for name, spec in job["exports"].items()}
    return {"base": base, "job": job, "report": report, "expected": expected, "outputs": outputs}


def test_fresh_process_never_imports_zoo_or_tfp(exported):
    assert exported["report"]["imported"] == []


def test_every_documented_signature_is_exported(exported):
    signatures = exported["report"]["signatures"]
    assert signatures["dcgan"] == signatures["dcgan16"] == sorted(savedmodel.SAMPLING_SIGNATURES)
    assert signatures["vae"] == sorted(VAE_SIGNATURES)


@pytest.mark.parametrize("name", ["dcgan", "vae"])
def test_signatures_match_the_keras_model(exported, name):
    outputs, expected = exported["outputs"][name], exported["expected"][name]
    for key, want in expected.items():
        np.testing.assert_allclose(outputs[key], want, atol=1e-5, rtol=0, err_msg=key)
    for key in outputs:
        if key.endswith("/images_uint8"):
            images = outputs[key.replace("images_uint8", "images")]
            assert outputs[key].dtype == np.uint8
            np.testing.assert_array_equal(outputs[key], np.round((images + 1) * 127.5).astype(np.uint8))


def test_sample_rows_depend_only_on_their_seed(exported):
    outputs, expected = exported["outputs"]["dcgan"], exported["expected"]["dcgan"]
    # The reference draws each row alone (sample_per_row); the signature got all three at once.
    assert np.all(np.abs(outputs["sample/z"]) <= 2.0)  # the non-parametric prior's domain
    assert len({tuple(row) for row in np.round(outputs["sample/z"], 6)}) == len(SEEDS)
    np.testing.assert_allclose(outputs["sample/z"], expected["sample/z"], atol=1e-6)


def test_interpolation_path_runs_from_z0_to_z1(exported):
    outputs = exported["outputs"]["dcgan"]
    inputs = dict(np.load(exported["job"]["exports"]["dcgan"]["inputs"]))
    path = outputs["interpolate/z"]
    assert path.shape == (2, STEPS, LATENT_DIM)
    np.testing.assert_allclose(path[:, 0], inputs["interpolate/z0"], atol=1e-6)
    np.testing.assert_allclose(path[:, -1], inputs["interpolate/z1"], atol=1e-6)
    assert outputs["interpolate/images"].shape == (2, STEPS, 8, 8, 1)
    # Matched: the inner points are the line's points moved onto the prior, not the line's.
    line = latent.interpolate(inputs["interpolate/z0"], inputs["interpolate/z1"], STEPS)
    assert np.abs(path[:, 1:-1] - line[:, 1:-1]).max() > 1e-3


@pytest.mark.parametrize(
    "label, message",
    [
        ("narrow_latent", "expected shape [?,4]"),
        ("rank3_latent", "expected shape [?,4]"),
        ("nan_latent", "z must hold finite numbers"),
        ("int_latent", "expect float"),
        ("seed_of_three", "expected shape [?,2]"),
        ("float_seed", "expect int32"),
        ("missing_seed", "must feed a value for placeholder tensor 'sample_seed'"),
        ("wide_z1", "expected shape [?,4]"),
        ("small_images", "expected shape [?,8,8,3]"),
        ("nan_images", "images must hold finite numbers"),
        ("pixels_0_255", "images must be float pixels in [-1, 1]: send x / 127.5 - 1 for 0..255 pixels"),
        ("nan_latent_float16", "z must hold finite numbers"),
        ("narrow_latent_float16", "expected shape [?,4]"),
    ],
)
def test_bad_requests_fail_with_a_clear_invalid_argument(exported, label, message):
    answer = exported["report"]["bad_requests"][label]
    assert answer.startswith("InvalidArgumentError"), answer
    assert message in answer, answer


def test_encode_refuses_pixels_outside_minus_one_one(exported):
    loaded = tf.saved_model.load(exported["job"]["exports"]["vae"]["dir"])
    images = np.full((2, 8, 8, 3), 200.0, np.float32)
    for signature in ("encode", "reconstruct"):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"images must be float pixels in \[-1, 1\]"):
            loaded.signatures[signature](images=tf.constant(images))
    edge = np.concatenate([np.full((1, 8, 8, 3), -1.0), np.full((1, 8, 8, 3), 1.0)]).astype(np.float32)
    assert np.isfinite(loaded.signatures["encode"](images=tf.constant(edge))["mean"].numpy()).all()


def test_good_request_through_the_session_path_is_accepted(exported):
    assert exported["report"]["bad_requests"]["good_latent"] == "accepted"


def test_warmup_records_are_prediction_logs_matching_the_signatures(exported):
    for name, signatures in (("dcgan", savedmodel.SAMPLING_SIGNATURES), ("vae", VAE_SIGNATURES),
                             ("dcgan16", savedmodel.SAMPLING_SIGNATURES)):
        records = exported["report"]["warmup"][name]
        assert len(records) == 2 * len(signatures)  # warm-up batch sizes 1 and 3
        assert sorted({r["signature"] for r in records}) == sorted(signatures)
        assert all(r["model"] == name and r["matches_signature"] and r["finite"] for r in records)


def test_every_op_is_core_tensorflow_in_a_fresh_process(exported):
    report = exported["report"]
    assert report["opcheck"] == {"dcgan": [], "vae": [], "dcgan16": []}
    assert not report["opcheck_imported_tfp"]
    ops = opcheck.inspect(exported["job"]["exports"]["dcgan"]["dir"]).ops
    # The prior's sampler is in the graph, vectorised: the Philox rounds as element-wise integer ops
    # (no random kernel, no loop over rows); the checks; the PNG encoder (a loop over images).
    assert {"BitwiseXor", "EnsureShape", "CheckNumerics", "Assert", "EncodePng"} <= set(ops)
    assert not any(op.startswith("Stateless") and "Random" in op for op in ops)


def test_saved_model_cli_lists_and_runs_the_signatures(exported, tmp_path):
    directory = exported["job"]["exports"]["vae"]["dir"]
    shown = subprocess.run(["saved_model_cli", "show", "--dir", directory, "--all"],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    for signature in VAE_SIGNATURES:
        assert f"signature_def['{signature}']" in shown.stdout
    for line in ("inputs['z'] tensor_info", "inputs['seed'] tensor_info", "inputs['z0'] tensor_info",
                 "outputs['images_uint8'] tensor_info", "outputs['mean'] tensor_info"):
        assert line in shown.stdout
    assert "DT_UINT8" in shown.stdout and "DT_INT32" in shown.stdout

    directory = exported["job"]["exports"]["dcgan"]["dir"]
    run = subprocess.run(
        ["saved_model_cli", "run", "--dir", directory, "--tag_set", "serve", "--signature_def", "sample",
         "--input_exprs", "seed=" + json.dumps(SEEDS.tolist()), "--outdir", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    images = np.load(tmp_path / "images.npy")
    np.testing.assert_allclose(images, exported["expected"]["dcgan"]["sample/images"], atol=1e-5)
    assert np.load(tmp_path / "images_uint8.npy").dtype == np.uint8


def test_export_info_and_repository_files(exported):
    base = exported["base"]
    info = json.loads((base / "vae" / "1" / "assets.extra" / savedmodel.EXPORT_INFO).read_text())
    assert info["latent_dim"] == LATENT_DIM and info["image_shape"] == [8, 8, 3]
    assert info["interpolation_steps"] == STEPS and info["signatures"][0] == "serving_default"
    assert info["interpolation"] == "linear"
    info = json.loads((base / "dcgan" / "1" / "assets.extra" / savedmodel.EXPORT_INFO).read_text())
    assert info["interpolation"] == "matched" and info["prior"] == "nonparametric"
    config = (base / "models.config").read_text()
    assert 'name: "dcgan"' in config and 'base_path: "/models/vae"' in config
    assert info["max_batch_size"] == savedmodel.DEFAULT_MAX_BATCH_SIZE
    # The server's merged batches are as large as the signatures accept.
    assert (base / "batching_parameters.txt").read_text().startswith("max_batch_size { value: 1024 }")


def test_sample_png_holds_the_sampled_pixels(exported):
    outputs = exported["outputs"]["dcgan"]
    pixels = np.stack([tf.io.decode_png(png).numpy() for png in outputs["sample_png/png_bytes"]])
    np.testing.assert_array_equal(pixels, outputs["sample/images_uint8"])


def test_float16_export_serves_the_float32_interface_within_the_bound(exported):
    outputs, expected = exported["outputs"]["dcgan16"], exported["expected"]["dcgan16"]
    # The prior is drawn in float32 as before: the same rows, bit for bit.
    np.testing.assert_array_equal(outputs["sample/z"], expected["sample/z"])
    np.testing.assert_array_equal(outputs["sample_png/z"], expected["sample/z"])
    bound = savedmodel.FLOAT16_MAX_UINT8_LEVELS
    for key, want in expected.items():
        got = outputs[key]
        assert got.dtype == np.float32, key
        np.testing.assert_allclose(got, want, atol=bound / 127.5, rtol=0, err_msg=key)
        if key.endswith("/images"):
            ours = outputs[key.replace("images", "images_uint8")]
            assert ours.dtype == np.uint8
            theirs = np.round((np.asarray(want) + 1) * 127.5).astype(np.int16)
            assert np.abs(ours.astype(np.int16) - theirs).max() <= bound, key
    # The loud generator's images use the range, and float16 rounding does move them.
    assert np.abs(outputs["sample/images"]).max() > 0.1
    assert np.abs(outputs["sample/images"] - expected["sample/images"]).max() > 1e-5


def test_float16_export_computes_in_float16(exported):
    from tensorflow.core.protobuf import saved_model_pb2

    directory = exported["job"]["exports"]["dcgan16"]["dir"]
    dtypes = tf.train.load_checkpoint(directory + "/variables/variables").get_variable_to_dtype_map()
    model = loud_dcgan()
    assert sum(dtype == tf.float16 for dtype in dtypes.values()) == len(model.generator.weights)
    proto = saved_model_pb2.SavedModel.FromString((exported["base"] / "dcgan16" / "1" / "saved_model.pb").read_bytes())
    heavy = [node.attr["T"].type for function in proto.meta_graphs[0].graph_def.library.function
             for node in function.node_def if node.op in ("MatMul", "Conv2DBackpropInput")]
    assert heavy and set(heavy) == {tf.float16.as_datatype_enum}


def test_float16_export_records_the_measured_differences(exported):
    base = exported["base"]
    info = json.loads((base / "dcgan16" / "1" / "assets.extra" / savedmodel.EXPORT_INFO).read_text())
    assert info["precision"] == "float16"
    measured = info["float16_vs_float32"]
    assert measured["seeds"] == savedmodel.FLOAT16_CHECK_SEEDS == 1000
    assert measured["max_allowed_uint8_levels"] == savedmodel.FLOAT16_MAX_UINT8_LEVELS
    assert 1 <= measured["max_diff_uint8_levels"] <= savedmodel.FLOAT16_MAX_UINT8_LEVELS
    # Seeds [0, 1] and [0, 2] are among the measured ones: the served difference is no larger.
    outputs, expected = exported["outputs"]["dcgan16"], exported["expected"]["dcgan16"]
    served = np.abs(outputs["sample/images"][:2] - expected["sample/images"][:2]).max()
    assert 0 < served <= measured["max_abs_diff_images"] + 1e-6
    float32_info = json.loads((base / "dcgan" / "1" / "assets.extra" / savedmodel.EXPORT_INFO).read_text())
    assert float32_info["precision"] == "float32" and "float16_vs_float32" not in float32_info


def test_float16_refuses_a_model_that_overflows_and_publishes_nothing(tmp_path):
    model = overflowing_dcgan()
    assert np.isfinite(_numpy(model.generator(np.ones((2, LATENT_DIM), np.float32)))).all()
    with pytest.raises(ExportError, match=r"not finite.*of the 1000 seeds.*--precision float32"):
        savedmodel.export(model, tmp_path, "overflow", precision="float16")
    with pytest.raises(ExportError, match="not finite"):
        savedmodel.write_saved_model(model, tmp_path / "direct", precision="float16")
    assert list(tmp_path.iterdir()) == []
    assert savedmodel.export(model, tmp_path, "overflow").is_dir()  # float32 serves it


def test_float16_refuses_images_moved_beyond_the_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(savedmodel, "FLOAT16_MAX_UINT8_LEVELS", 0)
    with pytest.raises(ExportError, match=r"uint8 pixels by up to [1-9]\d* levels.*more than the 0 levels allowed"):
        savedmodel.export(loud_dcgan(), tmp_path, "loud", precision="float16")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ExportError, match="precision must be one of float32, float16"):
        savedmodel.export(tiny_dcgan(), tmp_path, "g", precision="bfloat16")


def test_max_batch_size_is_enforced_in_the_graph_and_agrees_with_batching(tmp_path):
    model = tiny_dcgan()
    directory = tmp_path / "limited"
    savedmodel.write_saved_model(model, directory, max_batch_size=2)
    sample = tf.saved_model.load(str(directory)).signatures["sample"]
    assert sample(seed=tf.constant(SEEDS[:2]))["images"].shape[0] == 2
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"seed has more rows than this export serves at once \(2\)"):
        sample(seed=tf.constant(SEEDS))
    # A repository whose server merges up to 64 rows cannot take an export limited to 32.
    base = tmp_path / "base"
    savedmodel.export(model, base, "a", max_batch_size=64)
    with pytest.raises(ExportError, match="batches of up to 64 rows"):
        savedmodel.export(model, base, "b", max_batch_size=32)
    assert not (base / "b").exists()
    with pytest.raises(ExportError, match="max batch size"):
        savedmodel.export(model, base, "c", max_batch_size=0)


def test_export_holds_only_the_variables_the_signatures_read(exported):
    model = tiny_dcgan()
    reader = tf.train.load_checkpoint(exported["job"]["exports"]["dcgan"]["dir"] + "/variables/variables")
    stored = sum(int(np.prod(shape)) for key, shape in reader.get_variable_to_shape_map().items()
                 if key != "_CHECKPOINTABLE_OBJECT_GRAPH")
    # The generator and the prior's tables (bin probabilities and alias tables), once each; no discriminator.
    prior_size = sum(int(np.prod(weight.shape)) for weight in model.prior.weights)
    assert prior_size > int(model.prior.probs.shape[0])
    assert stored == model.generator.count_params() + prior_size


def test_refuses_models_it_cannot_serve(tmp_path):
    synthetic = models.DCGAN(models.synthetic_generator(latent_dim=4, hidden=8),
                             models.synthetic_discriminator(hidden=8))
    with pytest.raises(ExportError, match="not images"):
        savedmodel.export(synthetic, tmp_path, "points")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ExportError, match="only zoo models"):
        savedmodel.export(plain, tmp_path, "plain")
    with pytest.raises(ExportError, match="interpolation steps"):
        savedmodel.export(tiny_dcgan(), tmp_path, "g", interpolation_steps=1)
    with pytest.raises(ConfigError, match="model name"):
        savedmodel.export(tiny_dcgan(), tmp_path, "bad name")
    with pytest.raises(ExportError, match="linear, matched"):
        savedmodel.export(tiny_dcgan(), tmp_path, "g", interpolation="slerp")
    radial = models.DCGAN(models.dcgan_generator(image_size=8, channels=1, latent_dim=LATENT_DIM, width=4),
                          models.dcgan_discriminator(image_size=8, channels=1, width=4), prior="gamma")
    with pytest.raises(ExportError, match="radial.*--interpolation linear"):
        savedmodel.export(radial, tmp_path, "g", interpolation="matched")
    assert list(tmp_path.iterdir()) == []  # nothing written for a refused model


class _Unservable(tf.Module):
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def python(self, x):
        return tf.py_function(lambda v: v * 2, [x], tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)], jit_compile=True)
    def xla(self, x):
        return x * 2


def test_opcheck_rejects_python_ops_xla_and_unknown_ops(tmp_path):
    module = _Unservable()
    tf.saved_model.save(module, str(tmp_path), signatures={"python": module.python, "xla": module.xla})
    report = opcheck.inspect(tmp_path)
    assert report.python_ops == {"EagerPyFunc"}
    assert any("xla" in name for name in report.xla_functions)
    # An op from a custom-op library, as the stock server would meet it.
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel.FromString((tmp_path / "saved_model.pb").read_bytes())
    proto.meta_graphs[0].graph_def.library.function[0].node_def[0].op = "ZooCustomOp"
    (tmp_path / "saved_model.pb").write_bytes(proto.SerializeToString())
    with pytest.raises(ExportError, match="'ZooCustomOp'.*not registered in core TensorFlow"):
        opcheck.check(tmp_path)
    assert opcheck.main([str(tmp_path)]) == 1


def test_opcheck_command_line_passes_an_export(exported, capsys):
    assert opcheck.main([exported["job"]["exports"]["vae"]["dir"]]) == 0
    assert "all core TensorFlow, no XLA: ok" in capsys.readouterr().out
