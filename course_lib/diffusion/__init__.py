"""Diffusion models as the lecture builds them: a fixed Gaussian encoder that adds noise step
by step, and a learned decoder that removes it, trained and measured with the ELBO.

Equation numbers refer to Luo, "Understanding diffusion models: a unified perspective"
(arXiv 2208.11970).

- :mod:`.schedules`: :func:`linear_betas` (DDPM), :func:`cosine_betas`, SNR and
  gamma = -log SNR, :class:`LearnedGamma` (VDM's monotone learned schedule);
- :mod:`.gaussian`: the forward process :func:`q_step` (Eq. 31), :func:`q_sample` (Eq. 69),
  the posterior :func:`q_posterior` (Eq. 84), the three parameterisations, the decoders;
- :mod:`.elbo`: :class:`ELBOTerms`, the typed result every model's ``elbo_terms`` returns,
  and :func:`evaluate_model_bits`;
- :mod:`.ddpm`: :class:`DDPM`, discrete time, noise / x0 / score parameterisations;
- :mod:`.vdm`: :class:`VDM`, continuous time (Kingma et al. 2021), learned schedule;
- :mod:`.binomial`: :class:`BinomialDiffusion`, Sohl-Dickstein et al. (2015) on binary data;
- :mod:`.family`: the families (``FAMILIES``: ddpm, vdm, binomial, lattice) as the command
  line sees them, each with its optimizer (:func:`course_lib.family.initializer`) and recipes;
- :mod:`.ode`: the probability-flow ODE's exact log-likelihood; :mod:`.flowmatch`: flow
  matching (Lipman et al. 2023).

``from course_lib import diffusion as dm`` gives every public name: ``dm.q_sample``, ``dm.DDPM``.
"""

from course_lib.diffusion.binomial import BinomialConfig, BinomialDiffusion, binomial_train_step
from course_lib.diffusion.ddpm import (
    DDPM,
    DDPMConfig,
    LevelsDDPMConfig,
    ddpm_loss,
    ddpm_train_step,
    simple_loss,
)
from course_lib.diffusion.elbo import (
    ELBOTerms,
    bits_draws,
    bits_summary,
    elbo_loss,
    elbo_train_step,
    evaluate_model_bits,
    negative_elbo,
)
from course_lib.diffusion.family import FAMILIES
from course_lib.diffusion.gaussian_diffusion import (
    bin_centres,
    decoder_log_prob,
    discretized_gaussian_log_prob,
    gaussian_kl,
    kl_to_standard_normal,
    level_log_prob,
    q_posterior,
    q_sample,
    q_step,
    score_from_noise,
    x0_from_noise,
    x0_from_score,
)
from course_lib.diffusion.schedules import (
    LearnedGamma,
    LinearGamma,
    alpha_bar,
    check_betas,
    check_snr_decreasing,
    cosine_betas,
    gamma_from_alpha_bar,
    linear_betas,
    log_snr_betas,
    snr,
)
from course_lib.diffusion.vdm import (
    VDM,
    VDMConfig,
    vdm_train_step,
    vdm_variance_loss,
    vdm_variance_train_step,
)
from course_lib.metrics import bits_per_dim

__all__ = ["FAMILIES", "check_betas", "linear_betas", "cosine_betas", "alpha_bar", "snr",
           "gamma_from_alpha_bar", "check_snr_decreasing", "LearnedGamma", "LinearGamma",
           "q_step", "q_sample", "q_posterior", "gaussian_kl", "kl_to_standard_normal",
           "x0_from_noise", "x0_from_score", "score_from_noise", "bin_centres",
           "discretized_gaussian_log_prob", "decoder_log_prob", "ELBOTerms", "negative_elbo",
           "elbo_loss", "elbo_train_step", "evaluate_model_bits", "DDPMConfig", "DDPM",
           "simple_loss", "ddpm_loss", "ddpm_train_step", "VDMConfig", "VDM", "vdm_train_step",
           "BinomialConfig", "BinomialDiffusion", "binomial_train_step", "bits_per_dim",
           "log_snr_betas", "level_log_prob",
           "LevelsDDPMConfig", "bits_draws", "bits_summary", "vdm_variance_loss",
           "vdm_variance_train_step"]
