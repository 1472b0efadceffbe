"""The model cut at a convolution, for the filter ascent: the one place that reaches into Keras's graph.

:func:`feature_extractor` re-traces a model up to a 2-D convolution on images of any size (and
optionally without the layer's activation); :func:`trunk_to_layer_input` stops just before the
convolution, so the ascent can apply only the requested filters' kernels itself. Both read a
symbolic tensor's producer through Keras's graph internals, written once here
(:func:`layer_input`). The checks of a conv layer, its filter indices and the image size live
here too.

Taught in: ``02_filter_visualization``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from helpers._backend import keras
from helpers.layers import (
    CONV_TYPES,
    WithoutActivation,
    check_model,
    conv_layer_names,
    get_layer,
    input_shape,
    model_cache,
    resolve_layer_path,
    retrace,
    shared_extractor,
)

__all__ = ["ascent_size", "check_conv_layer", "check_filters", "feature_extractor", "layer_input",
           "trunk_to_layer_input"]


def ascent_size(size: int | Sequence[int] | None, model: keras.Model) -> tuple[int, int]:
    """``(height, width)`` of the ascent's images: ``size`` (an int or a pair, at least 8), or the model's own."""
    if size is None:
        shape = input_shape(model)
        if len(shape) != 3 or shape[0] is None or shape[1] is None:
            raise ValueError(f"Model {model.name!r} has input shape {shape}; pass size=(height, width).")
        return int(shape[0]), int(shape[1])
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f"size must be an int or (height, width) of at least 8 pixels; got {size}.")
    return size


def check_conv_layer(model: keras.Model, layer: str) -> tuple[str, keras.layers.Layer]:
    """``(path, layer)`` of a 2-D convolution of ``model``; a clear error listing the conv layers otherwise."""
    check_model(model, "visualize the filters of")
    convs = conv_layer_names(model)
    path = resolve_layer_path(model, layer)  # raises ValueError listing every layer name
    target = get_layer(model, path)
    if not isinstance(target, CONV_TYPES) or len(target.kernel.shape) != 4:
        raise ValueError(
            f"Layer {layer!r} of model {model.name!r} is a {type(target).__name__}, not a 2-D "
            f"convolution: filter visualization needs one. Conv layers: {', '.join(convs)}."
        )
    return path, target


def check_filters(filters: Sequence[int] | int, layer: str, n_channels: int) -> tuple[int, ...]:
    """Filter indices as a tuple, each checked against the layer's ``n_channels`` (an int means one filter)."""
    if isinstance(filters, (int, np.integer)):
        filters = [int(filters)]
    filters = tuple(int(f) for f in filters)
    if not filters:
        raise ValueError("filters is empty; pass filter indices such as range(16).")
    bad = [f for f in filters if not 0 <= f < n_channels]
    if bad:
        raise ValueError(
            f"Filter index {bad[0]} is out of range: layer {layer!r} has {n_channels} filters "
            f"(valid indices 0..{n_channels - 1})."
        )
    return filters


def layer_input(output) -> "keras.KerasTensor":
    """The symbolic input of the layer call that produced the symbolic tensor ``output`` (Keras internals)."""
    operation, node_index, _ = output._keras_history
    return operation._inbound_nodes[node_index].input_tensors[0]


# Truncated models are cached per (model, layer, size, pre_activation) in helpers.layers.model_cache:
# building and tracing one costs about a second, and notebooks ask for the same layer several times.


def feature_extractor(model: keras.Model, layer: str, size: int | Sequence[int] | None = None,
                      pre_activation: bool = False) -> keras.Model:
    """The model truncated at ``layer``, taking ``size`` images (any size for convolutional parts).

    Only the layers up to ``layer`` are kept: the ascent never pays for the rest of the network.
    Works for Sequential (also never called), Functional and nested models.

    Args:
        model: a Keras model taking images.
        layer: a 2-D convolution layer's name or path (``"backbone/block3_conv1"``).
        size: input ``(height, width)`` or an int; the model's own input size when ``None``.
        pre_activation: output the convolution *before* its activation (ReLU), so a filter that
            is zero everywhere on the starting image still gets a gradient.

    Returns:
        A ``keras.Model`` mapping ``(n, h, w, 3)`` images to the layer's ``(n, h', w', c)`` output.

    Raises:
        ValueError: ``layer`` is not a 2-D convolution (the message lists the conv layers).

    Taught in: ``02_filter_visualization``.
    """
    path, target = check_conv_layer(model, layer)
    size = ascent_size(size, model)
    key = (path, size, bool(pre_activation))
    cache = model_cache(model, "filters")
    if key in cache:
        return cache[key]
    native = shared_extractor(model, [path], include_output=False)  # the one the activations use too
    channels = input_shape(model)[-1]
    inputs = keras.Input((*size, channels), name="image")
    # Re-trace the truncated graph on an input of the requested size (the convolutional part of
    # a model accepts any size; its head, cut off here, would not).
    outputs = retrace(native, inputs).outputs[0]
    if pre_activation:
        outputs = WithoutActivation(target, name=f"{target.name}_pre_activation")(layer_input(outputs))
    extractor = keras.Model(inputs, outputs, name=f"{model.name}_to_{target.name}")
    cache[key] = extractor
    return extractor


def trunk_to_layer_input(model: keras.Model, path: str, size: tuple[int, int]) -> keras.Model:
    """The model up to the *input* of convolution ``path`` (what the convolution receives), at ``size``, cached."""
    cache = model_cache(model, "filters")
    key = ("trunk", path, tuple(size))
    if key not in cache:
        extractor = feature_extractor(model, path, size)
        target = get_layer(model, path)
        cache[key] = keras.Model(extractor.inputs, layer_input(extractor.outputs[0]),
                                 name=f"{model.name}_to_{target.name}_input")
    return cache[key]
