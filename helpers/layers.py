"""Find layers by name in any Keras 3 model and build models that expose their outputs.

Keras 3 users hit three failures when they try to look inside a model: ``"The layer
sequential has never been called and thus has no defined input"`` (a loaded Sequential),
``"Graph disconnected"`` (mixing a nested backbone's tensors with the outer graph) and
``None`` gradients (features and scores computed in two different calls). This module avoids
all three by *re-tracing* the model: every layer is called again on one fresh ``keras.Input``,
descending into nested models, so the requested intermediate outputs and the final score come
out of one graph and one forward pass.

Nested layers are addressed with a slash: ``"backbone/block5_conv3"``.

Taught in: ``01_intermediate_activations`` (feature maps), ``02_filter_visualization`` and
``03_class_activation_maps`` (gradients through intermediate layers).
"""

from __future__ import annotations

import weakref
from typing import Callable, Iterable, Sequence

from helpers._backend import keras

CONV_TYPES = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
POOL_TYPES = (
    keras.layers.MaxPooling2D, keras.layers.AveragePooling2D,
)
_SQUASHING = ("softmax", "sigmoid")


def input_shape(model: keras.Model) -> tuple[int, ...]:
    """Shape of one input example (without the batch axis), also for never-called models.

    Raises:
        ValueError: the model has no known input shape (a Sequential built without ``Input``
            and never called): build it first with ``model.build((None, H, W, C))``.
    """
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if inputs:
        if len(inputs) != 1:
            raise ValueError(f"Model {model.name!r} has {len(inputs)} inputs; only single-input models are supported.")
        return tuple(inputs[0].shape[1:])
    shape = getattr(model, "_build_shapes_dict", None)
    if shape:
        return tuple(next(iter(shape.values()))[1:])
    for layer in getattr(model, "layers", []):
        batch_shape = getattr(layer, "batch_shape", None) or getattr(layer, "_batch_input_shape", None)
        if batch_shape:
            return tuple(batch_shape[1:])
    raise ValueError(
        f"Model {model.name!r} has never been called and declares no input shape. "
        "Build it first, e.g. model.build((None, 150, 150, 3)), or start it with keras.Input(...)."
    )


def _sublayers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def iter_layers(model: keras.Model, prefix: str = "") -> Iterable[tuple[str, keras.layers.Layer]]:
    """``(path, layer)`` for every layer in model order, descending into nested models.

    A nested model appears itself (``"backbone"``) and then its layers (``"backbone/conv"``).
    """
    for layer in _sublayers(model):
        path = f"{prefix}{layer.name}"
        yield path, layer
        if isinstance(layer, keras.Model):
            yield from iter_layers(layer, prefix=f"{path}/")


def layer_names(model: keras.Model, kind: Callable[[keras.layers.Layer], bool] | None = None) -> list[str]:
    """Paths of all layers (nested ones as ``"outer/inner"``), optionally filtered by ``kind``."""
    return [path for path, layer in iter_layers(model)
            if not isinstance(layer, keras.Model) and (kind is None or kind(layer))]


def conv_layer_names(model: keras.Model) -> list[str]:
    """Paths of the convolution layers of ``model`` in order (nested ones as ``"outer/inner"``).

    Taught in: ``01_intermediate_activations``, ``02_filter_visualization``.
    """
    return layer_names(model, lambda layer: isinstance(layer, CONV_TYPES))


def get_layer(model: keras.Model, name: str) -> keras.layers.Layer:
    """The layer at path ``name`` (``"block5_conv3"`` or ``"backbone/block5_conv3"``).

    A plain name that is unique among nested layers is found too.

    Raises:
        ValueError: no such layer; the message lists the valid names.
    """
    if not isinstance(name, str):
        raise TypeError(f"Layer names are strings; got {type(name).__name__}.")
    paths = dict(iter_layers(model))
    if name in paths:
        return paths[name]
    matches = [path for path in paths if path.rsplit("/", 1)[-1] == name]
    if len(matches) == 1:
        return paths[matches[0]]
    hint = f" It is ambiguous: use one of {matches}." if matches else ""
    raise ValueError(
        f"No layer named {name!r} in model {model.name!r}.{hint} Valid names: {', '.join(paths)}."
    )


def resolve_layer_path(model: keras.Model, name: str) -> str:
    """The full path of the layer ``name`` (checks that it exists; see :func:`get_layer`)."""
    layer = get_layer(model, name)
    for path, candidate in iter_layers(model):
        if candidate is layer:
            return path
    raise AssertionError("unreachable")  # pragma: no cover


def output_layer_path(model: keras.Model) -> str:
    """Path of the layer that produces the model's output (descending into a nested head)."""
    layers = _sublayers(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no layers.")
    try:
        last = model.outputs[0]._keras_history[0]
    except (AttributeError, ValueError, IndexError, TypeError):
        last = layers[-1]
    if isinstance(last, keras.Model):
        return f"{last.name}/{output_layer_path(last)}"
    return last.name


def is_spatial(layer_output_shape: Sequence[int | None]) -> bool:
    """Whether an output shape (with batch axis) is a 2-D feature map ``(batch, h, w, c)``."""
    return len(layer_output_shape) == 4


@keras.saving.register_keras_serializable(package="convnet_xray")
class WithoutActivation(keras.layers.Layer):
    """Calls a wrapped layer with its activation replaced by the identity (pre-softmax scores).

    The wrapped layer's weights are shared, not copied; its activation is restored after
    each call, so the original model is never changed.
    """

    def __init__(self, layer: keras.layers.Layer, **kwargs):
        super().__init__(name=kwargs.pop("name", f"{layer.name}_pre_activation"), **kwargs)
        self.inner = layer

    def call(self, inputs):
        saved = self.inner.activation
        self.inner.activation = keras.activations.linear
        try:
            return self.inner(inputs)
        finally:
            self.inner.activation = saved

    def compute_output_shape(self, input_shape):
        return self.inner.compute_output_shape(input_shape)


def _activation_name(layer: keras.layers.Layer) -> str | None:
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", str(activation))


def _pre_activation_call(layer: keras.layers.Layer) -> Callable | None:
    """A callable computing ``layer`` without its squashing activation, or None if it has none."""
    name = _activation_name(layer)
    if name not in _SQUASHING:
        return None
    if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)):
        return lambda x: x
    return WithoutActivation(layer)


def _retrace(model: keras.Model, x, prefix: str, wanted: set[str], captured: dict,
             pre_softmax: bool, is_outermost_tail: bool):
    """Call every layer of ``model`` again on ``x``; collect outputs of paths in ``wanted``."""
    final_path = f"{prefix}{output_layer_path(model)}" if is_outermost_tail else None

    def call_layer(layer, path, *args, **kwargs):
        if isinstance(layer, keras.Model) and (
            any(w.startswith(f"{path}/") for w in wanted) or (final_path or "").startswith(f"{path}/")
        ):
            if len(args) != 1 or kwargs:
                raise ValueError(f"Nested model {path!r} must take exactly one input to be looked into.")
            y = _retrace(layer, args[0], f"{path}/", wanted, captured, pre_softmax,
                         is_outermost_tail and (final_path or "").startswith(f"{path}/"))
        elif pre_softmax and path == final_path and _pre_activation_call(layer) is not None:
            y = _pre_activation_call(layer)(*args)
        else:
            y = layer(*args, **kwargs)
        if path in wanted:
            captured[path] = y
        return y

    functional = getattr(model, "_functional", None) if isinstance(model, keras.Sequential) else model
    if isinstance(model, keras.Sequential) or not hasattr(functional, "_run_through_graph"):
        for layer in _sublayers(model):
            x = call_layer(layer, f"{prefix}{layer.name}", x)
        return x

    def operation_fn(operation):
        if isinstance(operation, keras.layers.InputLayer):
            return operation

        def run(*args, **kwargs):
            kwargs.pop("training", None)
            kwargs = {k: v for k, v in kwargs.items() if v is not None}
            return call_layer(operation, f"{prefix}{operation.name}", *args, **kwargs)

        return run

    return functional._run_through_graph(x, operation_fn=operation_fn)


def intermediate_model(model: keras.Model, layers: Sequence[str], include_output: bool = True,
                       pre_softmax: bool = False) -> keras.Model:
    """A model returning the outputs of ``layers`` (and the final output) in one forward pass.

    Works on Functional and Sequential models (also freshly loaded ones never called) and on
    nested models addressed as ``"outer/inner"``. Weights are shared with ``model``.

    Args:
        model: any single-input Keras model.
        layers: layer names or paths, in the order the outputs should come.
        include_output: append the model's final output after the requested layers.
        pre_softmax: compute the final output without a final softmax/sigmoid (the class
            logits), which is what explanations should differentiate.

    Returns:
        A ``keras.Model`` whose outputs are a list: one tensor per requested layer, then the
        final output if ``include_output``.

    Raises:
        ValueError: an unknown layer name (the message lists the valid names).

    Taught in: ``01_intermediate_activations``.
    """
    paths = [resolve_layer_path(model, name) for name in layers]
    captured: dict = {}
    inputs = keras.Input(input_shape(model), name="image")
    final = _retrace(model, inputs, "", set(paths), captured, pre_softmax, is_outermost_tail=True)
    missing = [p for p in paths if p not in captured]
    if missing:  # pragma: no cover - only for graph shapes we do not know
        raise ValueError(f"Could not reach layers {missing} when re-tracing model {model.name!r}.")
    outputs = [captured[p] for p in paths] + ([final] if include_output else [])
    return keras.Model(inputs, outputs, name=f"{model.name}_intermediate")


def logits_model(model: keras.Model) -> keras.Model:
    """``model`` with its final softmax/sigmoid removed: outputs the class scores (logits).

    Taught in: ``03_class_activation_maps``.
    """
    return intermediate_model(model, [], include_output=True, pre_softmax=True)


_SHAPES: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()
"""Per-model cache of :func:`layer_output_shapes`, dropped with the model."""


def layer_output_shapes(model: keras.Model) -> dict[str, tuple]:
    """Output shape (with batch axis) of every non-model layer, by path, in model order.

    Computed by re-tracing the model symbolically, so it also works for never-called models;
    the result is cached per model (the call is cheap after the first).

    Taught in: ``03_class_activation_maps``.
    """
    try:
        return dict(_SHAPES[model])
    except (KeyError, TypeError):
        pass
    paths = layer_names(model)
    captured: dict = {}
    _retrace(model, keras.Input(input_shape(model)), "", set(paths), captured, False, True)
    shapes = {p: tuple(captured[p].shape) for p in paths if p in captured}
    try:
        _SHAPES[model] = shapes
    except TypeError:  # pragma: no cover - a model that cannot be weak-referenced
        pass
    return dict(shapes)


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Paths of the layers whose output is a 4-D feature map ``(batch, h, w, c)``, in order."""
    return [path for path, shape in layer_output_shapes(model).items() if is_spatial(shape)]


def default_explanation_layer(model: keras.Model) -> str:
    """The last layer with a spatial output before the classifier head (the one feeding GAP).

    Raises:
        ValueError: the model has no spatial layer.
    """
    names = spatial_layer_names(model)
    if not names:
        raise ValueError(f"Model {model.name!r} has no layer with a (h, w, c) output to explain.")
    return names[-1]
