"""Loss functions of the zoo's models: GDPP, adversarial losses and the VAE terms.

Pure functions on tensors. Every function returns a float32 scalar whatever the input dtype (so the
losses stay float32 under a ``mixed_float16`` policy).

GDPP (Elfeki et al., ICML 2019) as the authors' code computes it (``papers.md`` 2.2)::

    phi      = l2_normalize(features, axis=1)            # [B, d], one unit row per sample
    L        = phi @ phi.T                               # [B, B] cosine-similarity kernel
    lam, V   = eigh(L)                                   # ascending eigenvalues, eigenvectors as columns
    loss     = 1e-4 * mean((lam_real - lam_fake)**2)     # 1e-4: GDPP_EIGENVALUE_WEIGHT
               - sum_i minmax(lam_real)_i * <V_fake[:, i], V_real[:, i]>

Eigenpairs are matched by their sorted index, with no alignment of the fake eigenvectors to the
real ones. That is the default. Two options depart from the authors' code (labelled so wherever
they appear; ``docs/models.md`` describes them, ``docs/results.md`` has their measurements):

* ``eigenvalue_term="paper_sum"``: the eigenvalue (magnitude) term at the weight of the paper's
  equation 5, ``sum((lam_real - lam_fake)**2)``, instead of the code's ``1e-4 * mean(...)`` (about
  ``1.6e-6`` of it at batch 64). On a trained discriminator this is the part of the loss that tells
  a generated batch from a second real one; the structure term does not.
* ``centre_features=True``: each batch's feature mean is subtracted before the per-sample
  normalisation, ``phi = l2_normalize(f - mean_batch(f), axis=1)``. Post-activation features share
  one large mean direction (99 % of the uncentred kernel's trace on the trained Stacked-MNIST
  discriminator), so the top eigenpairs of any two batches agree and the term saturates near ``-1``;
  centred, the spectrum shows the spread of the batch around its mean.

Two things the authors' code left to chance are made deterministic here:

* the sign of each eigenvector (a solver's choice: LAPACK, Eigen and cuSOLVER differ) is fixed,
  separately for real and fake: the largest-magnitude component of ``V[:, i]`` is positive, so the
  loss is the same on every solver. (Taking the sign from the feature-space direction
  ``phi.T @ V[:, i]`` instead was measured on the grid and is no better: docs/results.md.)
* ``minmax`` returns the eigenvalues unchanged when ``max - min < 1e-10`` (the guard
  pytorch_GAN_zoo added after NaN reports).

Numerical safety. Eigenvector gradients contain ``1 / (lam_i - lam_j)``; they are infinite when
eigenvalues repeat, which they always do when ``B > d`` (the kernel has rank <= d, so ``B - d``
eigenvalues are 0), for identical rows, and for an identity kernel. :func:`gdpp_loss` therefore

* decomposes the dual ``d x d`` Gram ``phi.T @ phi`` instead of the ``B x B`` kernel when the batch
  size is static and larger than ``d``.
  Both share their nonzero spectrum; a dual eigenvector ``w`` maps to the kernel eigenvector
  ``phi @ w / sqrt(lam)``. The ``B - d`` missing eigenvalues are exactly 0, so they sort first and
  their eigenvectors carry weight ``minmax(0) = 0`` in the structure term: leaving them out changes
  nothing but rounding. Eigenvalues below ``1e-9 * lam_max`` are treated as such zeros.
* uses an eigen-decomposition whose backward pass damps the pair factor to
  ``(lam_i - lam_j) / ((lam_i - lam_j)**2 + 1e-8)``: within 1% of the exact gradient for gaps
  above 1e-3 (float32 eigensolvers are accurate to about 1e-6 * B, so smaller gaps are mostly
  rounding), bounded by 5e3 instead of 1 / gap, and 0 inside an exactly degenerate eigenspace.
  (The min-max normalisation stays the authors': its gradient grows as 1 / (max - min) when all
  real eigenvalues nearly coincide, down to the 1e-10 guard.)
* runs the decomposition in float64 by default (``compute_dtype``); pass ``"float32"`` for devices
  without float64 eigen solvers (TPU).
"""

from __future__ import annotations

import numbers

import numpy as np

from zoo._tf import tf  # noqa: F401  (quiet TensorFlow import before keras)

from zoo.errors import ConfigError

#: The authors' weight of the eigenvalue (magnitude) term relative to the structure term.
GDPP_EIGENVALUE_WEIGHT = 1e-4
#: ``gdpp_loss``'s eigenvalue terms: the authors' code (``1e-4 * mean``, the default) and the paper's
#: equation 5 (``sum``, weight 1; a departure from the authors' code).
EIGENVALUE_TERMS = ("authors_code", "paper_sum")
#: Squared half-width of the damping applied to eigenvector gradients of nearly equal eigenvalues.
_EIGH_GRAD_DAMPING = 1e-8
#: Below this fraction of the largest eigenvalue an eigenvalue is treated as an exact zero.
_ZERO_EIGENVALUE_RTOL = 1e-9
#: The min == max guard of the eigenvalue normalisation.
_MINMAX_GUARD = 1e-10
#: A centred feature row shorter than this many machine epsilons of its uncentred norm is rounding.
_CENTRED_ROUNDING = 1e3

ADVERSARIAL_LOSSES = ("non_saturating", "hinge", "wasserstein")
RECONSTRUCTION_LOSSES = ("bernoulli", "gaussian")


@tf.custom_gradient
def _damped_eigh(matrix):
    """``tf.linalg.eigh`` of a symmetric matrix with degeneracy-safe gradients (see module doc)."""
    eigenvalues, eigenvectors = tf.linalg.eigh(matrix)

    def grad(grad_values, grad_vectors):
        gaps = eigenvalues[tf.newaxis, :] - eigenvalues[:, tf.newaxis]  # [i, j] = lam_j - lam_i
        pair = gaps / (tf.square(gaps) + tf.cast(_EIGH_GRAD_DAMPING, gaps.dtype))
        pair = tf.linalg.set_diag(pair, tf.zeros_like(eigenvalues))
        inner = tf.linalg.diag(grad_values) + pair * tf.matmul(eigenvectors, grad_vectors, transpose_a=True)
        grad_matrix = tf.matmul(eigenvectors, tf.matmul(inner, eigenvectors, transpose_b=True))
        # The kernel is symmetric by construction: return the gradient along symmetric perturbations.
        return 0.5 * (grad_matrix + tf.transpose(grad_matrix))

    return (eigenvalues, eigenvectors), grad


def _signed(eigenvectors, reference):
    """Flip each column of ``eigenvectors`` so that the largest-magnitude component of the same
    column of ``reference`` is positive (a constant factor: no gradient)."""
    index = tf.argmax(tf.abs(reference), axis=0, output_type=tf.int32)
    pivots = tf.gather(tf.transpose(reference), index, batch_dims=1)
    signs = tf.stop_gradient(tf.where(pivots < 0, -tf.ones_like(pivots), tf.ones_like(pivots)))
    return eigenvectors * signs[tf.newaxis, :]


def _uses_dual(features):
    """Decompose the d x d dual Gram when the batch is known to be larger than the feature size."""
    batch, dims = features.shape
    return batch is not None and dims is not None and batch > dims


def _centred(features):
    """``features - batch mean``, with rows that are zero up to rounding set to exact zeros.

    A sample equal to the batch mean (every sample, for identical rows: a fully collapsed batch)
    leaves a centred row of rounding residue; normalised, that residue would become a unit row of
    noise with gradients of order ``1 / residue``. Rows below ``_CENTRED_ROUNDING`` machine epsilons
    of their uncentred norm are therefore zero rows: no direction and no gradient, like a dead unit.
    """
    centred = features - tf.reduce_mean(features, axis=0, keepdims=True)
    tolerance = _CENTRED_ROUNDING * np.finfo(features.dtype.as_numpy_dtype).eps * tf.norm(features, axis=1)
    kept = tf.norm(centred, axis=1) > tolerance
    return tf.where(kept[:, tf.newaxis], centred, tf.zeros_like(centred))


def _kernel_spectrum(features, compute_dtype, centre_features=False):
    """Eigenvalues and eigenvectors of the normalised kernel ``L = phi phi^T``.

    Returns ``(values [k], vectors [B, k])``, ascending: ``k = B`` from the primal kernel, or
    ``k = d < B`` from the dual Gram (see :func:`_uses_dual`), where the ``B - d`` left-out
    eigenvalues are exactly zero. Dual eigenvectors of (numerically) zero eigenvalues are returned as
    zero columns: their structure weight is zero either way. Signs as the module docstring says.
    ``centre_features`` subtracts the batch mean before the normalisation (an option beyond the
    authors' code).
    """
    features = tf.cast(features, compute_dtype)
    if centre_features:
        features = _centred(features)
    phi = tf.math.l2_normalize(features, axis=1)
    # A diverging run feeds NaN/inf features; the eigensolver would abort the step with an opaque
    # error. Decompose zeros instead and let gdpp_loss return NaN, which the NaN stop reports.
    phi = tf.where(tf.math.is_finite(phi), phi, tf.zeros_like(phi))
    if not _uses_dual(features):
        values, vectors = _damped_eigh(tf.matmul(phi, phi, transpose_b=True))
        return values, _signed(vectors, vectors)
    values, dual_vectors = _damped_eigh(tf.matmul(phi, phi, transpose_a=True))
    nonzero = values > _ZERO_EIGENVALUE_RTOL * tf.maximum(values[-1], tf.cast(1e-30, compute_dtype))
    safe = tf.where(nonzero, values, tf.ones_like(values))
    scale = tf.where(nonzero, tf.math.rsqrt(safe), tf.zeros_like(values))
    vectors = tf.matmul(phi, dual_vectors) * scale[tf.newaxis, :]
    return values, _signed(vectors, vectors)


def _minmax(values):
    low = tf.reduce_min(values)
    spread = tf.reduce_max(values) - low
    degenerate = spread < _MINMAX_GUARD
    safe_spread = tf.where(degenerate, tf.ones_like(spread), spread)
    return tf.where(degenerate, values, (values - low) / safe_spread)


COMPUTE_DTYPES = ("float64", "float32")


def gdpp_loss(real_features, fake_features, compute_dtype="float64", eigenvalue_term="authors_code",
              centre_features=False):
    """GDPP diversity loss of a fake batch against a real batch (module docstring has the maths).

    Args:
        real_features: ``[B, d]`` features of real samples (the discriminator's or encoder's last
            hidden layer), any float dtype (integer arrays are cast to ``compute_dtype``). Gradients
            flow into both (float) arguments.
        fake_features: ``[B, d]`` features of generated samples, same shape.
        compute_dtype: dtype of the kernel and eigen-decomposition, ``"float64"`` or ``"float32"``.
        eigenvalue_term: ``"authors_code"`` (default): ``1e-4 * mean((lam_real - lam_fake)**2)``, as
            the authors' code; ``"paper_sum"``: ``sum((lam_real - lam_fake)**2)``, the paper's
            equation 5 at weight 1 (a departure from the authors' code; in ``[0, 2 B**2]`` since each
            spectrum sums to at most ``B``).
        centre_features: ``False`` (default, the authors' code) or ``True``: subtract each batch's
            feature mean before the L2 normalisation (a departure from the authors' code).

    Returns:
        float32 scalar. The structure term lies in ``[-S, S]`` with ``S = sum(minmax(lam_real))``;
        for ``real == fake`` the loss is ``-S`` (its minimum), so the loss is usually negative.
        A batch whose size is only known at run time and turns out smaller than 2 (the partial last
        batch of ``fit(x, batch_size=...)``) gives exactly 0 with zero gradients: the kernel of one
        sample has a single eigenvalue and no diversity to measure, so the term is skipped.

    Raises:
        ConfigError: shapes differ, are not rank 2, a static batch has fewer than 2 rows, features
            that are not numbers (bool, string, complex), an unknown ``compute_dtype`` or
            ``eigenvalue_term``, or a non-bool ``centre_features``.
    """
    check_gdpp_options(compute_dtype, eigenvalue_term, centre_features)
    real_features = _real_valued(real_features, "real_features", compute_dtype)
    fake_features = _real_valued(fake_features, "fake_features", compute_dtype)
    if real_features.shape.rank != 2 or real_features.shape != fake_features.shape:
        raise ConfigError(
            "gdpp_loss needs real and fake features of the same shape [batch, features]; got "
            f"{real_features.shape} and {fake_features.shape}. Flatten the feature maps first."
        )
    if real_features.shape[0] is not None and real_features.shape[0] < 2:
        raise ConfigError(
            f"gdpp_loss needs a batch of at least 2 samples (got {real_features.shape[0]}): the "
            "kernel of one sample has a single eigenvalue and carries no diversity signal."
        )
    real_values, real_vectors = _kernel_spectrum(real_features, compute_dtype, centre_features)
    fake_values, fake_vectors = _kernel_spectrum(fake_features, compute_dtype, centre_features)
    # The left-out eigenvalues are zeros in both spectra: they add 0 to the squared difference
    # but count in the mean's denominator, and (being the minimum) in the min-max normalisation.
    magnitude = tf.reduce_sum(tf.square(real_values - fake_values))
    if eigenvalue_term == "authors_code":
        magnitude = GDPP_EIGENVALUE_WEIGHT * magnitude / tf.cast(tf.shape(real_features)[0], compute_dtype)
    padded = _uses_dual(real_features)
    full_real_values = tf.concat([tf.zeros([1], compute_dtype), real_values], 0) if padded else real_values
    weights = _minmax(full_real_values)[1:] if padded else _minmax(full_real_values)
    agreement = tf.reduce_sum(fake_vectors * real_vectors, axis=0)
    structure = -tf.reduce_sum(weights * agreement)
    finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(real_features)),
                            tf.reduce_all(tf.math.is_finite(fake_features)))
    loss = tf.where(finite, magnitude + structure, tf.constant(float("nan"), compute_dtype))
    if real_features.shape[0] is None:
        loss = tf.where(tf.shape(real_features)[0] >= 2, loss, tf.zeros_like(loss))
    return tf.cast(loss, tf.float32)


def _real_valued(features, name, compute_dtype):
    """``features`` as a float tensor: float dtypes as given, integers cast to ``compute_dtype``
    (exactly, below 2**53); booleans, strings and complex numbers refused."""
    features = tf.convert_to_tensor(features)
    if features.dtype.is_floating:
        return features
    if features.dtype.is_integer:
        return tf.cast(features, compute_dtype)
    raise ConfigError(
        f"gdpp_loss needs real-valued features (a float or integer array), but {name} has dtype "
        f"{features.dtype.name}; pass the discriminator's or encoder's float features."
    )


def check_gdpp_options(compute_dtype, eigenvalue_term="authors_code", centre_features=False, prefix=""):
    """ConfigError unless :func:`gdpp_loss` accepts these options; messages name ``prefix + argument``
    (models check their ``gdpp_*`` options at construction, before any training)."""
    if compute_dtype not in COMPUTE_DTYPES:
        raise ConfigError(f"{prefix}compute_dtype must be 'float64' or 'float32', got {compute_dtype!r}.")
    if eigenvalue_term not in EIGENVALUE_TERMS:
        raise ConfigError(
            f"{prefix}eigenvalue_term must be 'authors_code' (1e-4 * mean, the authors' code) or 'paper_sum' "
            f"(the paper's equation 5: sum, weight 1), got {eigenvalue_term!r}."
        )
    if not isinstance(centre_features, bool):
        raise ConfigError(f"{prefix}centre_features must be true or false, got {centre_features!r}.")


def _check_kind(kind, allowed, what):
    if kind not in allowed:
        raise ConfigError(f"Unknown {what} {kind!r}; choose one of {', '.join(allowed)}.")


def discriminator_loss(real_logits, fake_logits, kind="non_saturating", label_smoothing=0.0, two_sided=False):
    """Discriminator loss on logits ``[B, 1]`` (or ``[B]``), float32 scalar.

    ``non_saturating``: ``BCE(real, 1 - s) + BCE(fake, t)`` with ``s = label_smoothing`` and
    ``t = s`` when ``two_sided`` (the GDPP Stacked-MNIST code: targets 0.9 / 0.1), else ``t = 0``
    (one-sided smoothing: only the real target moves). ``hinge``:
    ``mean(relu(1 - real)) + mean(relu(1 + fake))``. ``wasserstein`` (a WGAN critic's scores, no
    sigmoid): ``mean(fake) - mean(real)``, the negated Kantorovich-Rubinstein estimate of W1; add
    :func:`gradient_penalty` for WGAN-GP. ``label_smoothing`` must be 0 for both.
    """
    _check_kind(kind, ADVERSARIAL_LOSSES, "adversarial loss")
    check_label_smoothing(kind, label_smoothing)
    real_logits = tf.cast(real_logits, tf.float32)
    fake_logits = tf.cast(fake_logits, tf.float32)
    if kind == "hinge":
        return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
    if kind == "wasserstein":
        return tf.reduce_mean(fake_logits) - tf.reduce_mean(real_logits)
    real_targets = tf.fill(tf.shape(real_logits), 1.0 - label_smoothing)
    fake_targets = tf.fill(tf.shape(fake_logits), label_smoothing if two_sided else 0.0)
    real = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    fake = tf.nn.sigmoid_cross_entropy_with_logits(labels=fake_targets, logits=fake_logits)
    return tf.reduce_mean(real) + tf.reduce_mean(fake)


def generator_loss(fake_logits, kind="non_saturating", label_smoothing=0.0):
    """Generator loss on the discriminator's logits of fakes, float32 scalar.

    ``non_saturating``: ``BCE(fake, 1 - s)``, ``s = label_smoothing``; for ``s = 0`` that is
    ``mean(softplus(-fake))``. The GDPP Stacked-MNIST code targets 0.9 (``s = 0.1``, with two-sided
    smoothing in :func:`discriminator_loss`). ``hinge`` and ``wasserstein``: ``-mean(fake)`` (``s``
    must be 0).
    """
    _check_kind(kind, ADVERSARIAL_LOSSES, "adversarial loss")
    check_label_smoothing(kind, label_smoothing)
    fake_logits = tf.cast(fake_logits, tf.float32)
    if kind in ("hinge", "wasserstein"):
        return -tf.reduce_mean(fake_logits)
    if not label_smoothing:
        return tf.reduce_mean(tf.nn.softplus(-fake_logits))
    targets = tf.fill(tf.shape(fake_logits), 1.0 - label_smoothing)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=fake_logits))


def check_label_smoothing(kind, label_smoothing):
    """Raise ``ConfigError`` unless ``label_smoothing`` is a number in [0, 1), and 0 for ``hinge``."""
    if not isinstance(label_smoothing, numbers.Real) or not 0.0 <= label_smoothing < 1.0:
        raise ConfigError(f"label_smoothing must be a number in [0, 1), got {label_smoothing!r}.")
    if kind != "non_saturating" and label_smoothing:
        raise ConfigError(f"label_smoothing applies to the non_saturating loss only; set it to 0 for {kind}.")


#: Added under the square root of the gradient norm: ``sqrt`` has an infinite derivative at 0.
_GRADIENT_NORM_EPSILON = 1e-12


def gradient_penalty(critic, real, fake, alpha):
    """WGAN-GP's two-sided gradient penalty (Gulrajani et al. 2017, eq. 3), float32 scalar.

    ``mean_i (||grad_x critic(x_i)|| - 1)^2`` at the interpolates ``x_i = real_i + alpha_i (fake_i -
    real_i)``. Multiply by the penalty weight (10 in the paper) and add it to the critic's
    ``discriminator_loss(..., "wasserstein")``.

    Args:
        critic: callable ``x [B, ...] -> scores [B]`` or ``[B, 1]`` (raw scores, no sigmoid). The
            penalty is per sample, so the critic must treat samples independently (no BatchNorm).
        real, fake: ``[B, ...]`` samples of one shape.
        alpha: ``[B]`` mixing weights, drawn ``U[0, 1]`` per sample (not normal: a bug of some
            published ports); broadcast over the sample axes.

    The norm is ``sqrt(sum g^2 + 1e-12)``: a plain ``sqrt`` has an infinite derivative where the
    gradient vanishes. The result is differentiable in the critic's variables (double backprop).
    """
    real = tf.cast(real, tf.float32)
    fake = tf.cast(fake, tf.float32)
    alpha = tf.reshape(tf.cast(alpha, tf.float32), [-1] + [1] * (real.shape.rank - 1))
    interpolates = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        score_sum = tf.reduce_sum(tf.cast(critic(interpolates), tf.float32))  # rows are independent
    gradients = tape.gradient(score_sum, interpolates)
    squared = tf.reduce_sum(tf.square(gradients), axis=list(range(1, real.shape.rank)))
    return tf.reduce_mean(tf.square(tf.sqrt(squared + _GRADIENT_NORM_EPSILON) - 1.0))


def vae_reconstruction_loss(images, decoder_outputs, kind="bernoulli", scale=0.1):
    """Negative log-likelihood of ``images`` (``[B, ...]`` in [-1, 1]), summed per sample, batch mean.

    ``bernoulli``: ``decoder_outputs`` are logits; pixels are mapped to ``(x + 1) / 2`` in [0, 1] and
    scored with binary cross-entropy. ``gaussian``: ``decoder_outputs`` are pre-tanh means; the NLL of
    ``N(tanh(out), scale**2)`` without its constant, ``0.5 * ((x - tanh(out)) / scale)**2``.
    """
    _check_kind(kind, RECONSTRUCTION_LOSSES, "reconstruction loss")
    images = tf.cast(images, tf.float32)
    decoder_outputs = tf.cast(decoder_outputs, tf.float32)
    axes = list(range(1, images.shape.rank))
    if kind == "bernoulli":
        per_pixel = tf.nn.sigmoid_cross_entropy_with_logits(labels=(images + 1.0) / 2.0, logits=decoder_outputs)
    else:
        if scale <= 0:
            raise ConfigError(f"The gaussian reconstruction scale must be > 0, got {scale}.")
        per_pixel = 0.5 * tf.square((images - tf.tanh(decoder_outputs)) / scale)
    return tf.reduce_mean(tf.reduce_sum(per_pixel, axis=axes))


def gaussian_kl(mean, logvar, dtype=tf.float32):
    """``KL(N(mean, exp(logvar)) || N(0, I))`` summed over latent dims ``[B, k]``, batch mean, in ``dtype``.

    ``exp(lv) - 1 - lv`` is written ``expm1(lv) - lv``: near ``lv = 0`` (an untrained encoder) the
    former cancels to ``lv**2 / 2`` and loses most of its digits. Metrics pass ``dtype=tf.float64``.
    """
    mean = tf.cast(mean, dtype)
    logvar = tf.cast(logvar, dtype)
    per_dim = 0.5 * (tf.square(mean) + tf.math.expm1(logvar) - logvar)
    return tf.reduce_mean(tf.reduce_sum(per_dim, axis=1))
