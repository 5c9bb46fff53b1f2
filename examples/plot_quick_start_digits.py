"""
=========================================
Quick start: 100 labeled digits and a VAE
=========================================

Labels are expensive, images are cheap. This example trains a
:class:`~vaesvm.VAETransformer` on all 1,500 training images of scikit-learn's
8x8 handwritten digits, of which only 100 (ten per class) are labeled, and an
RBF :class:`~sklearn.svm.SVC` on the latent codes of the labeled ones. The whole
model is one :class:`~sklearn.pipeline.Pipeline`; the unlabeled images reach the
VAE through the fit parameter ``vae__X_unlabeled``. For comparison, the same SVC
is trained on the raw pixels of the same 100 labeled images.
"""

# %%
# The data
# --------
# The default Bernoulli likelihood of the VAE needs pixel values in [0, 1]: the
# digits have 16 grey levels, so divide by 16. The first 1,500 images are for
# training, the remaining 297 for testing. :func:`~vaesvm.make_semi_supervised_split`
# draws a class-balanced labeled subset of the training images and returns the
# rest as unlabeled.
from sklearn.datasets import load_digits

from vaesvm import make_semi_supervised_split

X, y = load_digits(return_X_y=True)
X = X / 16
X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
labeled, unlabeled = make_semi_supervised_split(y_train, 100, random_state=0)
X_lab, y_lab, X_unl = X_train[labeled], y_train[labeled], X_train[unlabeled]
print(f"{len(X_lab)} labeled, {len(X_unl)} unlabeled, {len(X_test)} test images")

# %%
# The model
# ---------
# ``VAETransformer()`` with its default settings recognizes the rows as 8x8
# images (and so uses its convolutional encoder). The labels the Pipeline
# passes to ``fit`` shape the latent space too, so that the codes the SVC sees
# separate the classes. ``random_state`` makes the run reproducible.
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from vaesvm import VAETransformer

pipe = Pipeline([("vae", VAETransformer(random_state=0)), ("svc", SVC())])
pipe.fit(X_lab, y_lab, vae__X_unlabeled=X_unl)
vae_accuracy = pipe.score(X_test, y_test)
vae = pipe.named_steps["vae"]
print(f"image shape found: {vae.image_shape_}, encoder: {vae.encoder_}")

pixels = SVC().fit(X_lab, y_lab)
pixel_accuracy = pixels.score(X_test, y_test)
print(f"VAE + SVC test accuracy:       {vae_accuracy:.3f}")
print(f"SVC on pixels, same 100 labels: {pixel_accuracy:.3f}")

# %%
# The predictions
# ---------------
# The first 60 test digits with the label the pipeline predicts for each; the
# mistakes are in red, with the true label in brackets.
import matplotlib.pyplot as plt

predicted = pipe.predict(X_test)
fig, axes = plt.subplots(6, 10, figsize=(8, 5.6))
for ax, image, pred, true in zip(axes.ravel(), X_test, predicted, y_test):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    wrong = pred != true
    ax.set_title(f"{pred} ({true})" if wrong else str(pred), fontsize=9,
                 color="red" if wrong else "black")
    ax.set_axis_off()
fig.suptitle(f"VAE + SVC from 100 labels: {vae_accuracy:.1%} of the test digits right "
             f"(SVC on pixels: {pixel_accuracy:.1%})")
fig.tight_layout()
plt.show()
