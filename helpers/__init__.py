"""ConvNet X-Ray: the helpers the course's notebooks use, in one namespace.

Import as ``import helpers`` (or ``from helpers import ...``). Each function's docstring names
the notebook that teaches it. Keras and TensorFlow are imported once, in ``helpers._backend``.
The flat namespace is built from each module's ``__all__``:

* ``data`` — the shape world, bundled photos, ``load_image`` and the pixel rule;
* ``models`` — the bundled models, ``load_model``, ``decode_predictions``;
* ``layers`` — find layers in any model, re-trace it, receptive fields, the default layer;
* ``explainers`` — the core every explanation method runs through: checks, registry, ``explain``;
* ``cams`` — the CAM family (CAM, Grad-CAM, Grad-CAM++, LayerCAM, Score-CAM, Eigen-CAM);
* ``attributions`` — pixel attributions (saliency, SmoothGrad, Integrated Gradients, occlusion);
* ``evaluation`` — heatmaps measured against masks, deletion/insertion, the randomization check;
* ``activations`` (chapter 1), ``filters`` (chapter 2), ``shortcuts`` (chapter 5), ``plotting``;
* ``i18n`` — the language of feedback and labels: ``set_language("zh")`` for the Chinese edition;
* ``xray`` — ``xray()``, the explorer that links the three chapters on one channel (its widgets load lazily).
"""

from helpers._backend import EPSILON, keras, tf  # noqa: F401
from helpers import activations, attributions, cams, data, evaluation, explainers, filters, layers, models, plotting  # noqa: F401
from helpers import i18n, shortcuts  # noqa: F401

from helpers.data import *  # noqa: F401,F403
from helpers.models import *  # noqa: F401,F403
from helpers.layers import *  # noqa: F401,F403
from helpers.explainers import *  # noqa: F401,F403
from helpers.cams import *  # noqa: F401,F403
from helpers.attributions import *  # noqa: F401,F403
from helpers.evaluation import *  # noqa: F401,F403
from helpers.activations import *  # noqa: F401,F403
from helpers.filters import *  # noqa: F401,F403
from helpers.shortcuts import *  # noqa: F401,F403
from helpers.i18n import *  # noqa: F401,F403
from helpers.plotting import overlay  # noqa: F401
from helpers.xray import xray  # noqa: F401,E402  (the function; the module stays importable as helpers.xray)
