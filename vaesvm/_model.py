"""Pure PyTorch building blocks: encoder, decoder, the VAE and its ELBO terms.

Nothing in this module knows about scikit-learn or skorch; it can be used on its
own in a hand-written training loop (the benchmarks do exactly that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ACTIVATIONS", "CONV_CHANNELS", "CONV_KERNELS", "ENCODERS", "LIKELIHOODS", "VAE",
           "ELBOLoss", "kl_divergence", "make_conv_encoder", "make_mlp"]

#: Activation names accepted by :func:`make_mlp` and ``VAETransformer(activation=...)``.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "softplus": nn.Softplus,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
}

#: Encoder architectures understood by :class:`VAE`.
ENCODERS: tuple[str, ...] = ("mlp", "conv")

#: Channels of the two stride-2 convolutions of the ``"conv"`` encoder.
CONV_CHANNELS: tuple[int, int] = (16, 32)

#: Kernel sizes of those two convolutions (each padded by ``kernel // 2``). A 3x3
#: second kernel instead of 5x5 trains faster at the same validation accuracy
#: (docs: "How the defaults were chosen", encoder cost).
CONV_KERNELS: tuple[int, int] = (5, 3)

#: Observation models p(x | z) understood by :class:`VAE`.
LIKELIHOODS: tuple[str, ...] = ("bernoulli", "gaussian")

_LOG_2PI = math.log(2.0 * math.pi)


def make_mlp(
    sizes: Sequence[int], activation: str = "softplus", batch_norm: bool = True
) -> nn.Sequential:
    """Build ``Linear -> [BatchNorm1d] -> activation`` blocks through ``sizes``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first. ``len(sizes) - 1`` blocks are built; an empty
        ``nn.Sequential`` (the identity) when ``len(sizes) == 1``.
    activation : str, default="softplus"
        One of the keys of :data:`ACTIVATIONS`.
    batch_norm : bool, default=True
        Insert ``BatchNorm1d`` between each linear layer and its activation.

    Returns
    -------
    torch.nn.Sequential
        The stacked blocks.
    """
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        # The bias is redundant right before a BatchNorm layer.
        layers.append(nn.Linear(n_in, n_out, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm1d(n_out))
        layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def make_conv_encoder(
    image_shape: tuple[int, ...],
    hidden_layer_sizes: Sequence[int],
    activation: str = "softplus",
    batch_norm: bool = True,
) -> tuple[nn.Sequential, int]:
    """Build a convolutional encoder body for flat grey images.

    Two ``Conv2d(stride 2) -> [BatchNorm2d] -> activation`` blocks
    (:data:`CONV_CHANNELS` channels, :data:`CONV_KERNELS` kernels: 5x5 then 3x3,
    padded to keep ``ceil(side / 2)``) take the place of the first dense
    layer; the remaining widths ``hidden_layer_sizes[1:]`` follow as dense blocks
    (:func:`make_mlp`). With the default ``(600, 600)`` on 28x28 images:
    conv 16 -> conv 32 (7x7) -> 600.

    Parameters
    ----------
    image_shape : (height, width) or (channels, height, width)
        The shape of one image; the input rows are flat, channels-first.
    hidden_layer_sizes : sequence of int
        The encoder widths of the MLP this encoder replaces (at least one).
    activation : str, default="softplus"
        One of the keys of :data:`ACTIVATIONS`.
    batch_norm : bool, default=True
        Batch normalization after every convolution and dense layer.

    Returns
    -------
    body : torch.nn.Sequential
        Maps ``(n, height * width)`` to ``(n, width_out)``.
    width_out : int
        The body's output width.
    """
    c_in, h, w = (1, *image_shape) if len(image_shape) == 2 else image_shape
    layers: list[nn.Module] = [nn.Unflatten(1, (c_in, h, w))]
    for c_out, kernel in zip(CONV_CHANNELS, CONV_KERNELS):
        layers.append(nn.Conv2d(c_in, c_out, kernel, stride=2, padding=kernel // 2,
                                bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c_out))
        layers.append(ACTIVATIONS[activation]())
        c_in, h, w = c_out, (h + 1) // 2, (w + 1) // 2
    layers.append(nn.Flatten())
    sizes = [c_in * h * w, *[int(s) for s in hidden_layer_sizes[1:]]]
    return nn.Sequential(*layers, *make_mlp(sizes, activation, batch_norm)), sizes[-1]


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per sample, in nats.

    Parameters
    ----------
    mu, logvar : torch.Tensor of shape (n, d)
        Mean and log-variance of the diagonal Gaussian posterior.

    Returns
    -------
    torch.Tensor of shape (n,)
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


class VAE(nn.Module):
    """Variational autoencoder, MLP or convolutional encoder, MLP decoder (Kingma & Welling, 2014).

    The encoder maps ``x`` to the mean and log-variance of a diagonal Gaussian
    q(z | x); the decoder maps ``z`` to the parameters of p(x | z): Bernoulli
    logits, or the mean of a Gaussian with one learned variance per feature.

    Parameters
    ----------
    n_features : int
        Input dimension.
    n_components : int, default=50
        Latent dimension.
    hidden_layer_sizes : sequence of int, default=(600, 600)
        Encoder widths; the decoder mirrors them.
    activation : str, default="softplus"
        Hidden activation, a key of :data:`ACTIVATIONS`.
    batch_norm : bool, default=True
        Batch normalization after every hidden linear layer.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        Observation model p(x | z).
    n_classes : int, default=0
        When positive, a linear classifier head on the latent mean
        (:meth:`classify`) for the semi-supervised objective; 0: none.
    encoder : {"mlp", "conv"}, default="mlp"
        ``"conv"``: two strided convolutions replace the encoder's first dense
        layer (:func:`make_conv_encoder`); needs ``image_shape``. The decoder is
        an MLP either way.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(channels, height, width)`` whose product is
        ``n_features``, for ``"conv"``.
    generator : torch.Generator or None, default=None
        Source of the initial weights. None: torch's global generator, as for
        any module. Given: the weights are drawn from it alone (bit for bit the
        weights torch's global generator would give in the same state), and
        torch's global random state is not touched.

    Attributes
    ----------
    noise_generator : torch.Generator or None
        Source of the reparameterization noise in training mode; None: torch's
        global generator. A training loop that owns its randomness sets it.
    """

    def __init__(
        self,
        n_features: int,
        n_components: int = 50,
        hidden_layer_sizes: Sequence[int] = (600, 600),
        activation: str = "softplus",
        batch_norm: bool = True,
        likelihood: str = "bernoulli",
        n_classes: int = 0,
        encoder: str = "mlp",
        image_shape: tuple[int, int] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.noise_generator: torch.Generator | None = None
        if generator is not None:
            # build without drawing anything, then draw every weight from ``generator``
            with torch.device("meta"):
                self._build(n_features, n_components, hidden_layer_sizes, activation,
                            batch_norm, likelihood, n_classes, encoder, image_shape)
            self.to_empty(device="cpu")
            self.reset_parameters(generator)
        else:
            self._build(n_features, n_components, hidden_layer_sizes, activation, batch_norm,
                        likelihood, n_classes, encoder, image_shape)
        self.float()  # float32 whatever torch's default dtype is (data are float32)

    def _build(self, n_features, n_components, hidden_layer_sizes, activation, batch_norm,
               likelihood, n_classes, encoder, image_shape) -> None:
        """Create the layers (in the order their weights are drawn)."""
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {encoder!r}")
        hidden = [int(h) for h in hidden_layer_sizes]
        self.likelihood = likelihood
        self.n_components = n_components
        if encoder == "conv":
            if image_shape is None or math.prod(image_shape) != n_features:
                raise ValueError(
                    f"encoder='conv' needs an image_shape whose product is n_features "
                    f"({n_features}); got {image_shape!r}."
                )
            self.encoder, width = make_conv_encoder(image_shape, hidden, activation, batch_norm)
        else:
            self.encoder = make_mlp([n_features, *hidden], activation, batch_norm)
            width = ([n_features, *hidden])[-1]
        # One matmul for both heads: [mu, logvar].
        self.latent = nn.Linear(width, 2 * n_components)
        dec_sizes = [n_components, *reversed(hidden)]
        self.decoder = make_mlp(dec_sizes, activation, batch_norm)
        self.output = nn.Linear(dec_sizes[-1], n_features)
        if likelihood == "gaussian":
            self.log_var_x = nn.Parameter(torch.zeros(n_features))
        self.n_classes = int(n_classes)
        if self.n_classes > 0:
            self.classifier = nn.Linear(n_components, self.n_classes)

    @torch.no_grad()
    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw all weights anew, layer by layer in construction order, from ``generator``.

        The same initialization as PyTorch's default for ``Linear`` and
        ``Conv2d`` (Kaiming-uniform weights with ``a = sqrt(5)``, uniform biases
        in +-1/sqrt(fan_in)); batch-norm layers and the Gaussian log-variance
        are reset to their constants.
        """
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_parameters()
        if self.likelihood == "gaussian":
            self.log_var_x.zero_()

    def classify(self, mu: torch.Tensor) -> torch.Tensor:
        """Return class logits of the linear head for latent means ``mu``."""
        return self.classifier(mu)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(mu, logvar)`` of q(z | x), each of shape (n, n_components)."""
        h = self.latent(self.encoder(x))
        return h[:, : self.n_components], h[:, self.n_components :]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Return the decoder's raw output: Bernoulli logits or the Gaussian mean."""
        return self.output(self.decoder(z))

    def mean(self, z: torch.Tensor) -> torch.Tensor:
        """Return E[x | z]: pixel probabilities (Bernoulli) or the Gaussian mean."""
        out = self.decode(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def forward(
        self, x: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Encode, draw ``z`` by reparameterization (training) or take ``mu``, decode.

        Returns
        -------
        out, mu, logvar : torch.Tensor
            Decoder output for the drawn ``z`` and the posterior parameters.
        """
        mu, logvar = self.encode(x)
        if self.training:
            noise = torch.randn(mu.shape, generator=self.noise_generator, dtype=mu.dtype,
                                device=mu.device)
            z = mu + noise * torch.exp(0.5 * logvar)
        else:
            z = mu
        return self.decode(z), mu, logvar

    def reconstruction_nll(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood -log p(x | z) per sample, in nats.

        Parameters
        ----------
        x : torch.Tensor of shape (n, n_features)
            The data.
        out : torch.Tensor of shape (n, n_features)
            Decoder output (:meth:`decode`).

        Returns
        -------
        torch.Tensor of shape (n,)
        """
        if self.likelihood == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(dim=1)
        log_var = self.log_var_x
        sq = (x - out).pow(2) * torch.exp(-log_var)
        return 0.5 * (sq + log_var + _LOG_2PI).sum(dim=1)

    def elbo_terms(
        self,
        x: torch.Tensor,
        outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample reconstruction NLL and KL term of the negative ELBO.

        Parameters
        ----------
        x : torch.Tensor of shape (n, n_features)
            The data.
        outputs : tuple
            What :meth:`forward` returned for ``x``.

        Returns
        -------
        reconstruction, kl : torch.Tensor of shape (n,)
        """
        out, mu, logvar = outputs
        return self.reconstruction_nll(x, out), kl_divergence(mu, logvar)


class ELBOLoss(nn.Module):
    """Batch mean of ``reconstruction + kl_weight * kl``, plus a weighted classification term.

    ``kl_weight`` is a plain attribute so a schedule (KL warm-up) can change it
    between epochs.

    Parameters
    ----------
    kl_weight : float, default=1.0
        Weight beta of the KL term.
    label_weight : float, default=0.0
        Weight alpha of the (already averaged) classification loss, when one is
        passed to :meth:`forward`.
    """

    def __init__(self, kl_weight: float = 1.0, label_weight: float = 0.0) -> None:
        super().__init__()
        self.kl_weight = float(kl_weight)
        self.label_weight = float(label_weight)

    def forward(
        self,
        reconstruction: torch.Tensor,
        kl: torch.Tensor,
        classification: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the scalar loss.

        Parameters
        ----------
        reconstruction, kl : torch.Tensor of shape (n,)
            Per-sample terms of the negative ELBO.
        classification : torch.Tensor (scalar) or None, default=None
            Mean cross-entropy of the labeled rows of the batch.

        Returns
        -------
        torch.Tensor
            The scalar loss.
        """
        loss = (reconstruction + self.kl_weight * kl).mean()
        if classification is not None:
            loss = loss + self.label_weight * classification
        return loss
