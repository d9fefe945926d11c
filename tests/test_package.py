"""The package itself: CLI entry point, quiet and lazy import, one-way imports."""

import ast
import pathlib
import subprocess
import sys

import zoo

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, **kwargs)


def test_version_is_exposed():
    assert zoo.__version__.count(".") == 2


def test_cli_help_and_version():
    result = _run("-m", "zoo", "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: zoo" in result.stdout
    result = _run("-m", "zoo", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"zoo {zoo.__version__}"


def test_cli_rejects_unknown_command():
    result = _run("-m", "zoo", "no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_import_zoo_is_lazy_and_quiet():
    code = "import sys, zoo; print('tensorflow' in sys.modules)"
    result = _run("-c", code)
    assert result.returncode == 0
    assert result.stdout.strip() == "False", "import zoo must not import TensorFlow"
    assert result.stderr == ""


_LOAD = """
import sys
{first}
print('keras' in sys.modules, 'zoo.models' in sys.modules)
{second}
model = keras.saving.load_model({path!r})
print(type(model).__name__, model.latent_dim)
"""


def test_import_zoo_is_enough_for_keras_load_model():
    # A .keras file names its classes "zoo>DCGAN", "zoo>LatentPrior", ...: Keras finds them after a
    # bare `import zoo` (which imports neither Keras nor TensorFlow), in either import order.
    presets = ROOT / "zoo" / "presets" / "data"
    for first, second, path, expected in [
        ("import zoo", "import keras", presets / "mnist_vae" / "model.keras", "VAE"),
        ("import keras", "import zoo", presets / "stacked_mnist_gdpp_gan" / "model.keras", "GDPPStackedMNISTDCGAN"),
    ]:
        result = _run("-c", _LOAD.format(first=first, second=second, path=str(path)))
        assert result.returncode == 0, result.stderr[-2000:]
        lines = result.stdout.split("\n")
        assert lines[0] == ("True False" if first == "import keras" else "False False")
        assert lines[1].split()[0] == expected
    # Without the zoo, Keras cannot (what the hook fixes).
    result = _run("-c", "import keras; keras.saving.load_model(%r)" % str(presets / "mnist_vae" / "model.keras"))
    assert result.returncode != 0 and "Could not locate class 'VAE'" in result.stderr


def test_tensorflow_import_through_zoo_is_quiet():
    # The first op runs device discovery, which prints a CUDA error line on GPU-less machines.
    result = _run("-c", "from zoo._tf import tf; print(float(tf.constant(1.0) + 1.0))")
    assert result.returncode == 0
    assert result.stderr == "", result.stderr


def _imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            if node.args and isinstance(node.args[0], ast.Constant):
                yield str(node.args[0].value)


def test_zoo_never_imports_training_or_exports():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "zoo").rglob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] in {"training", "exports", "demo"}
    ]
    assert offenders == []


def test_nothing_but_the_demo_imports_the_demo():
    # The demo page sits on top (it uses zoo and exports); nothing below may need Gradio.
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for package in ("zoo", "training", "exports")
        for path in (ROOT / package).rglob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] in {"demo", "gradio"}
    ]
    assert offenders == []


def test_models_never_import_presets():
    # Presets load models; a model that loaded presets would close an import circle.
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "zoo" / "models").rglob("*.py")
        for name in _imported_modules(path)
        if name == "zoo.presets" or name.startswith("zoo.presets.")
    ]
    assert offenders == []
