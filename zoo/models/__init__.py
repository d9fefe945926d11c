"""The zoo's models: the ``GenerativeModel`` contract, builders for the papers' networks, ``DCGAN``,
``VAE``, and ``build_model`` with its registry of model kinds.

``build_model(config)`` turns a plain dict (what training recipes store) into a model;
``register_model_kind`` adds a kind (see :mod:`zoo.models.kinds`). The built-in kinds' keys
(all optional except ``model``; defaults are the papers' settings):

* ``model``: ``"dcgan"`` (image GAN), ``"synthetic_gan"`` (GDPP 2-D MLP GAN), ``"vae"``, or
  ``"wgan_gp"`` / ``"synthetic_wgan_gp"`` (the same networks trained as WGAN-GP, critic without BatchNorm).
* ``latent_dim``: 100 (dcgan), 256 (synthetic_gan, synthetic_wgan_gp), 128 (vae, wgan_gp).
* ``prior``: a ``zoo.priors`` name or ``{"kind": name, "params": {...}}``; default ``"uniform"``
  (dcgan), ``"normal"`` (the others).
* ``diversity_weight``: GDPP weight, ``0`` (off, default) or a number, or ``"paper"`` for
  ``GDPP_GAN_WEIGHT`` (1) / ``GDPP_VAE_WEIGHT`` (100).
* images (dcgan, vae): ``image_size`` (64 dcgan, 28 vae), ``channels`` (3), ``width`` (64).
* dcgan: ``discriminator_width`` (``width``); a quarter of ``width`` is the VEEGAN / Unrolled-GAN
  "harder" Stacked-MNIST setting, where a weak discriminator lets a plain GAN collapse.
* synthetic_gan: ``data_dim`` (2), ``hidden`` (128).
* WGAN-GP kinds: ``critic_steps`` (5), ``gradient_penalty_weight`` (10); Adam(1e-4, 0.5, 0.9) for both
  (optimizer keys as the GANs'); dcgan's ``width``, ``discriminator_width``, ``initializer`` /
  synthetic's ``hidden``.
* GANs: ``label_smoothing`` (0, one-sided), ``generator_steps`` (1),
  optimizers ``d_optimizer``/``g_optimizer`` (Keras configs/names) or Adam settings
  ``d_learning_rate``, ``g_learning_rate``, ``beta_1`` (0.5), ``beta_2`` (0.999), ``epsilon``.
* vae: ``reconstruction`` (``"bernoulli"``), ``reconstruction_scale`` (0.1), ``kl_weight`` (1),
  ``optimizer`` or ``learning_rate`` (1e-3) with ``beta_1`` (0.9), ``beta_2``, ``epsilon``.
* ``gdpp_compute_dtype`` (``"float64"``), ``seed`` (0), ``compile`` (True), ``jit_compile`` ("auto").

Reproduction only: ``"gdpp_stacked_mnist_dcgan"`` is the GDPP Stacked-MNIST script's DCGAN
(:mod:`zoo.models.reproduction`), with the dcgan keys and ``label_smoothing_mode``
(``"two_sided"``), ``training_noise`` (``{"slots": 64, "scale": 0.2}``: its ``SlotOffsetNoise``;
``None`` trains on the prior) and ``discriminator_batch_norm`` (False).
"""

from __future__ import annotations

from zoo.errors import ConfigError
from zoo.models.architectures import (
    dcgan_critic,
    dcgan_discriminator,
    dcgan_generator,
    synthetic_discriminator,
    synthetic_generator,
    vae_decoder,
    vae_encoder,
)
from zoo.models.base import GenerativeModel, OptimizerSlot, PixelRangeWarning
from zoo.models.batch_norm import recalibrate_batch_norm
from zoo.models.dcgan import DCGAN, GDPP_GAN_WEIGHT
from zoo.models.kinds import ModelKind, build_model, model_kind, model_kinds, register_model_kind
from zoo.models.saving import load_file
from zoo.models.slot_noise import SlotOffsetNoise
from zoo.models.vae import GDPP_VAE_WEIGHT, VAE
from zoo.models.wgan_gp import WGANGP

__all__ = [
    "DCGAN",
    "VAE",
    "WGANGP",
    "GDPP_GAN_WEIGHT",
    "GDPP_VAE_WEIGHT",
    "GenerativeModel",
    "ModelKind",
    "OptimizerSlot",
    "PixelRangeWarning",
    "SlotOffsetNoise",
    "build_model",
    "dcgan_critic",
    "dcgan_discriminator",
    "dcgan_generator",
    "load_file",
    "model_kind",
    "model_kinds",
    "recalibrate_batch_norm",
    "register_model_kind",
    "synthetic_discriminator",
    "synthetic_generator",
    "vae_decoder",
    "vae_encoder",
]

_GDPP_KEYS = {"diversity_weight", "gdpp_compute_dtype", "gdpp_eigenvalue_term", "gdpp_centre_features"}
_GAN_KEYS = {"label_smoothing", "generator_steps", "d_optimizer", "g_optimizer", "d_learning_rate",
             "g_learning_rate", "beta_1", "beta_2", "epsilon"}
_WGAN_GP_KEYS = _GDPP_KEYS | {"critic_steps", "gradient_penalty_weight", "d_optimizer", "g_optimizer",
                              "d_learning_rate", "g_learning_rate", "beta_1", "beta_2", "epsilon"}
_KEYS = {
    "dcgan": _GDPP_KEYS | _GAN_KEYS | {"width", "discriminator_width", "initializer"},
    "synthetic_gan": _GDPP_KEYS | _GAN_KEYS | {"hidden"},
    "wgan_gp": _WGAN_GP_KEYS | {"width", "discriminator_width", "initializer"},
    "synthetic_wgan_gp": _WGAN_GP_KEYS | {"hidden"},
    "vae": _GDPP_KEYS | {"width", "initializer", "reconstruction", "reconstruction_scale", "kl_weight", "optimizer",
                         "learning_rate", "beta_1", "beta_2", "epsilon"},
}
# Paper settings per kind: (latent_dim, prior, D lr, G lr, beta_2, epsilon) / VAE lr.
_GAN_DEFAULTS = {
    # carpedm20 DCGAN (the NP-prior paper's GAN): z 100, U(-1, 1), Adam 2e-4 / 0.5.
    "dcgan": dict(latent_dim=100, prior="uniform", d_learning_rate=2e-4, g_learning_rate=2e-4),
    # GDPP synthetic: z 256 N(0, I), Adam D 1e-4, G 1e-3, beta_1 0.5, eps 1e-8.
    "synthetic_gan": dict(latent_dim=256, prior="normal", d_learning_rate=1e-4, g_learning_rate=1e-3, epsilon=1e-8),
    # Gulrajani et al. (gan_mnist.py, gan_toy.py): z 128-d N(0, I), Adam 1e-4, beta (0.5, 0.9), TF1's eps 1e-8.
    "wgan_gp": dict(latent_dim=128, prior="normal", d_learning_rate=1e-4, g_learning_rate=1e-4, beta_2=0.9,
                    epsilon=1e-8),
    # The GDPP synthetic networks and z (256-d), trained with the WGAN-GP optimizer.
    "synthetic_wgan_gp": dict(latent_dim=256, prior="normal", d_learning_rate=1e-4, g_learning_rate=1e-4,
                              beta_2=0.9, epsilon=1e-8),
}


def _prior(value, latent_dim):
    """A prior spec: a name, ``{"kind": ..., "params": {...}}``, or anything ``zoo.priors.as_layer`` takes."""
    if isinstance(value, dict) and "kind" in value:
        from zoo.priors import LatentPrior

        unknown = set(value) - {"kind", "params"}
        if unknown:
            raise ConfigError(f"prior dict takes 'kind' and 'params', not {sorted(unknown)}.")
        return LatentPrior(kind=value["kind"], latent_dim=latent_dim, params=value.get("params"))
    return value


def _weight(value, paper_weight):
    return paper_weight if value == "paper" else value


def _adam(learning_rate, config):
    import keras

    return keras.optimizers.Adam(
        learning_rate, beta_1=config.get("beta_1", 0.5), beta_2=config.get("beta_2", 0.999),
        epsilon=config.get("epsilon", 1e-7),
    )


def _shared_options(config: dict) -> dict:
    """The GDPP options and seed every kind passes to its model."""
    return dict(
        gdpp_compute_dtype=config.get("gdpp_compute_dtype", "float64"),
        gdpp_eigenvalue_term=config.get("gdpp_eigenvalue_term", "authors_code"),
        gdpp_centre_features=config.get("gdpp_centre_features", False),
        seed=config.get("seed", 0),
    )


def _build_vae(config: dict):
    """The ``vae`` kind."""
    shared = _shared_options(config)
    latent_dim = config.get("latent_dim", 128)
    image = dict(image_size=config.get("image_size", 28), channels=config.get("channels", 3),
                 width=config.get("width", 64), initializer=config.get("initializer", "dcgan_normal"))
    model = VAE(
        vae_encoder(latent_dim=latent_dim, **image),
        vae_decoder(latent_dim=latent_dim, **image),
        prior=_prior(config.get("prior", "normal"), latent_dim),
        diversity_weight=_weight(config.get("diversity_weight", 0.0), GDPP_VAE_WEIGHT),
        reconstruction=config.get("reconstruction", "bernoulli"),
        reconstruction_scale=config.get("reconstruction_scale", 0.1),
        kl_weight=config.get("kl_weight", 1.0),
        **shared,
    )
    if config.get("compile", True):
        optimizer = config.get("optimizer") or _adam(
            config.get("learning_rate", 1e-3), {"beta_1": 0.9, **config}
        )
        model.compile(optimizer=optimizer, jit_compile=config.get("jit_compile", "auto"))
    return model


def _dcgan_networks(config: dict, latent_dim: int, discriminator=dcgan_discriminator):
    image = dict(image_size=config.get("image_size", 64), channels=config.get("channels", 3),
                 width=config.get("width", 64), initializer=config.get("initializer", "dcgan_normal"))
    return (dcgan_generator(latent_dim=latent_dim, **image),
            discriminator(**{**image, "width": config.get("discriminator_width", image["width"])}))


def _synthetic_networks(config: dict, latent_dim: int):
    return (synthetic_generator(latent_dim, config.get("hidden", 128), config.get("data_dim", 2)),
            synthetic_discriminator(config.get("data_dim", 2), config.get("hidden", 128)))


def _build_gan(config: dict, networks=None, model_class=DCGAN, defaults=None, **options):
    """The ``dcgan`` and ``synthetic_gan`` kinds; other GAN kinds (``zoo.models.reproduction``) pass
    their ``networks(config, latent_dim) -> (G, D)``, ``model_class``, ``defaults`` and its ``options``."""
    config = {**(_GAN_DEFAULTS[config["model"]] if defaults is None else defaults), **config}
    shared = _shared_options(config)
    latent_dim = config["latent_dim"]
    if networks is None:
        networks = _synthetic_networks if config["model"] == "synthetic_gan" else _dcgan_networks
    generator, discriminator = networks(config, latent_dim)
    model = model_class(
        generator,
        discriminator,
        prior=_prior(config["prior"], latent_dim),
        diversity_weight=_weight(config.get("diversity_weight", 0.0), GDPP_GAN_WEIGHT),
        label_smoothing=config.get("label_smoothing", 0.0),
        generator_steps=config.get("generator_steps", 1),
        **shared,
        **options,
    )
    return _compile_gan(model, config)


def _compile_gan(model, config: dict):
    """``model`` compiled with the config's two optimizers, unless ``compile`` is false."""
    if config.get("compile", True):
        model.compile(
            d_optimizer=config.get("d_optimizer") or _adam(config["d_learning_rate"], config),
            g_optimizer=config.get("g_optimizer") or _adam(config["g_learning_rate"], config),
            jit_compile=config.get("jit_compile", "auto"),
        )
    return model


def _build_wgan_gp(config: dict):
    """The ``wgan_gp`` (DCGAN networks, critic without BatchNorm) and ``synthetic_wgan_gp`` kinds."""
    config = {**_GAN_DEFAULTS[config["model"]], **config}
    latent_dim = config["latent_dim"]
    if config["model"] == "synthetic_wgan_gp":
        generator, critic = _synthetic_networks(config, latent_dim)
    else:
        generator, critic = _dcgan_networks(config, latent_dim, dcgan_critic)
    model = WGANGP(
        generator,
        critic,
        prior=_prior(config["prior"], latent_dim),
        diversity_weight=_weight(config.get("diversity_weight", 0.0), GDPP_GAN_WEIGHT),
        critic_steps=config.get("critic_steps", 5),
        gradient_penalty_weight=config.get("gradient_penalty_weight", 10.0),
        **_shared_options(config),
    )
    return _compile_gan(model, config)


register_model_kind("dcgan", _build_gan, _KEYS["dcgan"], description="DCGAN on images (the NP-prior paper's GAN)")
register_model_kind("synthetic_gan", _build_gan, _KEYS["synthetic_gan"], data="points",
                    description="the GDPP synthetic MLP GAN on 2-D points")
register_model_kind("wgan_gp", _build_wgan_gp, _KEYS["wgan_gp"],
                    description="WGAN-GP on images (Gulrajani et al. 2017; the DCGAN networks, critic without BatchNorm)")
register_model_kind("synthetic_wgan_gp", _build_wgan_gp, _KEYS["synthetic_wgan_gp"], data="points",
                    description="WGAN-GP with the GDPP synthetic MLP networks on 2-D points")
register_model_kind("vae", _build_vae, _KEYS["vae"], description="the GDPP Stacked-MNIST VAE")

from zoo.models import reproduction  # noqa: E402  (registers the reproduction kind; uses the builders above)
