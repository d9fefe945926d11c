"""DCGAN and GDPP-DCGAN under tf.distribute.MirroredStrategy over two logical CPU devices.

Logical devices must be configured before TensorFlow initialises its runtime, which the rest of the
test session has already done, so the check runs in a fresh interpreter.
"""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from zoo._tf import tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from zoo.models import build_model

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    rng = np.random.default_rng(0)
    data = tf.data.Dataset.from_tensor_slices(rng.uniform(-1, 1, (64, 8, 8, 1)).astype("float32"))
    data = data.batch(16, drop_remainder=True)
    results = {"replicas": strategy.num_replicas_in_sync}
    for weight in (0.0, 1.0):
        with strategy.scope():
            model = build_model({"model": "dcgan", "image_size": 8, "channels": 1, "width": 4,
                                 "latent_dim": 4, "diversity_weight": weight})
        initial = [np.array(v) for v in model.generator.trainable_variables]
        history = model.fit(data, epochs=2, verbose=0).history
        # Every mirrored variable must hold the same value on both devices after the updates.
        in_sync = all(
            np.array_equal(*[np.asarray(c) for c in strategy.experimental_local_results(v.value)])
            for v in model.trainable_variables
        )
        moved = any(not np.allclose(a, np.array(v)) for a, v in zip(initial, model.generator.trainable_variables))
        results[str(weight)] = {
            "history": {k: [float(x) for x in v] for k, v in history.items()},
            "in_sync": bool(in_sync),
            "generator_moved": bool(moved),
            "d_steps": int(model.d_optimizer.iterations.numpy()),
        }
    print("RESULT " + json.dumps(results))
    """
)


def test_mirrored_strategy_trains_dcgan_and_gdpp_dcgan():
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and lines, completed.stderr[-3000:]
    results = json.loads(lines[-1][len("RESULT "):])
    assert results["replicas"] == 2
    for weight, expected_logs in (("0.0", {"d_loss", "g_loss"}), ("1.0", {"d_loss", "g_loss", "gdpp_loss"})):
        run = results[weight]
        assert set(run["history"]) == expected_logs
        assert all(all(map(lambda x: x == x and abs(x) < 1e6, values)) for values in run["history"].values())
        assert run["in_sync"] and run["generator_moved"]
        assert run["d_steps"] == 8  # 4 global batches x 2 epochs, one update per global batch
