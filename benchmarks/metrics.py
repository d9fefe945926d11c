"""Speed of the metrics: FID on 10,000 x 2048 features (ours vs scipy.linalg.sqrtm) and evaluation
throughput for a digits model.

    python benchmarks/metrics.py                      # both parts
    python benchmarks/metrics.py --skip-evaluate      # FID only (no TensorFlow)
    python benchmarks/metrics.py --samples 2000 --dim 512   # a quick run

The baseline is the textbook route (TTUR / pytorch-fid): ``scipy.linalg.sqrtm(S1 @ S2)`` on the same
statistics, timed in the same run. Target: ours >= 5x faster, equal to 1e-6 relative. The
evaluation part times ``zoo.metrics.evaluate`` (digits-FID at prior and mid-points, precision/recall)
on a digits DCGAN of the zoo's default width, untrained: the cost of generation plus features plus
metrics does not depend on the weights.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg


def _features(n, dim, seed, shift):
    rng = np.random.default_rng(seed)
    # Correlated, non-negative features like pooled ReLU activations.
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    return np.abs(rng.normal(shift, 1.0, size=(n, dim)) @ mixing).astype(np.float32)


def _scipy_fid(mu_1, s_1, mu_2, s_2):
    covmean = scipy.linalg.sqrtm(s_1 @ s_2).real
    return float(((mu_1 - mu_2) ** 2).sum() + np.trace(s_1) + np.trace(s_2) - 2 * np.trace(covmean))


def _best_of(repeats, function, *args):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function(*args)
        times.append(time.perf_counter() - start)
    return min(times), value


def bench_fid(samples: int, dim: int, repeats: int) -> None:
    from zoo.metrics.fid import FeatureStatistics, frechet_distance

    x, y = _features(samples, dim, 0, 0.0), _features(samples, dim, 1, 0.1)
    t_stats, (sx, sy) = _best_of(1, lambda: (FeatureStatistics.of(x), FeatureStatistics.of(y)))
    mu_1, s_1, mu_2, s_2 = sx.mean(), sx.covariance(), sy.mean(), sy.covariance()
    t_ours, ours = _best_of(repeats, frechet_distance, mu_1, s_1, mu_2, s_2)
    t_scipy, reference = _best_of(repeats, _scipy_fid, mu_1, s_1, mu_2, s_2)
    print(f"FID on {samples:,} x {dim} features (float64 statistics: {t_stats:.2f} s for both sets, streamed)")
    print(f"{'route':44s} {'seconds':>9s} {'FID':>14s}")
    print(f"{'scipy.linalg.sqrtm(S1 S2) (baseline)':44s} {t_scipy:9.3f} {reference:14.6f}")
    print(f"{'zoo: eigvalsh(F^T S2 F), S1 = F F^T':44s} {t_ours:9.3f} {ours:14.6f}")
    print(f"speed-up {t_scipy / t_ours:.1f}x (target >= 5x); relative difference {abs(ours - reference) / abs(reference):.2e} "
          "(target <= 1e-6); best of", repeats)


def bench_evaluate(samples: int) -> None:
    from zoo.metrics import evaluate
    from zoo.models import build_model

    model = build_model({"model": "dcgan", "image_size": 28, "channels": 1})
    evaluate(model, ["digits-fid"], samples=200, seed=0)  # warm-up: traces, classifier load, reference features
    report = evaluate(model, samples=samples, seed=1)
    print(f"\nzoo.metrics.evaluate, digits DCGAN (latent {model.latent_dim}, {model.count_params():,} params), "
          f"{samples:,} samples at prior + {samples:,} at mid-points, metrics {', '.join(report['metrics'])}:")
    print(f"{report['seconds']:.1f} s, {report['samples_per_second']:.0f} samples/s end to end")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--eval-samples", type=int, default=10_000)
    parser.add_argument("--skip-evaluate", action="store_true")
    args = parser.parse_args(argv)
    bench_fid(args.samples, args.dim, args.repeats)
    if not args.skip_evaluate:
        bench_evaluate(args.eval_samples)


if __name__ == "__main__":
    main()
