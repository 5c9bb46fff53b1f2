"""
==========================================================
The latent space: reconstructions, samples and a 2-D view
==========================================================

:class:`~vaesvm.VAETransformer` is a generative model as well as a feature
extractor. Trained here on 3,000 Fashion-MNIST images *without any labels*,
it encodes each image into 16 numbers, the latent means
(:meth:`~vaesvm.VAETransformer.encode`), decodes codes back into images
(:meth:`~vaesvm.VAETransformer.inverse_transform`) and draws new images from
the prior (:meth:`~vaesvm.VAETransformer.sample`). A 2-D t-SNE map of the codes
of test images, coloured by their class, shows why a classifier needs few
labels on these codes: images of a class gather in the same regions, although
the VAE never saw a label.
"""

# %%
# Train the VAE on unlabeled images
# ---------------------------------
# ``fit(X)`` without ``y`` trains the plain VAE. 16 latent dimensions and 12
# epochs keep the example fast (the defaults are 50 and 30).
from vaesvm import VAETransformer, load_fashion_mnist

data = load_fashion_mnist()
X_train = data.X_train[:3000]
X_test, y_test = data.X_test[:1000], data.y_test[:1000]

vae = VAETransformer(n_components=16, max_epochs=12, random_state=0).fit(X_train)
print(f"{vae.n_iter_} epochs, final loss {vae.history_[-1]['loss']:.1f} nats per image")
print(f"mean ELBO of the test images: {vae.score(X_test):.1f} nats")

# %%
# Reconstructions, samples and codes
# ----------------------------------
# ``encode`` gives the latent means; ``inverse_transform`` decodes codes into
# pixel probabilities; ``sample`` decodes codes drawn from the standard normal
# prior. :class:`~sklearn.manifold.TSNE` maps the 16-d codes of the test images
# to 2-D for the picture.
from sklearn.manifold import TSNE

codes = vae.encode(X_test)
reconstructions = vae.inverse_transform(codes[:8])
samples = vae.sample(16, random_state=0)
embedding = TSNE(n_components=2, init="pca", random_state=0).fit_transform(codes)
print("codes:", codes.shape, " samples:", samples.shape)

# %%
# The figure
# ----------
import matplotlib.pyplot as plt
import numpy as np


def tile(images, n_cols):
    """Lay 28 x 28 images out in a grid with n_cols columns, as one array."""
    rows = [np.hstack(list(images[i:i + n_cols].reshape(-1, 28, 28)))
            for i in range(0, len(images), n_cols)]
    return np.vstack(rows)


fig = plt.figure(figsize=(12, 4.4), layout="constrained")
left, middle, right = fig.subfigures(1, 3, width_ratios=[1, 1, 1.6])

top, bottom = left.subplots(2, 1)
top.imshow(tile(X_test[:8], 4), cmap="gray_r")
top.set_title("test images")
bottom.imshow(tile(reconstructions, 4), cmap="gray_r")
bottom.set_title("their reconstructions")
ax = middle.subplots()
ax.imshow(tile(samples, 4), cmap="gray_r")
ax.set_title("samples from the prior")
for image_ax in (top, bottom, ax):
    image_ax.set_axis_off()

ax = right.subplots()
for label, name in enumerate(data.target_names):
    points = embedding[y_test == label]
    ax.scatter(points[:, 0], points[:, 1], s=6, color=plt.cm.tab10(label), label=name)
right.legend(fontsize=8, markerscale=2, loc="outside right center")
ax.set_xticks([])
ax.set_yticks([])
ax.set_title("t-SNE of the test codes, coloured by class")
plt.show()
