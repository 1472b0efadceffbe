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

import collections
import dataclasses
import functools
import inspect
import math
import weakref
from typing import Callable, Iterable, Sequence

import numpy as np

from helpers._backend import keras, tf

__all__ = [
    "CONV_TYPES", "ReceptiveField", "check_model", "conv_layer_names", "default_explanation_layer", "final_activation",
    "get_layer",
    "input_shape", "intermediate_model", "is_spatial", "is_subclassed", "iter_layers", "layer_names",
    "layer_output_shapes", "logits_model", "model_cache", "cache_per_size", "SIZE_CACHE_LIMIT", "choose_output",
    "compiled_function", "shared_extractor", "TRACE_COUNTS",
    "output_count", "output_layer_path",
    "receptive_field",
    "resolve_layer_path", "retrace", "spatial_layer_names", "Trace", "WithoutActivation",
]

CONV_TYPES = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
_SQUASHING = ("softmax", "sigmoid")


def is_subclassed(model: keras.Model) -> bool:
    """Whether ``model`` is a subclassed ``keras.Model`` (its computation lives in ``call()``).

    Such a model's layers cannot be re-run one by one: ``call()`` may add, skip or repeat
    them, so the helpers refuse to look inside it (see :func:`check_model`).
    """
    return not isinstance(model, keras.Sequential) and not hasattr(model, "_run_through_graph")


def check_model(model, what: str = "explain") -> keras.Model:
    """Check that ``model`` is a built, single-input Keras model the helpers can look inside.

    Args:
        model: the object to check.
        what: what the caller wants to do, used in the messages.

    Returns:
        ``model`` itself.

    Raises:
        TypeError: not a ``keras.Model``, or a subclassed model (with the way to rebuild it).
        ValueError: never built, or several inputs.

    Taught in: ``03_class_activation_maps``.
    """
    if not isinstance(model, keras.Model):
        kind = type(model).__name__
        hint = (" It is a Keras layer: wrap it, e.g. keras.Sequential([keras.Input(shape), layer])."
                if isinstance(model, keras.layers.Layer) else
                " Pass a keras.Model, e.g. helpers.load_model('vgg_gap') or a keras.applications network.")
        raise TypeError(f"To {what}, the helpers need a keras.Model; got {kind}.{hint}")
    if is_subclassed(model):
        raise TypeError(
            f"Model {model.name!r} is a subclassed keras.Model ({type(model).__name__}): its computation is "
            f"in call(), which the helpers cannot re-run layer by layer, so they refuse to {what} it rather "
            "than give a wrong answer. Build the same layers as a Functional model, e.g. "
            "inputs = keras.Input((H, W, 3)); x = conv(inputs); ...; model = keras.Model(inputs, outputs), "
            "and copy the weights over with functional.set_weights(model.get_weights())."
        )
    input_shape(model)  # raises a clear error for a never-built model or several inputs
    return model


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
    """The model's layers in order; for a Functional model also its bare operations (``x + y`` is ``add``)."""
    operations = model.operations if not isinstance(model, keras.Sequential) and hasattr(model, "operations") \
        else model.layers
    return [layer for layer in operations if not isinstance(layer, keras.layers.InputLayer)]


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


def output_count(model: keras.Model) -> int:
    """How many outputs ``model`` has (1 for a Sequential or a never-called model)."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return 1
    return len(outputs) if outputs else 1


def _output_operation(model: keras.Model, index: int):
    layers = _sublayers(model)
    if not layers:
        raise ValueError(f"Model {model.name!r} has no layers.")
    try:
        return model.outputs[index]._keras_history[0]
    except (AttributeError, ValueError, IndexError, TypeError):
        return layers[-1]


def output_layer_path(model: keras.Model, output: int = 0) -> str:
    """Path of the layer that produces the model's output number ``output`` (descending into a nested head)."""
    last = _output_operation(model, output)
    if isinstance(last, keras.Model):
        return f"{last.name}/{output_layer_path(last)}"
    return last.name


def final_activation(model: keras.Model, output: int = 0) -> str | None:
    """How the model's output ``output`` ends: ``"softmax"``, ``"sigmoid"``, ``"opaque"`` or ``None``.

    ``"softmax"`` and ``"sigmoid"``: a final activation (a layer's ``activation=``, an ``Activation``
    or ``Softmax`` layer, ``keras.ops.softmax``/``keras.ops.sigmoid``) that ``pre_softmax=True``
    removes. ``"opaque"``: the output comes from a ``Lambda`` layer, whose function the helpers
    cannot see (it may hide a softmax). ``None``: a linear output (logits, or a regression).
    """
    path = output_layer_path(model, output)
    layer = get_layer(model, path)
    if isinstance(layer, keras.layers.Lambda):
        return "opaque"
    name = _activation_name(layer)
    return name if name in _SQUASHING else None


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


def _is_keras_op(layer, *names: str) -> bool:
    """Whether ``layer`` is a bare Keras operation (``keras.ops.softmax(x)`` in a Functional model) named so."""
    return (not isinstance(layer, keras.layers.Layer) and type(layer).__module__.startswith("keras.src.ops")
            and type(layer).__name__ in names)


def _activation_name(layer: keras.layers.Layer) -> str | None:
    if isinstance(layer, keras.layers.Softmax) or _is_keras_op(layer, "Softmax"):
        return "softmax"
    if _is_keras_op(layer, "Sigmoid"):
        return "sigmoid"
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", str(activation))


def _pre_activation_call(layer: keras.layers.Layer) -> Callable | None:
    """A callable computing ``layer`` without its squashing activation, or None if it has none."""
    name = _activation_name(layer)
    if name not in _SQUASHING:
        return None
    if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)) or _is_keras_op(layer, "Softmax", "Sigmoid"):
        return lambda x, *_, **__: x
    return WithoutActivation(layer)


@dataclasses.dataclass
class Trace:
    """What :func:`retrace` computed: the model's outputs and the tensors of the layers asked for.

    Attributes:
        outputs: the model's output tensors, as a flat list.
        captured: the output tensor of every requested layer path.
        producers: when recorded, for every tensor ``id``: ``(path, layer, input tensors, output tensor)``,
            which lets :func:`default_explanation_layer` walk the graph backwards from the output.
        calls: how many times each requested layer was called (more than once: a shared layer).
    """

    outputs: list
    captured: dict
    producers: dict
    calls: dict = dataclasses.field(default_factory=dict)


def retrace(model: keras.Model, inputs, layers: Iterable[str] = (), pre_softmax_output: int | None = None,
            record: bool = False) -> Trace:
    """Call every layer of ``model`` again on ``inputs``, descending into nested models.

    This is how the helpers look inside any Functional or Sequential model (also never-called
    and nested ones): the requested intermediate tensors and the final outputs come out of one
    graph, so one forward pass gives both and gradients flow between them.

    Args:
        model: a Functional or Sequential model (see :func:`check_model`).
        inputs: a tensor (symbolic ``keras.Input`` or concrete) to run the model on.
        layers: paths of the layers whose outputs to capture.
        pre_softmax_output: index of the output whose final softmax/sigmoid is removed (its
            logits are returned instead), or ``None``.
        record: also record every layer call (see :class:`Trace`), descending into every nested model.

    Returns:
        A :class:`Trace`.

    Raises:
        TypeError: a subclassed model, or a nested subclassed model that must be looked into.

    Taught in: ``01_intermediate_activations``.
    """
    check_model(model, "look inside")
    wanted = set(layers)
    squash_free = {output_layer_path(model, pre_softmax_output)} if pre_softmax_output is not None else set()
    captured: dict = {}
    producers: dict = {}
    calls: dict = collections.Counter()
    final = _retrace(model, inputs, "", wanted, captured, squash_free, producers if record else None, calls)
    return Trace(outputs=list(keras.tree.flatten(final)), captured=captured, producers=producers, calls=dict(calls))


def _retrace(model: keras.Model, x, prefix: str, wanted: set[str], captured: dict, squash_free: set[str],
             producers: dict | None, calls: dict | None = None):
    """Call every layer of ``model`` again on ``x``; collect outputs of paths in ``wanted``."""

    def call_layer(layer, path, *args, **kwargs):
        inside = (producers is not None or any(w.startswith(f"{path}/") for w in wanted | squash_free))
        if isinstance(layer, keras.Model) and inside:
            if is_subclassed(layer):
                raise TypeError(
                    f"Nested model {path!r} is a subclassed keras.Model: its layers cannot be re-run one by one. "
                    "Explain a layer outside it, or rebuild it as a Functional model."
                )
            if len(args) != 1 or kwargs:
                raise ValueError(f"Nested model {path!r} must take exactly one input to be looked into.")
            y = _retrace(layer, args[0], f"{path}/", wanted, captured, squash_free, producers, calls)
        elif path in squash_free and _pre_activation_call(layer) is not None:
            y = _pre_activation_call(layer)(*args)
        else:
            y = layer(*args, **kwargs)
        if path in wanted:
            captured.setdefault(path, y)
            if calls is not None:
                calls[path] += 1
        if producers is not None:
            sources = [t for t in keras.tree.flatten((args, kwargs)) if hasattr(t, "shape")]
            for tensor in keras.tree.flatten(y):
                producers.setdefault(id(tensor), (path, layer, sources, tensor))  # the innermost layer wins
        return y

    if isinstance(model, keras.Sequential) or not hasattr(model, "_run_through_graph"):
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

    return model._run_through_graph(x, operation_fn=operation_fn)


def choose_output(model: keras.Model, output: int | str | None) -> int:
    """The index of the output to explain (an index or the output layer's name).

    Raises:
        ValueError: ``None`` for a model with several outputs, or an unknown output; the
            message lists the outputs.
    """
    count = output_count(model)
    names = [getattr(t, "name", str(i)) for i, t in enumerate(model.outputs)] if count > 1 else []
    if output is None:
        if count > 1:
            raise ValueError(
                f"Model {model.name!r} has {count} outputs ({', '.join(names)}); say which one to explain, "
                "e.g. output=0."
            )
        return 0
    if isinstance(output, str):
        layer_paths = [output_layer_path(model, i) for i in range(count)]
        for i, candidate in enumerate(layer_paths):
            if output in (candidate, candidate.rsplit("/", 1)[-1]) or (names and output == names[i]):
                return i
        raise ValueError(f"Model {model.name!r} has no output {output!r}; its outputs are {layer_paths}.")
    if isinstance(output, bool) or not isinstance(output, (int, np.integer)) or not 0 <= int(output) < count:
        raise ValueError(f"output must be an output index 0..{count - 1} or an output layer name; got {output!r}.")
    return int(output)


def intermediate_model(model: keras.Model, layers: Sequence[str], include_output: bool = True,
                       pre_softmax: bool = False, output: int | str | None = None) -> keras.Model:
    """A model returning the outputs of ``layers`` (and the final output) in one forward pass.

    Works on Functional and Sequential models (also freshly loaded ones never called) and on
    nested models addressed as ``"outer/inner"``. Weights are shared with ``model``.

    Args:
        model: any single-input Functional or Sequential Keras model.
        layers: layer names or paths, in the order the outputs should come.
        include_output: append the model's final output after the requested layers.
        pre_softmax: compute the final output without a final softmax/sigmoid (the class
            logits), which is what explanations should differentiate.
        output: for a model with several outputs, which one to append (index or layer name);
            ``None`` appends all of them (and requires a single output when ``pre_softmax``).

    Returns:
        A ``keras.Model`` whose outputs are a list: one tensor per requested layer, then the
        final output(s) if ``include_output``.

    Raises:
        ValueError: an unknown layer name (the message lists the valid names).
        TypeError: a subclassed model (see :func:`check_model`).

    Taught in: ``01_intermediate_activations``.
    """
    check_model(model, "look inside")
    paths = [resolve_layer_path(model, name) for name in layers]
    index = choose_output(model, output) if (output is not None or pre_softmax) else None
    inputs = keras.Input(input_shape(model), name="image")
    trace = retrace(model, inputs, paths, pre_softmax_output=index if pre_softmax else None)
    missing = [p for p in paths if p not in trace.captured]
    if missing:  # pragma: no cover - only for graph shapes we do not know
        raise ValueError(f"Could not reach layers {missing} when re-tracing model {model.name!r}.")
    shared = {p: trace.calls[p] for p in paths if trace.calls.get(p, 1) > 1}
    if shared:
        path, count = next(iter(shared.items()))
        raise ValueError(
            f"Layer {path!r} is called {count} times in model {model.name!r} (a shared layer): it has {count} "
            "outputs, not one feature map, and the helpers will not guess which call you mean. Choose a layer "
            "that is called once, e.g. the layer right after the call you want to see."
        )
    finals = trace.outputs if index is None else [trace.outputs[index]]
    outputs = [trace.captured[p] for p in paths] + (finals if include_output else [])
    return keras.Model(inputs, outputs, name=f"{model.name}_intermediate")


def logits_model(model: keras.Model, output: int | str | None = None) -> keras.Model:
    """``model`` with its final softmax/sigmoid removed: outputs the class scores (logits).

    Taught in: ``03_class_activation_maps``.
    """
    return intermediate_model(model, [], include_output=True, pre_softmax=True, output=output)


_MODEL_CACHES: "weakref.WeakKeyDictionary[keras.Model, dict]" = weakref.WeakKeyDictionary()


def model_cache(model: keras.Model, namespace: str) -> dict:
    """A dict for caching things computed from ``model``, dropped when the model is.

    The one per-model cache of the package (layer shapes, feature extractors, explainers,
    compiled functions). Keys are held weakly; values must not hold a strong reference to
    ``model`` itself (they may share its layers), or it would never be freed.

    A model that changed since (``model.add(...)`` or ``model.pop()`` on a Sequential model)
    starts with empty caches: nothing computed from its old graph is reused.

    Args:
        model: the model the cached values belong to.
        namespace: which helper caches (``"shapes"``, ``"explainers"``, ...).
    """
    caches = _MODEL_CACHES.setdefault(model, {})
    fingerprint = _fingerprint(model)
    if caches.get(_FINGERPRINT) != fingerprint:
        caches.clear()
        caches[_FINGERPRINT] = fingerprint
    return caches.setdefault(namespace, {})


_FINGERPRINT = "\0layers"


TRACE_COUNTS: "collections.Counter[str]" = collections.Counter()
"""How many times each function built by :func:`compiled_function` was traced, by its qualified
name (``"Explainer._pipeline"``, ``"feature_maps"``...). Tests and benchmarks read it to show that
a second call, a second method on the same layer or an equal array option trace nothing new."""


class _Traced:
    """``function(*args, **bound)`` as an object TensorFlow can trace, counting its traces.

    An object, not a closure: TensorFlow's "frequent retracing" warning counts traces per code
    object, and every configuration's first trace of one shared closure would add to one count.
    Each ``_Traced`` is its own key (it has no ``__code__``), so each configuration is traced
    once and nothing has to be silenced.
    """

    def __init__(self, function: Callable, bound: dict):
        self.function, self.bound = function, bound
        self.name = getattr(function, "__qualname__", None) or getattr(getattr(function, "func", None),
                                                                    "__qualname__", repr(function))
        signature = inspect.signature(functools.partial(function, **bound))  # the inputs only, bound ones left out
        self.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values()
                                                           if p.name not in bound])

    def __call__(self, *args):
        TRACE_COUNTS[self.name] += 1  # Python code in a tf.function runs only while it is traced
        return self.function(*args, **self.bound)


def compiled_function(cache: "dict | keras.Model", key, function: Callable, input_signature: Sequence,
                      *, concrete: bool = False, **bound):
    """The package's one cache of compiled functions: ``tf.function(function)`` built once per ``key``.

    Every compiled function of the package (an explainer's pipeline, the activation extractors,
    the filter ascent's steps) comes from here: ``cache[key]``, built on the first call as
    ``tf.function`` of ``function(*inputs, **bound)`` with a fixed ``input_signature`` (so one
    trace serves every batch size) and reused after.

    Args:
        cache: a dict, or a model (then :func:`model_cache` ``(model, "compiled")``, dropped
            with the model). Values must not hold the model strongly (see :func:`model_cache`).
        key: hashable; everything the traced graph depends on beyond its inputs.
        function: plain Python (graph code) taking the inputs, then ``bound`` as keywords.
        input_signature: one ``tf.TensorSpec`` per input.
        concrete: return the concrete function, traced now: calling it skips ``tf.function``'s
            per-call dispatch (about 1 ms, a fifth of a small model's forward pass on 2 cores).
        **bound: values fixed for this key (an extractor, a configuration).

    Returns:
        The compiled function (or concrete function).
    """
    if isinstance(cache, keras.Model):
        cache = model_cache(cache, "compiled")
    if key not in cache:
        compiled = tf.function(_Traced(function, bound), input_signature=list(input_signature))
        cache[key] = compiled.get_concrete_function() if concrete else compiled
    return cache[key]


def shared_extractor(model: keras.Model, layers: Sequence[str], include_output: bool = True,
                     pre_softmax: bool = False, output: int | None = None) -> keras.Model:
    """:func:`intermediate_model`, built once per ``(model, layers, output, pre_softmax)`` and shared.

    Two explanation methods on one layer, or the activations of one set of layers asked for
    twice, use the same extractor: the model is re-traced once.
    """
    paths = tuple(resolve_layer_path(model, name) for name in layers)
    key = (paths, bool(include_output), bool(pre_softmax), output)
    cache = model_cache(model, "extractors")
    if key not in cache:
        cache[key] = intermediate_model(model, list(paths), include_output=include_output, pre_softmax=pre_softmax,
                                        output=output)
    return cache[key]


def _fingerprint(model: keras.Model) -> tuple:
    """What changes when a model's graph changes: its layers, by identity (their ``id`` stays valid while held)."""
    try:
        layers = model.layers
    except (AttributeError, ValueError):  # pragma: no cover - never-built models have layers too
        layers = []
    return tuple(id(layer) for layer in layers)


def _input_for(model: keras.Model, input_size: tuple[int, int] | None):
    shape = input_shape(model)
    if input_size is not None and len(shape) == 3:
        shape = (int(input_size[0]), int(input_size[1]), shape[2])
    return keras.Input(shape)


def _full_trace(model: keras.Model, input_size: tuple[int, int] | None = None) -> Trace:
    return retrace(model, _input_for(model, input_size), layer_names(model), record=True)


def layer_output_shapes(model: keras.Model, input_size: tuple[int, int] | None = None) -> dict[str, tuple]:
    """Output shape (with batch axis) of every non-model layer, by path, in model order.

    Computed by re-tracing the model symbolically, so it also works for never-called models;
    the result is cached per model (the call is cheap after the first).

    Args:
        model: a Functional or Sequential model.
        input_size: ``(H, W)`` to trace a model with an unfixed input size at a given size;
            ``None`` uses the model's own input shape.

    Taught in: ``03_class_activation_maps``.
    """
    key = None if input_size is None else (int(input_size[0]), int(input_size[1]))
    cache = model_cache(model, "shapes")
    if key not in cache:
        check_model(model, "look inside")
        paths = layer_names(model)
        trace = retrace(model, _input_for(model, key), paths)
        cache_per_size(cache, key, {p: tuple(trace.captured[p].shape) for p in paths if p in trace.captured})
    return dict(cache[key])


SIZE_CACHE_LIMIT = 16
"""How many input sizes the per-size caches of a model with an unfixed input size keep (shapes,
receptive-field geometry); the oldest size is dropped first. The model's own size (key ``None``)
always stays."""


def cache_per_size(cache: dict, key, value, limit: int = SIZE_CACHE_LIMIT):
    """``cache[key] = value``, then drop the oldest entries (other than ``None``) beyond ``limit``.

    For caches keyed by input size: a model with an unfixed input size, explained on images of
    ever new sizes, would otherwise grow them without end.
    """
    cache[key] = value
    while len(cache) > limit:
        oldest = next((k for k in cache if k is not None and k != key), None)
        if oldest is None:
            break
        del cache[oldest]
    return value


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Paths of the layers whose output is a 4-D feature map ``(batch, h, w, c)``, in order."""
    return [path for path, shape in layer_output_shapes(model).items() if is_spatial(shape)]


_POOLING_TYPES = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)


def _is_real_map(shape: Sequence[int | None]) -> bool:
    """A 4-D ``(batch, h, w, c)`` shape with more than one position (unknown sizes count as more)."""
    return is_spatial(shape) and not (shape[1] == 1 and shape[2] == 1)


def default_explanation_layer(model: keras.Model, output: int | str | None = None) -> str:
    """The layer an explanation looks at by default: the last real spatial map before the head.

    Walks the graph backwards from the output (through the Dense layers, dropout, flatten and
    global pooling of the head) to the closest layer whose output is a feature map with more
    than one position. A max or average pooling layer right before a ``Flatten`` is skipped:
    it only coarsens the map, and the Grad-CAM paper explains the last convolutional layer.
    Squeeze-and-excitation poolings inside the network are not on that path, so they never count.

    Args:
        model: a Functional or Sequential classifier.
        output: which output, for a model with several.

    Raises:
        ValueError: no layer with a spatial map leads to the output.

    Taught in: ``03_class_activation_maps``.
    """
    check_model(model, "explain")
    index = choose_output(model, output)
    trace = _full_trace(model)
    queue = collections.deque([(trace.outputs[index], None)])
    seen: set[int] = set()
    while queue:
        tensor, consumer = queue.popleft()
        if id(tensor) in seen or id(tensor) not in trace.producers:
            continue
        seen.add(id(tensor))
        path, layer, sources, _ = trace.producers[id(tensor)]
        skip = isinstance(layer, _POOLING_TYPES) and isinstance(consumer, keras.layers.Flatten)
        if _is_real_map(tuple(tensor.shape)) and not skip:
            return path
        queue.extend((source, layer) for source in sources)
    raise ValueError(f"Model {model.name!r} has no layer with a (h, w, c) feature map before its output to explain.")


# --------------------------------------------------------------------------- geometry
@dataclasses.dataclass(frozen=True)
class ReceptiveField:
    """Where a layer's positions look in the input image (square kernels and strides).

    Attributes:
        size: side of the window of input pixels that one position depends on.
        jump: distance in input pixels between two neighbouring positions (the total stride).
        start: input row (in pixels, may be x.5) of the centre of position 0's window.
        start_col: the same for columns (differs from ``start`` only for non-square inputs with
            ``same`` padding); ``None`` means equal to ``start``.

    Taught in: ``01_intermediate_activations``.
    """

    size: int
    jump: int
    start: float
    start_col: float | None = None

    def __post_init__(self) -> None:
        if self.start_col is None:
            object.__setattr__(self, "start_col", self.start)

    def block(self, index: int) -> int:
        """First input row (or column) of the ``jump``-wide block that position ``index`` covers."""
        return int(round(self.start + self.jump * index - (self.jump - 1) / 2))


_GRID_TYPES = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D,
               keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
# Layers that keep the spatial grid unchanged: they do not move receptive fields.
_POINTWISE_TYPES = (
    keras.layers.Rescaling, keras.layers.Normalization, keras.layers.Activation,
    keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.BatchNormalization,
    keras.layers.LayerNormalization, keras.layers.Dropout, keras.layers.SpatialDropout2D,
    keras.layers.GaussianNoise, keras.layers.InputLayer,
)


def _square(value, what: str, layer) -> int:
    values = tuple(value) if isinstance(value, (list, tuple)) else (value, value)
    if len(set(values)) != 1:
        raise ValueError(f"Layer {layer.name!r} has a non-square {what} {values}; only square ones are supported.")
    return int(values[0])


_MERGE_TYPES = (keras.layers.Add, keras.layers.Subtract, keras.layers.Multiply, keras.layers.Average,
                keras.layers.Maximum, keras.layers.Minimum, keras.layers.Concatenate)
# Bare Keras operations (``x + y``, ``keras.ops.relu(x)``) that act on each position alone.
_POINTWISE_OPS = {"Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Relu", "Relu6",
                  "Sigmoid", "HardSigmoid", "Silu", "Swish", "HardSilu", "HardSwish", "Gelu", "Tanh", "Elu", "Selu",
                  "LeakyRelu", "Softplus", "Exp", "Square", "Sqrt", "Abs", "Negative", "Cast", "Concatenate",
                  "Clip", "Power", "Log"}
_POINTWISE_LAYERS = _POINTWISE_TYPES + _MERGE_TYPES + (keras.layers.PReLU, keras.layers.ELU, keras.layers.Softmax,
                                                       keras.layers.GroupNormalization)


def _layer_geometry(path: str, layer, geometry: tuple, length: int | None, axis: int) -> tuple:
    """``(size, jump, start)`` after ``layer`` along one axis, from its input's geometry and ``length``."""
    size, jump, start = geometry
    if isinstance(layer, _GRID_TYPES):
        pooling = isinstance(layer, _POOLING_TYPES)
        kernel = _square(layer.pool_size if pooling else layer.kernel_size, "kernel", layer)
        stride = _square(layer.strides, "stride", layer)
        dilation = 1 if pooling else _square(layer.dilation_rate, "dilation", layer)
        effective = dilation * (kernel - 1) + 1
        pad_before = 0
        if layer.padding == "same":
            if length is None:
                raise ValueError("the input size is needed for 'same' padding")
            out = math.ceil(length / stride)
            pad_before = max((out - 1) * stride + effective - length, 0) // 2
        return size + (effective - 1) * jump, jump * stride, start + (-pad_before + (effective - 1) / 2) * jump
    if isinstance(layer, (keras.layers.ZeroPadding2D, keras.layers.Cropping2D)):
        before, _ = (layer.padding if isinstance(layer, keras.layers.ZeroPadding2D) else layer.cropping)[axis]
        sign = 1 if isinstance(layer, keras.layers.ZeroPadding2D) else -1
        return size, jump, start - sign * before * jump
    if isinstance(layer, _POINTWISE_LAYERS) or (not isinstance(layer, keras.layers.Layer)
                                                and type(layer).__name__ in _POINTWISE_OPS):
        return size, jump, start
    raise ValueError(
        f"receptive_field cannot follow layer {path!r} ({type(layer).__name__}); it supports "
        "convolutions, pooling, padding, pointwise layers and merges of aligned branches."
    )


def _path_geometry(trace: Trace, tensor, axis: int, memo: dict) -> tuple:
    """``(size, jump, start)`` of ``tensor`` along one axis, following its own path back to the input.

    Only the layers that ``tensor`` depends on count (a sibling branch does not). Where branches
    merge, their positions must line up (same jump and start); the window is the widest of them.
    Inputs that are one position wide (a squeeze-and-excitation scale) broadcast and do not count.
    """
    key = id(tensor)
    if key in memo:
        return memo[key]
    if key not in trace.producers:  # the model's input
        memo[key] = (1, 1, 0.0)
        return memo[key]
    path, layer, sources, _ = trace.producers[key]
    sources = [t for t in sources if t is not tensor]
    if not sources:  # a layer that hands back the model's input itself
        memo[key] = (1, 1, 0.0)
        return memo[key]
    spatial = [t for t in sources if len(t.shape) == 4 and not (t.shape[1] == 1 and t.shape[2] == 1)]
    if not spatial:
        raise ValueError(f"receptive_field cannot follow layer {path!r} ({type(layer).__name__}): no spatial input.")
    geometries = [_path_geometry(trace, t, axis, memo) for t in spatial]
    if len({(jump, start) for _, jump, start in geometries}) > 1:
        raise ValueError(
            f"receptive_field cannot follow layer {path!r}: the branches it merges look at the input with "
            f"different strides or offsets {[(j, s) for _, j, s in geometries]}."
        )
    merged = (max(size for size, _, _ in geometries), geometries[0][1], geometries[0][2])
    memo[key] = _layer_geometry(path, layer, merged, spatial[0].shape[1 + axis], axis)
    return memo[key]


def receptive_field(model: keras.Model, layer: str, input_size: int | tuple[int, int] | None = None
                    ) -> ReceptiveField:
    """Receptive field of ``layer``: window size, total stride and offset, in input pixels.

    Computed from the kernel sizes, strides, dilations and paddings of the convolution,
    pooling and padding layers on ``layer``'s own path back to the input (a sibling branch
    that ``layer`` does not depend on never counts). Where branches merge (a residual ``Add``),
    their positions must line up; the window is then the widest of theirs.
    ``same`` padding depends on the input's length, so the geometry is computed for the
    actual input size: the model's own, or ``input_size`` for a model that takes any size.

    Args:
        model: the model.
        layer: the layer's name or path.
        input_size: ``(H, W)`` (or one int for a square) of the images; needed when the
            model's input size is not fixed.

    Raises:
        ValueError: an unknown layer, a model with an unfixed input size and no ``input_size``,
            or a layer on the way that changes the grid in a way this function does not
            know (the message names it).

    Taught in: ``01_intermediate_activations``.
    """
    target = resolve_layer_path(model, layer)
    shape = input_shape(model)
    if input_size is None:
        height, width = shape[0], shape[1]
    elif isinstance(input_size, (int, np.integer)):
        height = width = int(input_size)
    else:
        height, width = (int(v) for v in input_size)
    trace = retrace(model, _input_for(model, None if height is None or width is None else (height, width)),
                    layer_names(model), record=True)
    if target not in trace.captured:
        raise ValueError(f"receptive_field needs a layer, not the nested model {target!r}; name a layer inside it.")
    if trace.calls.get(target, 1) > 1:
        raise ValueError(f"Layer {target!r} is called {trace.calls[target]} times (a shared layer): it has no one "
                         "receptive field.")
    try:
        size, jump, start = _path_geometry(trace, trace.captured[target], 0, {})
        _, _, start_col = _path_geometry(trace, trace.captured[target], 1, {})
    except ValueError as err:
        if "input size is needed" in str(err):
            raise ValueError(
                f"Model {model.name!r} takes images of any size and {target!r} is behind 'same' padding, "
                "whose offset depends on the size: pass input_size=(H, W)."
            ) from err
        raise
    return ReceptiveField(size=size, jump=jump, start=start, start_col=start_col)
