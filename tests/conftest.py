import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Two-core CI machine: keep TensorFlow from oversubscribing it when tests run in one process.
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")

import pytest

#: What the demo tests export: two digits DCGANs differing only in their prior (plus, on first use,
#: the Stacked-MNIST pair of the Diversity tab), into one cache shared by the session.
DEMO_PRESETS = ("digits_dcgan_nonparametric", "digits_dcgan_normal")
DEMO_MODES_SAMPLES = 200


@pytest.fixture(scope="session")
def demo_handlers(tmp_path_factory):
    """``demo.app.Handlers`` over :data:`DEMO_PRESETS` exported into a session-scoped cache."""
    from demo import app, backends
    from demo.cache import Cache

    cache = Cache(tmp_path_factory.mktemp("demo-cache"))
    return app.Handlers(backends.local_models(list(DEMO_PRESETS), cache), cache, modes_samples=DEMO_MODES_SAMPLES)
