"""ConvNet X-Ray: the helpers the course's notebooks use, in one namespace.

Import as ``import helpers`` (or ``from helpers import ...``). Each function's docstring names
the notebook that teaches it. Keras and TensorFlow are imported once, in ``helpers._backend``.
"""

from helpers._backend import EPSILON, keras, tf
from helpers.data import (
    CLASS_NAMES,
    list_images,
    load_image,
    make_scenes,
    make_shapes,
    resize_image,
)
from helpers.layers import (
    conv_layer_names,
    default_explanation_layer,
    get_layer,
    intermediate_model,
    layer_names,
    layer_output_shapes,
    logits_model,
    spatial_layer_names,
)
from helpers.models import build_small_convnet, build_vgg_gap, list_models, load_model, model_card

# Chapter modules register their public names below (one import line per module).
from helpers.activations import best_detectors, channel_detectors, feature_map_layers, feature_maps, fit_decoders, layer_table, linear_probe, map_to_input, probe_responses, receptive_field, sparsity, summarize_activations  # noqa: E501
from helpers.cams import (BaseCAM, CAM, CAMResult, EmptyHeatmapWarning, GradCAM, cam, center_baseline, decode_predictions, get_explainer, grad_cam, heatmap_centroids, heatmap_peaks, mass_inside, overlay, pointing_game)  # noqa: E501
from helpers.filters import FilterVisualization, Robustness, deprocess_image, feature_extractor, filter_ascent, filter_loss, grey_noise_images, normalize_gradient, pattern_statistics, randomized_copy, spectral_statistics, transformed_activations, visualize_filters  # noqa: E501
