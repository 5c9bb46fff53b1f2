"""``VAETransformer``: the scikit-learn face of the VAE."""

from __future__ import annotations

from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._augment import AUGMENTATIONS, CHECK_ROWS, check_augmentation
from ._model import ACTIVATIONS, ENCODERS, LIKELIHOODS
from ._net import build_net, epoch_history, fit_seeded, latent_means, torch_threads
from ._options import PRECISIONS, fill_rule_texts, resolve_options
from ._propagation import METRICS, EmbeddingPropagation
from ._rows import drop_resident_pages
from ._validation import (
    TrainingData,
    as_tensor,
    check_input,
    check_training_data,
    warn_ineffective_settings,
)

__all__ = ["VAETransformer"]


@fill_rule_texts
class VAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Variational autoencoder as a scikit-learn transformer.

    ``fit`` trains a VAE (Kingma & Welling, 2014) on the rows of ``X`` together
    with the optional ``X_unlabeled``; ``transform`` returns the latent means
    mu(x), a compact code on which any scikit-learn classifier can be trained
    (the "M1" recipe of Kingma et al., 2014), smoothed over the neighbourhood
    graph of the training codes unless ``propagation_alpha=0`` (see below).
    Training runs on a skorch ``NeuralNet`` built inside ``fit`` (attribute
    ``net_``).

    Parameters
    ----------
    n_components : int, default=50
        Dimension of the latent space (the number of output features).
    hidden_layer_sizes : int or sequence of int, default=(600, 600)
        Widths of the encoder's hidden layers; the decoder mirrors them. With
        ``encoder="conv"`` the convolutions take the place of the first one in
        the encoder (its width still sets the decoder's last hidden layer).
    image_shape : "auto", None, (height, width) or (channels, height, width), default="auto"
        The shape of one image, each row of ``X`` being an image flattened
        channels-first as PyTorch lays them out: from a NumPy/PIL array of
        shape (n, height, width, channels), ``X = images.transpose(0, 3, 1,
        2).reshape(n, -1)`` (grey (n, height, width): ``images.reshape(n, -1)``).
        Images get the convolutional encoder and augmentation (``"auto"``
        settings of ``encoder`` and ``augmentation``); None: plain feature
        vectors. ``"auto"``: |image_rule|. Colour or non-square images must be
        declared. The shape used is in ``image_shape_``.
    encoder : {"auto", "mlp", "conv"}, default="auto"
        Encoder architecture. ``"mlp"``: dense layers ``hidden_layer_sizes``.
        ``"conv"``: two stride-2 convolutions (5x5 with 16 channels, then 3x3
        with 32) take the place of the first dense layer (on 28x28 images:
        conv 16 -> conv 32 -> 600 with the default widths); needs images
        (``image_shape``). The decoder is the mirrored MLP either way.
        ``"auto"``: ``"conv"`` for images, otherwise ``"mlp"``; the choice made
        is in ``encoder_``.
    activation : {"softplus", "relu", "elu", "leaky_relu", "tanh"}, default="softplus"
        Hidden-layer activation.
    batch_norm : bool, default=True
        Batch normalization after every hidden linear layer. Training then
        needs at least 2 samples.
    likelihood : {"bernoulli", "gaussian"}, default="bernoulli"
        Observation model p(x | z). ``"bernoulli"`` (binary cross-entropy) needs
        data in [0, 1] such as pixel intensities; ``"gaussian"`` (a learned
        variance per feature, starting at 1) takes real-valued features on a unit
        scale: standardize them first (``StandardScaler`` before the VAE in a
        Pipeline). ``fit`` warns when the training data have |gaussian_scale_rule|:
        on such features the VAE learns little.
    kl_weight : float or "auto", default="auto"
        Final weight (beta) of the KL term of the loss. ``"auto"``: |kl_rule|.
        A weight under 1 leaves more of each image in its code, which the
        classifier on the codes gains from, at the cost of a looser ELBO
        (``score`` always counts the KL term in full). The value used is in
        ``kl_weight_``.
    kl_warmup_epochs : int, default=10
        The KL weight rises linearly from 0 to ``kl_weight`` over this many
        epochs (KL warm-up); 0 disables the warm-up. A warm-up longer than
        ``max_epochs`` is cut short where training ends, so the KL term never
        reaches ``kl_weight`` (with ``max_epochs=1`` it stays 0: a plain
        autoencoder); ``fit`` then warns, and trains as asked.
    label_weight : float or "auto", default="auto"
        Weight alpha of the semi-supervised term. When ``fit`` gets labels (``y``
        with at least two classes; ``-1`` marks unlabeled rows), a linear
        classifier head on the latent mean is trained jointly with the VAE and
        its cross-entropy on the labeled rows, times ``label_weight``, is added
        to the loss, so the codes separate the classes. ``"auto"``:
        |label_weight_rule|; more labels can carry more weight before the codes
        overfit them. The value used is in ``label_weight_``. 0 trains the
        plain (unsupervised) VAE and ignores ``y``; a number > 0 with no labeled
        rows has no effect and ``fit`` warns.
    labeled_batch_size : int, default=64
        With labels, every training batch gets this many extra labeled rows
        (drawn with replacement), so a few labels among many unlabeled rows are
        seen at every step.
    augmentation : {"auto", "none", "shift", "shift_flip"} or callable, default="auto"
        Random label-preserving transformations of the training images, drawn
        anew for every batch: ``"shift"`` translates each image by
        |shift_rule|, ``"shift_flip"`` also mirrors it left-right (right for
        clothes, wrong for digits); both need images (``image_shape``).
        ``"auto"``: |augment_rule|. A callable ``augment(batch, generator) ->
        batch`` replaces the built-in ones: it gets a float32 tensor of flat
        rows (n, n_features) and a ``torch.Generator`` to draw from (use it,
        not torch's global generator, to keep ``random_state`` reproducible)
        and returns a new tensor of the same shape, dtype and device; ``fit``
        calls it once on a copy of the first rows before training and raises a
        ``ValueError`` (``TypeError`` for a non-tensor) naming ``augmentation``
        when its output is not such a tensor of finite values. To pickle the
        fitted estimator it must be picklable (a module-level function or class
        instance, not a lambda). The choice made is in ``augmentation_``.
    denoising : bool, default=True
        With augmentation on, reconstruct the original image from its augmented
        copy (a denoising VAE; Im et al., 2017) instead of the augmented image
        itself, so the codes ignore the small shifts and flips rather than
        encode them. No effect without augmentation.
    propagation_alpha : float in [0, 1) or "auto", default="auto"
        Embedding propagation (Rodriguez et al., 2020): after training, the
        latent means of all training rows (``X`` and ``X_unlabeled``) are
        smoothed over their ``n_neighbors``-nearest-neighbour graph by
        ``propagation_steps`` iterations of ``F <- (1 - alpha) mu + alpha *
        mean of F over the neighbours`` (the iteration of label spreading, Zhou
        et al., 2004, applied to the codes), and ``transform`` returns
        ``(1 - alpha) mu(x) + alpha * mean of F over the n_neighbors training
        codes nearest to mu(x)``. Codes of one dense region move together, so
        a few labeled rows stand for their whole region. 0: ``transform``
        returns the latent means themselves. ``"auto"``: |propagation_rule|
        (with many labels strong smoothing blurs boundaries the classifier can
        draw itself); the value used is in ``propagation_alpha_``. The fitted
        transformer keeps the training codes in ``propagation_`` (2 x n_rows x
        n_components float32).
    n_neighbors : int, default=10
        Neighbours per node of the propagation graph (capped at the number of
        training rows). The neighbours are searched |graph_rule|; ``transform``
        searches the same index.
    propagation_steps : int, default=10
        Iterations of the propagation.
    propagation_metric : {"euclidean", "cosine"}, default="euclidean"
        How the propagation graph finds a code's neighbours, among the training
        codes and for the rows ``transform`` maps: the nearest by Euclidean
        distance, or those of largest cosine similarity (the direction of the
        code, whatever its length). The codes propagated are the latent means
        either way. ``"cosine"`` is for images whose brightness or tint varies
        apart from their class, which may scale the length of their codes (see
        the user guide, "Embedding propagation").
    max_epochs : int or "auto", default="auto"
        Number of passes over the training data. ``"auto"``: |epochs_rule|.
    batch_size : int, default=256
        Mini-batch size for training.
    learning_rate : float, default=1e-3
        Adam learning rate (Adam runs torch's fused kernel where torch has one
        for the device). When training moves the weights by |stalled_rule|
        (a learning rate orders of magnitude too small), ``fit`` warns with a
        ``ConvergenceWarning``: the codes are those of the untrained network.
    device : str or torch.device, default="auto"
        Torch device for training and inference; ``"auto"``: |device_rule|.
        Any spelling torch accepts, in any case: every CPU spelling (``"cpu:0"``,
        ``"CPU"``, ``torch.device("cpu")``) trains as ``"cpu"``; the device used
        is in ``device_``, the parameter keeps the value given. A saved model
        loads on any machine whatever device it was trained on: a model trained
        on a GPU unpickles and runs on a CPU-only machine (skorch warns that it
        moved), one trained on ``"cuda:<i>"`` on a machine with fewer GPUs runs
        on the current GPU (with a warning).
    precision : {"auto", "float32", "bfloat16"}, default="auto"
        Arithmetic of the training steps. ``"bfloat16"``: the forward passes
        run under ``torch.autocast`` with bfloat16 (matrix products and
        convolutions in bfloat16; weights, gradients, optimizer and loss in
        float32), which is faster on hardware with bfloat16 units and slower on
        hardware without. ``"auto"``: |precision_rule|. ``transform`` and the
        other inference methods compute in float32 either way; the fitted
        value is in ``precision_``.
    n_threads : int or None, default=None
        Cap on torch's intra-op threads during ``fit`` (training and the
        propagation graph); torch's setting is restored when ``fit`` returns.
        None: leave torch's setting alone (all cores by default). Use 1 when
        other work shares the cores: threads that wait for a busy core spin,
        so an epoch slows down rather than speeds up (see the performance
        page and ``benchmarks/threads.py``). The cap
        applies to the whole process while ``fit`` runs, so fits in
        concurrent threads share it.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, augmentation and the
        reparameterization noise, all drawn from generators the estimator owns:
        an int gives bit-identical results across runs on the CPU (at a given
        precision and thread count), in threads too, and torch's global random
        state is neither used nor changed.
    verbose : int, default=0
        0: silent; 1: one line per epoch (skorch's ``PrintLog``); 2: also a
        per-batch progress bar.

    Attributes
    ----------
    net_ : VAENet
        The trained skorch net; ``net_.module_`` is the :class:`torch.nn.Module`.
    history_ : list of dict
        One dict per epoch with keys ``epoch``, ``loss`` (training loss per
        sample: beta-weighted negative ELBO, plus the weighted classification
        term with labels), ``reconstruction``, ``kl``, ``kl_weight`` and ``dur``
        (seconds); with labels also ``classification`` (cross-entropy of the
        labeled rows). ``pandas.DataFrame(history_)`` tabulates it.
    classes_ : ndarray
        The classes of the labels the VAE was trained with; empty when it was
        trained without labels.
    n_labeled_ : int
        Number of labeled rows used in training (0: unsupervised).
    image_shape_ : (int, int, int) or None
        ``(channels, height, width)`` of the images trained on; None: plain
        features.
    augmentation_ : str or callable
        The augmentation used: ``"none"``, ``"shift"``, ``"shift_flip"`` or
        the callable given.
    encoder_ : str
        The encoder used: ``"mlp"`` or ``"conv"``.
    precision_ : str
        The training precision used: ``"float32"`` or ``"bfloat16"``.
    label_weight_ : float
        The weight of the classification term used in training (0.0 without
        labels).
    kl_weight_ : float
        The final weight of the KL term used in training.
    n_iter_ : int
        Number of epochs run.
    n_components_ : int
        The latent dimension of the fitted model: the width of ``transform``'s
        output and of ``inverse_transform``'s input, whatever ``n_components``
        was set to after ``fit``.
    propagation_alpha_ : float
        The propagation weight used (0.0: none).
    propagation_ : EmbeddingPropagation or None
        The propagation graph of the training codes (``X`` then
        ``X_unlabeled``): ``propagation_.codes_`` holds their latent means,
        ``propagation_.propagated_`` their propagated codes (both ndarrays of
        shape (n_rows, n_components)); None when the propagation weight is 0.
    device_ : str
        The device training ran on: ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features,)
        Names of features seen during ``fit``; only when ``X`` has string
        column names.

    Notes
    -----
    The methods of a fitted model (``transform``, ``encode``,
    ``inverse_transform``, ``sample``, ``score_samples``, ``score``,
    ``get_feature_names_out``) use what was fitted: its latent dimension
    (``n_components_``), likelihood, image shape, device and propagation.
    Parameters changed with ``set_params`` after ``fit`` take effect at the
    next ``fit``.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : Another unsupervised neural feature learner.
    sklearn.decomposition.PCA : Linear latent representation.

    References
    ----------
    .. [1] D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    .. [2] D. P. Kingma, D. J. Rezende, S. Mohamed and M. Welling, "Semi-Supervised
       Learning with Deep Generative Models", NeurIPS 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from vaesvm import VAETransformer
    >>> X = np.random.RandomState(0).rand(64, 20)
    >>> vae = VAETransformer(n_components=2, hidden_layer_sizes=(16,), max_epochs=2,
    ...                      kl_warmup_epochs=1, random_state=0).fit(X)
    >>> vae.transform(X).shape
    (64, 2)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "image_shape": [None, StrOptions({"auto"}), tuple, list],
        "encoder": [StrOptions({"auto", *ENCODERS})],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "batch_norm": ["boolean"],
        "likelihood": [StrOptions(set(LIKELIHOODS))],
        "kl_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "kl_warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "label_weight": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "labeled_batch_size": [Interval(Integral, 1, None, closed="left")],
        "augmentation": [StrOptions({"auto", *AUGMENTATIONS}), callable],
        "denoising": ["boolean"],
        "propagation_alpha": [Interval(Real, 0, 1, closed="left"), StrOptions({"auto"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "propagation_steps": [Interval(Integral, 1, None, closed="left")],
        "propagation_metric": [StrOptions(set(METRICS))],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "device": [str, torch.device],
        "precision": [StrOptions({"auto", *PRECISIONS})],
        "n_threads": [None, Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components: int = 50,
        *,
        hidden_layer_sizes: int | tuple[int, ...] = (600, 600),
        image_shape: str | tuple[int, ...] | None = "auto",
        encoder: str = "auto",
        activation: str = "softplus",
        batch_norm: bool = True,
        likelihood: str = "bernoulli",
        kl_weight: float | str = "auto",
        kl_warmup_epochs: int = 10,
        label_weight: float | str = "auto",
        labeled_batch_size: int = 64,
        augmentation: str | Callable = "auto",
        denoising: bool = True,
        propagation_alpha: float | str = "auto",
        n_neighbors: int = 10,
        propagation_steps: int = 10,
        propagation_metric: str = "euclidean",
        max_epochs: int | str = "auto",
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        device: str | torch.device = "auto",
        precision: str = "auto",
        n_threads: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.image_shape = image_shape
        self.encoder = encoder
        self.activation = activation
        self.batch_norm = batch_norm
        self.likelihood = likelihood
        self.kl_weight = kl_weight
        self.kl_warmup_epochs = kl_warmup_epochs
        self.label_weight = label_weight
        self.labeled_batch_size = labeled_batch_size
        self.augmentation = augmentation
        self.denoising = denoising
        self.propagation_alpha = propagation_alpha
        self.n_neighbors = n_neighbors
        self.propagation_steps = propagation_steps
        self.propagation_metric = propagation_metric
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.precision = precision
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def _check_X(self, X) -> np.ndarray:
        """Validate ``X`` for a fitted model (see :func:`~vaesvm._validation.check_input`).

        The value range is the one of the likelihood the model was trained with,
        whatever ``likelihood`` says now.
        """
        return check_input(self, X, reset=False, likelihood=self.net_.module_.likelihood)

    # --------------------------------------------------------------------- fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, *, X_unlabeled=None) -> "VAETransformer":
        """Train the VAE on the rows of ``X`` and ``X_unlabeled``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; every row enters the ELBO.
        y : array-like of shape (n_samples,), default=None
            Class labels; rows labeled ``-1`` are unlabeled, as in
            :mod:`sklearn.semi_supervised`. With ``label_weight`` > 0 or "auto" and at
            least two classes among the labeled rows, they train the
            classifier head (the semi-supervised objective). None, or every row
            ``-1``, trains the plain VAE. One single class, or continuous
            targets, raise a ``ValueError`` (pass ``label_weight=0`` to ignore
            ``y``), and so do missing labels (None/NaN) and labels mixing
            strings with numbers. In a Pipeline, a classifier after the VAE
            would learn ``-1`` as a class: wrap it as
            ``LabeledOnlyClassifier(SVC())`` to fit and score it on the
            labeled rows only.
        X_unlabeled : array-like of shape (n_unlabeled, n_features), default=None
            Extra unlabeled rows, appended to ``X`` for training; the same as
            rows of ``X`` labeled ``-1``. In a Pipeline pass it as
            ``pipe.fit(X, y, vae__X_unlabeled=X_unlabeled)``. Zero rows (e.g.
            ``X_all[idx_unlabeled]`` when every row is labeled) are no extra
            rows: the same fit as ``X_unlabeled=None``.

        Returns
        -------
        self : VAETransformer
            The fitted transformer.

        Raises
        ------
        KeyboardInterrupt
            On Ctrl-C during training; the estimator is left as it was.
        FloatingPointError
            When training diverges (a non-finite loss, or one that grew more
            than 10,000-fold); the message says what to change.
        ValueError
            Before training, for input or settings that cannot train (each
            message names the problem and the fix), among them a callable
            ``augmentation`` whose output for a batch is not a tensor of the
            batch's shape, dtype and device with finite values (``TypeError``
            when it is no tensor at all).

        Warns
        -----
        UserWarning
            Before training, for settings that cannot do what they ask:
            ``kl_warmup_epochs`` > ``max_epochs`` (with ``kl_weight`` > 0: the
            KL weight never reaches ``kl_weight``); a number ``label_weight`` > 0
            without labeled rows (the plain VAE is trained);
            ``likelihood="gaussian"`` with training data that have
            |gaussian_scale_rule| (standardize them).
        sklearn.exceptions.ConvergenceWarning
            After training, when the weights moved by |stalled_rule|:
            raise ``learning_rate`` or ``max_epochs``.

        Notes
        -----
        ``fit`` is all-or-nothing: the fitted attributes are assigned only
        after training, so an error or an interruption leaves a previously
        fitted estimator exactly as it was (and an unfitted one unfitted). The
        fitted net keeps no optimizer state.
        """
        self._fit(X, y, X_unlabeled)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, *, X_unlabeled=None) -> np.ndarray:
        """Fit, then return ``transform(X)`` from the codes ``fit`` computed anyway.

        Parameters
        ----------
        X, y, X_unlabeled
            As for :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_components), dtype float32
            The codes of the rows of ``X``: ``fit(X, ...).transform(X)`` up to
            float32 rounding (the rows are encoded in other batches), without
            encoding them or searching their neighbours a second time.
        """
        return self._fit(X, y, X_unlabeled, return_codes=True)

    def _fit(self, X, y, X_unlabeled, *, return_codes: bool = False) -> np.ndarray | None:
        """Train, build the code graph, assign the fitted state; return the codes of ``X``.

        Nothing is assigned to ``self`` before training has finished, so a fit that
        fails leaves a fitted estimator as it was. The codes are returned only when
        ``return_codes`` (``fit_transform``), from the encoding the graph needs anyway.
        """
        data = check_training_data(self, X, y, X_unlabeled)
        options = resolve_options(self, data)
        warn_ineffective_settings(self, data, options)
        if callable(options.augmentation):
            sample = as_tensor(data.X[:CHECK_ROWS], options.device)
            check_augmentation(options.augmentation, sample)
        net = build_net(self.get_params(), options, data.X.shape[1], len(data.classes))
        with torch_threads(self.n_threads):
            fit_seeded(net, data.X, data.y, options.seed)
            propagation, codes = None, None
            if options.propagation_alpha > 0:
                propagation = EmbeddingPropagation(options.propagation_alpha,
                                                   options.n_neighbors, self.propagation_steps,
                                                   random_state=options.seed,
                                                   metric=self.propagation_metric)
                # the graph is searched on the training device
                graph_codes = torch.from_numpy(latent_means(net, data.X)).to(options.device)
                # fit reads no more rows: a memmap's pages need not stay resident
                # under the graph's buffers
                drop_resident_pages(data.X)
                if return_codes:
                    # only X's rows: a slice of all rows' output would keep it all alive
                    codes = propagation.fit_transform(graph_codes, data.n_given).cpu().numpy()
                else:
                    propagation.fit(graph_codes)
            elif return_codes:
                codes = latent_means(net, data.X[: data.n_given])
        self._set_fitted(data, options, net, propagation)
        return codes

    def _set_fitted(self, data: TrainingData, options, net, propagation) -> None:
        """Assign every fitted attribute at once."""
        self.n_features_in_ = data.n_features_in
        self.n_components_ = int(net.module_.n_components)
        if data.feature_names_in is not None:
            self.feature_names_in_ = data.feature_names_in
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.net_ = net
        self.device_ = options.device
        self.classes_ = data.classes
        self.n_labeled_ = data.n_labeled
        self.label_weight_ = options.label_weight
        self.kl_weight_ = options.kl_weight
        self.image_shape_ = options.image_shape
        self.augmentation_ = options.augmentation
        self.precision_ = options.precision
        self.encoder_ = options.encoder
        self.propagation_alpha_ = options.propagation_alpha
        self.propagation_ = propagation
        self.history_ = epoch_history(net, with_classification=len(data.classes) > 0)
        self.n_iter_ = len(self.history_)

    # --------------------------------------------------------------- inference
    @property
    def _n_features_out(self) -> int:
        """Number of output features, used by ``get_feature_names_out`` (fitted only)."""
        check_is_fitted(self, "net_")
        return self.n_components_

    def encode(self, X) -> np.ndarray:
        """Return the latent means mu(x) themselves, without embedding propagation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        ndarray of shape (n_samples, n_components), dtype float32
            Posterior means of the latent code (what :meth:`transform` returns
            with ``propagation_alpha=0``).
        """
        check_is_fitted(self)
        return latent_means(self.net_, self._check_X(X))

    def transform(self, X) -> np.ndarray:
        """Return the latent means mu(x), smoothed over the training codes' graph.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        ndarray of shape (n_samples, n_components), dtype float32
            Posterior means of the latent code; with ``propagation_alpha`` > 0
            each one mixed with the propagated codes of its ``n_neighbors``
            nearest training codes (see the class docstring). Every row is
            mapped on its own: the result does not depend on the other rows.
        """
        mu = self.encode(X)
        if self.propagation_ is None:
            return mu
        return self.propagation_.transform(torch.from_numpy(mu)).numpy()

    def inverse_transform(self, X) -> np.ndarray:
        """Decode latent codes to the mean of p(x | z).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. the output of :meth:`transform`.

        Returns
        -------
        ndarray of shape (n_samples, n_features), dtype float32
            Pixel probabilities (Bernoulli) or feature means (Gaussian).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=np.float32, input_name="Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform expects latent codes with n_components="
                f"{self.n_components_} columns; got {Z.shape[1]}. Pass the output of "
                f"transform() (the fitted latent dimension n_components_ is "
                f"{self.n_components_})."
            )
        return self.net_.map_batches(Z, lambda m, z: m.mean(z))

    def sample(self, n_samples: int = 1, random_state=None) -> np.ndarray:
        """Generate data from the prior: z ~ N(0, I), then the mean of p(x | z).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed for drawing z.

        Returns
        -------
        ndarray of shape (n_samples, n_features), dtype float32
            Pixel probabilities (Bernoulli) or feature means (Gaussian).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
        rng = check_random_state(random_state)
        z = rng.standard_normal((n_samples, self.n_components_)).astype(np.float32)
        return self.net_.map_batches(z, lambda m, z: m.mean(z))

    def score_samples(self, X) -> np.ndarray:
        """Per-sample evidence lower bound (ELBO), in nats; higher is better.

        The expectation over q(z | x) is evaluated at the posterior mean
        (z = mu), which makes the score deterministic; the KL term enters with
        weight 1 whatever ``kl_weight`` was used for training.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        ndarray of shape (n_samples,), dtype float64
            ELBO of each sample.
        """
        check_is_fitted(self)
        X = self._check_X(X)

        def elbo(module, x):
            reconstruction, kl = module.elbo_terms(x, module(x))
            return -(reconstruction + kl)

        return self.net_.map_batches(X, elbo).astype(np.float64)

    def score(self, X, y=None) -> float:
        """Mean ELBO of ``X`` in nats (see :meth:`score_samples`); higher is better.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        float
            Average per-sample ELBO.
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Computation is float32 (torch); float32 in gives float32 out.
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


fill_rule_texts(VAETransformer.fit)
