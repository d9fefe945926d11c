"""Preset loading: seconds from a fresh Python process to a model that has generated one batch.

For every shipped preset, two fresh processes are timed (best of ``--repeats``):

* ``zoo.load``: ``import zoo; m = zoo.load(name); m.generate(16, 0)``;
* baseline: ``keras.saving.load_model(<preset>/model.keras, compile=False)`` after the same imports,
  then the same ``generate``: what loading the file by hand costs, measured in the same run.

The issue's target is ``zoo.load`` under 2 s (the ``load`` column; process start-up and the
TensorFlow import are reported separately in ``import``). Run: ``python benchmarks/presets_load.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
from zoo._tf import tf
import keras, zoo, zoo.models, zoo.presets
t1 = time.perf_counter()
name, how = sys.argv[1], sys.argv[2]
if how == "zoo":
    model = zoo.load(name)
else:
    model = keras.saving.load_model(zoo.presets.preset_dir(name) / "model.keras", compile=False)
t2 = time.perf_counter()
model.generate(16, 0)
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "generate": t3 - t2}))
"""


def _time(name: str, how: str, repeats: int) -> dict:
    runs = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", _SCRIPT, name, how], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return min(runs, key=lambda r: r["load"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--only", nargs="+", help="presets to time (default: all)")
    args = parser.parse_args()

    import zoo.presets

    names = args.only or list(zoo.presets.presets())
    print(f"{'preset':<34} {'import s':>8} {'zoo.load s':>10} {'keras s':>8} {'generate s':>10}  <2 s")
    for name in names:
        ours, base = _time(name, "zoo", args.repeats), _time(name, "keras", args.repeats)
        print(f"{name:<34} {ours['import']:>8.2f} {ours['load']:>10.2f} {base['load']:>8.2f} "
              f"{ours['generate']:>10.2f}  {'yes' if ours['load'] < 2 else 'NO'}")


if __name__ == "__main__":
    main()
