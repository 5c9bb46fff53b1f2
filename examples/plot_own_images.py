"""
=========================================
Your own images: colour and non-square
=========================================

Images usually come as an array of shape (n_images, height, width, channels),
the layout of NumPy, PIL and matplotlib. :class:`~vaesvm.VAETransformer` takes
one flat row per image, channels first as PyTorch lays images out, and needs
to be told the shape of one image with ``image_shape=(channels, height,
width)``: then its convolutional encoder sees the pixels' neighbourhoods.
The default, ``image_shape="auto"``, recognizes square grey images only: colour
or non-square rows would be taken for plain feature vectors.

The images here are made from Fashion-MNIST: each one is cropped to 28 x 20
pixels and tinted with a random colour (the colour says nothing about the
class), 3,000 training images of which 100 are labeled.
"""

# %%
# Images as a user has them
# -------------------------
# ``to_colour`` turns grey 28 x 28 Fashion-MNIST rows into an array of shape
# (n, 28, 20, 3), as images loaded with PIL or ``matplotlib.pyplot.imread``
# would be.
import numpy as np

from vaesvm import load_fashion_mnist, make_semi_supervised_split

data = load_fashion_mnist()
rng = np.random.RandomState(0)


def to_colour(rows):
    grey = rows.reshape(len(rows), 28, 28)[:, :, 4:24]  # crop to 28 x 20
    tint = rng.uniform(0.3, 1.0, size=(len(rows), 1, 1, 3))
    return grey[..., None] * tint


images_train, y_train = to_colour(data.X_train[:3000]), data.y_train[:3000]
images_test, y_test = to_colour(data.X_test[:1000]), data.y_test[:1000]
print("images:", images_train.shape)

# %%
# Rows for the estimator
# ----------------------
# Move the channels first, then flatten each image into one row. ``image_shape``
# describes one image in that order: (channels, height, width).
n_channels, height, width = 3, 28, 20


def to_rows(images):
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


X_train, X_test = to_rows(images_train), to_rows(images_test)
print("rows:", X_train.shape)

labeled, unlabeled = make_semi_supervised_split(y_train, 100, random_state=0)
X_lab, y_lab, X_unl = X_train[labeled], y_train[labeled], X_train[unlabeled]

# %%
# Train and classify
# ------------------
# The same Pipeline as for any images, with the shape declared. A few epochs
# keep the example fast.
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer

vae = VAETransformer(image_shape=(n_channels, height, width), max_epochs=10, random_state=0)
pipe = Pipeline([("vae", vae), ("svc", SVC())])
pipe.fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
print(f"image shape: {vae.image_shape_}, encoder: {vae.encoder_}")
print(f"VAE + SVC test accuracy:        {pipe.score(X_test, y_test):.3f}")
print(f"SVC on pixels, same 100 labels: {SVC().fit(X_lab, y_lab).score(X_test, y_test):.3f}")

# %%
# Back to images
# --------------
# What the VAE gives back is in the same layout as its input: the
# reconstructions ``inverse_transform(encode(X))`` are flat channels-first
# rows, which the inverse of ``to_rows`` turns into displayable images again.
import matplotlib.pyplot as plt


def to_images(rows):
    return rows.reshape(len(rows), n_channels, height, width).transpose(0, 2, 3, 1)


shown = X_test[:8]
reconstructed = to_images(vae.inverse_transform(vae.encode(shown)))
predicted = pipe.predict(shown)

fig, axes = plt.subplots(2, 8, figsize=(8, 3.4))
for i in range(8):
    axes[0, i].imshow(images_test[i])
    axes[0, i].set_title(data.target_names[predicted[i]], fontsize=8,
                         color="black" if predicted[i] == y_test[i] else "red")
    axes[1, i].imshow(reconstructed[i])
axes[0, 0].set_ylabel("test image")
axes[1, 0].set_ylabel("VAE output")
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle("28 x 20 colour images, image_shape=(3, 28, 20): predicted class "
             "(red: wrong) and reconstruction")
fig.tight_layout()
plt.show()
