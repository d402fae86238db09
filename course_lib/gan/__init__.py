"""Generative adversarial networks: the losses of the lecture, one training step for all of
them, and the conditional, PacGAN and semi-supervised variants.

Notation follows the notebooks: the discriminator D(x) = sigmoid(d(x)) with logit d, the
generator G(z), data x ~ p_r, samples G(z) ~ p_g. The value function (Goodfellow et al. 2014)

    V(G, D) = E_{x~p_r} log D(x) + E_{z~p_z} log(1 - D(G(z)))

is maximised by D and minimised by G. Written with logits, log D = -softplus(-d) and
log(1 - D) = -softplus(d), which stays finite when D saturates.

- :mod:`.losses`: V(G, D) and the losses of D, G and the WGAN critic;
- :mod:`.models`: :class:`GANConfig`, :class:`Generator`, :class:`Discriminator`, :func:`init`;
- :mod:`.family`: ``FAMILIES`` (gan, wgan-gp, cgan) as the command line sees them;
- :mod:`.steps`: :func:`train_step`, :func:`batches`, :func:`fit_discriminator`,
  :func:`semi_supervised_step`;
- :mod:`.semi_supervised`: :func:`fit_label_draws`, the semi-supervised GAN against the
  classifier alone over independent draws of the few labels; :func:`few_labels_training` and
  :func:`classifier_training`, the runs week16_gans ships.

``import course_lib.gan as gan`` gives every public name: ``gan.train_step``, ``gan.GANConfig``.
"""

from course_lib.gan.family import FAMILIES
from course_lib.gan.losses import (
    critic_loss_wasserstein,
    discriminator_loss,
    generator_loss_minimax,
    generator_loss_non_saturating,
    gradient_penalty,
    value_function,
)
from course_lib.gan.models import (
    LOSSES,
    Discriminator,
    GANConfig,
    Generator,
    generate,
    init,
    init_semi_supervised,
    instance_noise_std,
    learning_rate,
    sample_latent,
)
from course_lib.gan.semi_supervised import (
    LabelDraws,
    Training,
    classifier_training,
    few_labels_training,
    fit_label_draws,
    label_draws,
    predicted_classes,
)
from course_lib.gan.steps import (
    batches,
    classifier_loss,
    discriminator_objective,
    discriminator_only_step,
    fit,
    fit_discriminator,
    generator_gradient_norm,
    labelled_indices,
    semi_supervised_step,
    train_step,
    train_with_snapshots,
)

__all__ = ["FAMILIES", "LOSSES", "GANConfig", "Generator", "Discriminator", "init",
           "init_semi_supervised",
           "generate", "sample_latent", "learning_rate", "instance_noise_std", "train_step",
           "batches", "discriminator_objective", "fit", "fit_discriminator",
           "semi_supervised_step", "classifier_loss", "train_with_snapshots",
           "labelled_indices", "LabelDraws", "fit_label_draws",
           "label_draws", "predicted_classes", "Training", "classifier_training",
           "few_labels_training", "discriminator_only_step", "generator_gradient_norm",
           "value_function", "discriminator_loss", "generator_loss_minimax",
           "generator_loss_non_saturating", "critic_loss_wasserstein", "gradient_penalty"]
