"""A traced serving function → TF.js graph model (`model.json` + weight shards), weights held few times.

The steps and their settings are those of `tensorflowjs.converters.convert_tf_saved_model` (TF.js
4.22), driven from the function in memory:

1. freeze: TensorFlow's `convert_to_constants` inlines the function and turns its variables into
   constants, as the converter's `_freeze_saved_model_v2` does (control flow lowered, aggressive
   inlining), but stops at the GraphDef instead of wrapping it into a new TensorFlow function;
2. optimize: the converter's `optimize_graph`: op check, Grappler (pruning, constant folding,
   arithmetic: BatchNorm scales folded into convolution kernels), its BatchNorm folding and
   BiasAdd normalisation, Grappler again (remap: fused convolutions and matmuls), its PReLU and
   depthwise fusions, op check;
3. write: the converter's `extract_weights` and `write_artifacts` (same `model.json`, shard names
   and quantization).

Why not call the converter: it needs a SavedModel, which it loads again (a second set of
variables), freezes into a new function (a graph and a function definition, each holding the
weights), then builds Grappler's input from that graph while all of them stay alive: a ResNet50
(100 MB of weights) took the process from 1.1 to 3.2 GB. Here each intermediate is dropped as soon
as the next exists, and while Grappler runs (it holds about eight copies of the weights in C++
itself) Python holds only the serialized graph it was given: 1.1 to 2.2 GB for the same model.

The steps call private helpers of TensorFlow 2.19 and of the converter (both pinned in
pyproject.toml); tests/test_graph_model.py checks the result against the converter's own.
Functions that capture lookup tables are left to the converter (`captures_tables`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mnist_tfjs.export_files import MODEL_JSON

# The converter's two Grappler passes (tf_saved_model_conversion_v2.optimize_graph).
FIRST_PASS = ("pruning", "constfold", "arithmetic", "dependency",
              "pruning", "constfold", "arithmetic", "dependency")
SECOND_PASS = ("remap", "constfold", "arithmetic", "dependency")
UNSUPPORTED_OPS = "Unsupported Ops"


def release_freed_memory() -> None:
    """Hand freed memory back to the system (glibc keeps it otherwise).

    Converting a large model makes and frees several copies of its weights; trimming between
    the steps keeps the process near its size before the conversion while Node.js and
    Chromium run the proof beside it.
    """
    gc.collect()
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return
    trim = getattr(ctypes.CDLL(libc_name), "malloc_trim", None)
    if trim is not None:
        trim(0)


def write_graph_model(concrete: Any, out_dir: Path, quantization_dtype_map: dict[str, bool] | None,
                      shard_bytes: int) -> None:
    """Convert the traced function `concrete` into `out_dir/model.json` and its weight shards.

    The signature is keyed by the function's input names and its output dict keys. Raises
    ValueError naming the unsupported ops ("Unsupported Ops ...") as the converter does. Each
    GraphDef is dropped (`del`) as soon as the next step has what it needs.
    """
    import tensorflow as tf
    from google.protobuf.json_format import MessageToDict
    from tensorflowjs.converters import tf_saved_model_conversion_v2 as converter

    graph = frozen_graph(concrete)
    signature = signature_def(concrete, graph)
    check_ops(graph, "before")
    for optimizers, rewrites in converter_passes():
        serialized = metagraph_bytes(graph, signature)
        del graph  # while Grappler runs, Python holds only the serialized graph
        release_freed_memory()
        graph = grappler(serialized, optimizers)
        del serialized
        release_freed_memory()
        for rewrite in rewrites:
            graph = rewrite(graph)
    check_ops(graph, "after")
    weights = converter.extract_weights(graph)
    topology = MessageToDict(graph)
    del graph  # its cleared constants keep their memory until the message goes
    release_freed_memory()
    converter.write_artifacts(topology, weights, str(out_dir / MODEL_JSON),
                              tf.__version__, signature, quantization_dtype_map=quantization_dtype_map,
                              weight_shard_size_bytes=shard_bytes)


def captures_tables(concrete: Any) -> bool:
    """Whether `concrete` captures resources other than variables (lookup tables).

    Those need the initializer graph the converter builds from a loaded SavedModel's resources;
    freezing here would leave them as inputs nobody feeds.
    """
    import tensorflow as tf

    handles = {id(variable.handle) for variable in concrete.graph.variables}
    return any(tensor.dtype == tf.resource and id(tensor) not in handles
               for tensor in concrete.captured_inputs)


def frozen_graph(concrete: Any) -> Any:
    """The function inlined into one GraphDef whose variables are constants (the weights' only copy).

    `convert_variables_to_constants_v2` would go on to import this GraphDef into a new function
    (two more copies of the weights) that the converter then exports again; its two steps before
    that are used alone.
    """
    from tensorflow.python.framework import convert_to_constants

    data = convert_to_constants._FunctionConverterDataInEager(
        func=concrete, lower_control_flow=True, aggressive_inlining=True)
    graph, _ = convert_to_constants._replace_variables_by_constants(converter_data=data)
    return graph


def signature_def(concrete: Any, graph: Any) -> Any:
    """Inputs keyed by the function's input names, outputs by its output keys (the Keras names).

    Inputs that freezing removed are left out, as the converter does.
    """
    import tensorflow as tf
    from tensorflow.core.protobuf import meta_graph_pb2

    signature = meta_graph_pb2.SignatureDef()
    present = {node.name for node in graph.node if node.op != "Const"}
    specs = tf.nest.flatten(concrete.structured_input_signature)
    for spec, tensor in zip(specs, concrete.inputs, strict=False):
        if tensor.op.name in present:
            _describe(signature.inputs[spec.name], tensor)
    structured = concrete.structured_outputs
    keys = sorted(structured) if isinstance(structured, dict) else [t.name for t in concrete.outputs]
    for key, tensor in zip(keys, concrete.outputs, strict=True):  # outputs are flattened in sorted key order
        _describe(signature.outputs[key], tensor)
    return signature


def _describe(info: Any, tensor: Any) -> None:
    info.name = tensor.name
    info.dtype = tensor.dtype.as_datatype_enum
    info.tensor_shape.CopyFrom(tensor.shape.as_proto())


def check_ops(graph: Any, when: str) -> None:
    """Refuse ops TF.js lacks, with the converter's message (export.convert names the layers)."""
    from tensorflowjs.converters import tf_saved_model_conversion_v2 as converter

    unsupported = converter.validate(graph, skip_op_check=False, strip_debug_ops=False)
    if unsupported:
        raise ValueError(f"{UNSUPPORTED_OPS} in the model {when} optimization\n"
                         + ", ".join(sorted(unsupported)))


def converter_passes() -> list[tuple[tuple[str, ...], list[Callable[[Any], Any]]]]:
    """The converter's `optimize_graph`: each Grappler pass, then its own GraphDef rewrites, in order."""
    from tensorflowjs.converters import (
        fold_batch_norms,
        fuse_depthwise_conv2d,
        fuse_prelu,
        normalize_bias_add,
    )
    from tensorflowjs.converters import tf_saved_model_conversion_v2 as converter

    return [(FIRST_PASS, [fold_batch_norms.fold_batch_norms, normalize_bias_add.normalize_bias_add_op,
                          contractions_on_cpu]),
            (SECOND_PASS, [converter._remove_unused_control_flow_inputs, fuse_prelu.fuse_ops_for_prelu,
                           fuse_depthwise_conv2d.fuse_depthwise_conv2d,
                           fuse_prelu.fuse_prelu_with_fused_conv2d_or_matmul])]


def contractions_on_cpu(graph: Any) -> Any:
    """Place Conv2D and MatMul on the CPU: Grappler's remapper fuses only those (as the converter does)."""
    for node in graph.node:
        if node.op in ("Conv2D", "MatMul"):
            node.device = "/device:CPU:0"
    return graph


def metagraph_bytes(graph: Any, signature: Any) -> bytes:
    """Grappler's input as the converter builds it: the graph, its outputs to fetch, the signature."""
    from tensorflow.core.protobuf import meta_graph_pb2

    meta = meta_graph_pb2.MetaGraphDef()
    meta.graph_def.CopyFrom(graph)
    meta.collection_def["train_op"].node_list.value.extend(
        output.name.split(":")[0] for output in signature.outputs.values())
    meta.signature_def["not_used_key"].CopyFrom(signature)
    return meta.SerializeToString()


def grappler(serialized: bytes, optimizers: tuple[str, ...]) -> Any:
    """One Grappler pass on a serialized MetaGraphDef, on the converter's virtual cluster.

    What `tf_optimizer.OptimizeGraph` calls, given bytes so that no MetaGraphDef stays alive
    beside them.
    """
    from tensorflow.core.framework import graph_pb2
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.grappler import _pywrap_tf_optimizer
    from tensorflowjs.converters import tf_saved_model_conversion_v2 as converter

    config = config_pb2.ConfigProto()
    config.graph_options.rewrite_options.optimizers[:] = optimizers
    optimized = _pywrap_tf_optimizer.TF_OptimizeGraphSerialized(
        converter.get_cluster().tf_cluster, config.SerializeToString(), serialized, True,
        b"graph_to_optimize", False)
    return graph_pb2.GraphDef.FromString(optimized)
