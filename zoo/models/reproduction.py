"""Reproduction only: the GDPP authors' Stacked-MNIST script (``gdppgan_stackedMnist.py``) as it runs.

That script trains its DCGAN in three ways neither paper describes, which the GDPP Stacked-MNIST
recipes (``stacked_*_gan``, ``stacked_*_gdpp``) reproduce and nothing else should use:

* training latents ``g_z + 0.2 Z`` (:class:`~zoo.models.SlotOffsetNoise`: 64 fixed offsets plus
  noise) instead of prior samples, while samples, exports and metrics come from the prior;
* two-sided label smoothing: the discriminator's fake target ``s`` and the generator's target
  ``1 - s`` move too, not only the real target;
* no BatchNorm in the discriminator.

:class:`GDPPStackedMNISTDCGAN` is a ``DCGAN`` with the first two, built by the model kind
``"gdpp_stacked_mnist_dcgan"`` (keys: the ``dcgan`` ones plus ``label_smoothing_mode``,
``training_noise`` and ``discriminator_batch_norm``). ``.keras`` files that earlier releases wrote
as a ``DCGAN`` with these switches load as this class.
"""

from __future__ import annotations

import functools

import keras

from zoo import losses
from zoo.errors import ConfigError
from zoo.models import architectures
from zoo.models.dcgan import DCGAN
from zoo.models.kinds import register_model_kind
from zoo.models.slot_noise import SlotOffsetNoise

#: Which targets ``label_smoothing`` moves (see ``zoo.losses.discriminator_loss``).
LABEL_SMOOTHING_MODES = ("one_sided", "two_sided")


@keras.saving.register_keras_serializable(package="zoo")
class GDPPStackedMNISTDCGAN(DCGAN):
    """``DCGAN`` with the GDPP Stacked-MNIST script's training latents and label smoothing.

    Args (beyond ``DCGAN``'s):
        label_smoothing_mode: ``"two_sided"`` (the script's: the real target becomes ``1 - s``, the
            discriminator's fake target ``s`` and the generator's target ``1 - s``) or
            ``"one_sided"`` (``DCGAN``'s: the real target only).
        training_noise: ``None`` (train on prior samples) or a ``SlotOffsetNoise`` (or its config
            dict) whose latents ``train_step`` uses instead; its ``latent_dim`` must be the model's.
    """

    def __init__(self, generator, discriminator, prior="normal", *, label_smoothing_mode="two_sided",
                 training_noise=None, **kwargs):
        super().__init__(generator, discriminator, prior=prior, **kwargs)
        if label_smoothing_mode not in LABEL_SMOOTHING_MODES:
            raise ConfigError(
                f"label_smoothing_mode must be one of {LABEL_SMOOTHING_MODES}, got {label_smoothing_mode!r}."
            )
        self.label_smoothing_mode = label_smoothing_mode
        self.training_noise = self._resolve_training_noise(training_noise)

    def get_config(self):
        config = super().get_config()
        config.update(
            label_smoothing_mode=self.label_smoothing_mode,
            training_noise=(
                None if self.training_noise is None else keras.saving.serialize_keras_object(self.training_noise)
            ),
        )
        return config

    def _resolve_training_noise(self, noise):
        if noise is None:
            return None
        if isinstance(noise, dict):
            noise = keras.saving.deserialize_keras_object(noise)
        if not isinstance(noise, SlotOffsetNoise):
            raise ConfigError(
                f"training_noise must be None or a zoo.models.SlotOffsetNoise, got {type(noise).__name__}."
            )
        if noise.latent_dim != self.latent_dim:
            raise ConfigError(
                f"training_noise makes {noise.latent_dim}-d latents but the generator takes {self.latent_dim}; "
                "build SlotOffsetNoise with the model's latent_dim."
            )
        return noise

    def _training_latents(self, batch, seed):
        if self.training_noise is None:
            return super()._training_latents(batch, seed)
        return self.training_noise.sample(batch, seed)

    def _discriminator_loss(self, real_logits, fake_logits):
        return losses.discriminator_loss(
            real_logits, fake_logits, label_smoothing=self.label_smoothing,
            two_sided=self.label_smoothing_mode == "two_sided",
        )

    def _adversarial_generator_loss(self, fake_logits):
        smoothing = self.label_smoothing if self.label_smoothing_mode == "two_sided" else 0.0
        return losses.generator_loss(fake_logits, label_smoothing=smoothing)


def training_noise(value, latent_dim, seed):
    """``training_noise``: ``None``, a ``SlotOffsetNoise``, or the dict of its arguments but
    ``latent_dim`` (``{"slots": 64, "scale": 0.2}``; ``seed`` defaults to the model's)."""
    if not isinstance(value, dict) or "class_name" in value:
        return value
    unknown = set(value) - {"slots", "scale", "low", "high", "seed"}
    if unknown:
        raise ConfigError(f"training_noise takes slots, scale, low, high and seed, not {sorted(unknown)}.")
    return SlotOffsetNoise(latent_dim=latent_dim, **{"seed": seed, **value})


def discriminator(image_size=64, channels=3, width=64, batch_norm=False, name="discriminator",
                  initializer="dcgan_normal"):
    """``dcgan_discriminator`` with or without (the script's) BatchNorm after its first layer."""
    if not isinstance(batch_norm, bool):
        raise ConfigError(f"batch_norm must be true or false, got {batch_norm!r}.")
    return architectures._dcgan_discriminator(image_size, channels, width, batch_norm, name, initializer)


#: The script's settings (``papers.md`` 2.4): z 128-d N(0, I), Adam 1e-4 with betas (0.5, 0.9),
#: two-sided label smoothing 0.1, 64 slot offsets plus 0.2 noise, no BatchNorm in D.
DEFAULTS = dict(latent_dim=128, prior="normal", d_learning_rate=1e-4, g_learning_rate=1e-4, beta_2=0.9,
                label_smoothing=0.1)


def build(config: dict) -> GDPPStackedMNISTDCGAN:
    """The ``gdpp_stacked_mnist_dcgan`` kind (see ``help(zoo.models)`` for its keys)."""
    from zoo import models

    config = dict(config)
    mode = config.pop("label_smoothing_mode", "two_sided")
    noise = config.pop("training_noise", {"slots": 64, "scale": 0.2})
    make_discriminator = functools.partial(discriminator, batch_norm=config.pop("discriminator_batch_norm", False))
    latent_dim = config.get("latent_dim", DEFAULTS["latent_dim"])
    return models._build_gan(
        config, lambda c, d: models._dcgan_networks(c, d, make_discriminator), GDPPStackedMNISTDCGAN,
        defaults=DEFAULTS, label_smoothing_mode=mode,
        training_noise=training_noise(noise, latent_dim, config.get("seed", 0)),
    )


def _register() -> None:
    from zoo import models

    register_model_kind(
        "gdpp_stacked_mnist_dcgan", build,
        models._KEYS["dcgan"] | {"label_smoothing_mode", "training_noise", "discriminator_batch_norm"},
        description="reproduction only: the GDPP Stacked-MNIST script's DCGAN",
    )


_register()
