"""TF Serving repository layout: atomic versions, models.config, batching parameters (no TensorFlow model)."""

import json
import pathlib
import threading

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format, wrappers_pb2
from tensorflow_serving.config import model_server_config_pb2

from exports import repository
from zoo.errors import ConfigError


def _write_files(staging):
    (staging / "saved_model.pb").write_bytes(b"model")
    (staging / "variables").mkdir()


def test_versions_count_up_and_ignore_non_integer_entries(tmp_path):
    assert repository.next_version(tmp_path / "m") == 1
    first = repository.publish(tmp_path, "m", _write_files)
    (tmp_path / "m" / "notes").mkdir()
    (tmp_path / "m" / "7.txt").write_text("")
    second = repository.publish(tmp_path, "m", _write_files)
    assert (first.name, second.name) == ("1", "2")
    assert repository.versions(tmp_path / "m") == [1, 2]
    assert (second / "saved_model.pb").read_bytes() == b"model"
    # Nothing but the versions and the lock is left next to them (no staging directories).
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [".export.lock", "1", "2", "7.txt", "notes"]


def test_explicit_version_is_never_overwritten(tmp_path):
    repository.publish(tmp_path, "m", _write_files, version=5)
    with pytest.raises(ConfigError, match="never overwritten"):
        repository.publish(tmp_path, "m", lambda d: (d / "saved_model.pb").write_bytes(b"other"), version=5)
    assert (tmp_path / "m" / "5" / "saved_model.pb").read_bytes() == b"model"
    assert repository.publish(tmp_path, "m", _write_files).name == "6"


def test_failed_write_leaves_the_repository_untouched(tmp_path):
    repository.publish(tmp_path, "m", _write_files)

    def broken(staging):
        (staging / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        repository.publish(tmp_path, "m", broken)
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [".export.lock", "1"]
    assert repository.next_version(tmp_path / "m") == 2


def test_the_server_never_sees_a_partial_version(tmp_path):
    seen_during_write = []

    def slow(staging):
        seen_during_write.append(repository.versions(tmp_path / "m"))
        _write_files(staging)

    repository.publish(tmp_path, "m", slow)
    assert seen_during_write == [[]]  # the staging directory is not an integer version


def test_concurrent_exports_get_distinct_versions(tmp_path):
    barrier = threading.Barrier(4)
    results = []

    def export():
        def write(staging):
            barrier.wait()  # all four are writing before any renames
            _write_files(staging)

        results.append(repository.publish(tmp_path, "m", write).name)

    threads = [threading.Thread(target=export) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["1", "2", "3", "4"]


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "x y", "../up", 3])
def test_bad_model_names_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="model name"):
        repository.publish(tmp_path, name, _write_files)
    assert list(tmp_path.iterdir()) == []


def test_bad_versions_are_refused(tmp_path):
    for version in (0, -1, True, "2"):
        with pytest.raises(ConfigError, match="positive integer"):
            repository.publish(tmp_path, "m", _write_files, version=version)


def test_models_config_parses_as_model_server_config(tmp_path):
    repository.publish(tmp_path, "vae", _write_files)
    repository.publish(tmp_path, "dcgan", _write_files)
    (tmp_path / "empty").mkdir()  # a model directory without versions is not served
    path = repository.write_models_config(tmp_path, "/srv/models/")
    config = text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())
    entries = [(c.name, c.base_path, c.model_platform) for c in config.model_config_list.config]
    assert entries == [
        ("dcgan", "/srv/models/dcgan", "tensorflow"),
        ("vae", "/srv/models/vae", "tensorflow"),
    ]
    assert all(c.model_version_policy.latest.num_versions == 1 for c in config.model_config_list.config)
    assert not any(p.name.startswith(".models.config") for p in tmp_path.iterdir())


def test_models_config_refuses_a_relative_serving_root(tmp_path):
    with pytest.raises(ConfigError, match="absolute path"):
        repository.write_models_config(tmp_path, "models")


def _batching_parameters_class():
    # BatchingParameters (tensorflow_serving/servables/tensorflow/session_bundle_config.proto) is not
    # in the tensorflow-serving-api wheel; this is its field list, so the text proto is parsed for real.
    pool = descriptor_pool.DescriptorPool()
    wrappers = descriptor_pb2.FileDescriptorProto()
    wrappers_pb2.DESCRIPTOR.CopyToProto(wrappers)
    pool.Add(wrappers)
    file = descriptor_pb2.FileDescriptorProto(
        name="session_bundle_config.proto", package="tensorflow.serving",
        dependency=["google/protobuf/wrappers.proto"], syntax="proto3",
    )
    message = file.message_type.add(name="BatchingParameters")
    F = descriptor_pb2.FieldDescriptorProto
    for number, (name, kind) in enumerate(
        [("max_batch_size", "Int64Value"), ("batch_timeout_micros", "Int64Value"),
         ("max_enqueued_batches", "Int64Value"), ("num_batch_threads", "Int64Value"),
         ("thread_pool_name", "StringValue")], start=1,
    ):
        message.field.add(name=name, number=number, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                          type_name=f".google.protobuf.{kind}")
    message.field.add(name="allowed_batch_sizes", number=6, type=F.TYPE_INT64, label=F.LABEL_REPEATED)
    message.field.add(name="pad_variable_length_inputs", number=7, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL)
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters"))


def test_batching_parameters_parse_as_the_servers_proto(tmp_path):
    parameters = repository.BatchingParameters(max_batch_size=128, allowed_batch_sizes=(8, 32, 128))
    path = repository.write_batching_parameters(tmp_path, parameters)
    parsed = text_format.Parse(path.read_text(), _batching_parameters_class()())
    assert parsed.max_batch_size.value == 128
    assert parsed.batch_timeout_micros.value == parameters.batch_timeout_micros
    assert parsed.num_batch_threads.value == parameters.num_batch_threads
    assert list(parsed.allowed_batch_sizes) == [8, 32, 128]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_batch_size": 0}, "max_batch_size"),
        ({"num_batch_threads": 2.5}, "num_batch_threads"),
        ({"batch_timeout_micros": -1}, "batch_timeout_micros"),
        ({"allowed_batch_sizes": (8, 4, 64)}, "increasing"),
        ({"allowed_batch_sizes": (8, 32)}, "must equal max_batch_size"),
    ],
)
def test_bad_batching_parameters_are_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        repository.BatchingParameters(**kwargs)


BEFORE = json.loads((pathlib.Path(__file__).parent / "data" / "serving_files_before_issue31.json").read_text())


def test_repository_files_are_byte_for_byte_what_the_hand_written_encoder_wrote():
    # The files before tensorflow-serving-api's messages replaced the hand-written text (the
    # fixture was written by that code): a fresh models.config, merges into operators' files
    # (comments, '<>' brackets, an empty list, a listed model, a file with only a comment) and the
    # batching parameters.
    fresh = BEFORE["fresh"]
    assert repository.models_config_text(fresh["names"], fresh["root"]) == fresh["text"]
    for case in BEFORE["merges"]:
        assert repository.merge_models_config(case["text"], case["names"], case["root"]) == case["merged"], case
    for case in BEFORE["batching"]:
        args = {k: tuple(v) if isinstance(v, list) else v for k, v in case["args"].items()}
        assert repository.BatchingParameters(**args).text() == case["text"]


def test_models_config_brackets_in_strings_and_comments_do_not_move_the_insertion():
    text = ('model_config_list {  # a "}" here\n  config {\n    name: "a}>"\n    base_path: "/m/a"\n  }\n'
            '}  # closing } >\n# > last\n')
    merged = repository.merge_models_config(text, ["b"], "/m")
    assert merged.startswith(text[: text.index("}  # closing")]) and merged.endswith("}  # closing } >\n# > last\n")
    config = text_format.Parse(merged, model_server_config_pb2.ModelServerConfig())
    assert [c.name for c in config.model_config_list.config] == ["a}>", "b"]
    with pytest.raises(ConfigError, match="not a valid ModelServerConfig"):
        repository.merge_models_config(text + "model_config_list { }\n", ["c"], "/m")  # a second list
