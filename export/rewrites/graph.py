"""Surgery on the converted graph (model.json) where the TF.js converter writes nodes TF.js cannot
run: control-only edges of v1 while loops, fused biases that are not 1-D, fused activations a
backend lacks. The table of gaps is export/rewrites/__init__.py's.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

# a graph holding any of these ops has a while loop, whose control-only edges TF.js never schedules
LOOP_OPS = {"While", "StatelessWhile", "Enter", "Exit", "NextIteration", "LoopCond"}
# the activations a fused node with an odd bias may carry, each an op of its own once split
ACTIVATIONS = {"Relu", "Relu6", "Elu", "Selu", "Sigmoid", "Tanh", "LeakyRelu"}
FUSED_BASE = {"_FusedMatMul": "MatMul", "_FusedConv2D": "Conv2D",
              "FusedDepthwiseConv2dNative": "DepthwiseConv2dNative"}
FUSION_ATTRS = ("fused_ops", "num_args", "epsilon", "leakyrelu_alpha", "num_host_args", "TArgs")


def unfuse_odd_biases(model_json: Path) -> int:
    """Split fused MatMul/Conv2D nodes whose "bias" is not a 1-D weight into base op + AddV2 (+ activation).

    The converter fuses `x @ W + y` into `_FusedMatMul` even when `y` is another tensor (an RNN
    cell's `h @ U`, shape [batch, units]), and `conv(x) + 3` into `_FusedConv2D` with a scalar
    (MobileNetV3's hard sigmoid); TF.js' cpu backend broadcasts them, the wasm backend refuses
    ("... only supports rank-1 bias"). Returns the nodes split (0: file unchanged).
    """
    manifest = json.loads(model_json.read_text())
    ranks = {w["name"]: len(w["shape"]) for group in manifest.get("weightsManifest", [])
             for w in group["weights"]}
    graphs = _node_lists(manifest)
    split = 0
    for nodes in graphs:
        extra = []
        for node in nodes:
            base = FUSED_BASE.get(node.get("op", ""))
            if base is None:
                continue
            attr = node.get("attr", {})
            fused = _fused_ops(node)
            data_inputs = [i for i in node.get("input", []) if not i.startswith("^")]
            if (not fused or fused[0] != "BiasAdd" or len(data_inputs) != 3 or len(fused) > 2
                    or ranks.get(data_inputs[2].split(":")[0]) == 1
                    or any(op not in ACTIVATIONS for op in fused[1:])):
                continue
            name = node["name"]
            typed = {k: attr[k] for k in ("T",) if k in attr}
            core = {"name": f"{name}/unfused_{base}", "op": base, "input": data_inputs[:2],
                    "attr": {k: v for k, v in attr.items() if k not in FUSION_ATTRS}}
            add_name = name if len(fused) == 1 else f"{name}/unfused_add"
            add = {"name": add_name, "op": "AddV2", "input": [core["name"], data_inputs[2]], "attr": typed}
            extra.append(core)
            if len(fused) == 1:
                replacement = add
            else:
                extra.append(add)
                replacement = {"name": name, "op": fused[1], "input": [add_name], "attr": dict(typed)}
                if fused[1] == "LeakyRelu" and "leakyrelu_alpha" in attr:
                    replacement["attr"]["alpha"] = attr["leakyrelu_alpha"]
            node.clear()
            node.update(replacement)
            split += 1
        nodes.extend(extra)
    if split:
        model_json.write_text(json.dumps(manifest))
    return split


HARD_SWISH = "_FusedHardSwish"
HARD_SWISH_CONSTANTS = {"hard_swish/three": 3.0, "hard_swish/one_sixth": 1.0 / 6.0}


def _const_node(name: str) -> dict[str, Any]:
    """A float32 scalar Const; TF.js reads its value from the weights manifest under the same name."""
    return {"name": name, "op": "Const",
            "attr": {"value": {"tensor": {"dtype": "DT_FLOAT", "tensorShape": {}}},
                     "dtype": {"type": "DT_FLOAT"}}}


def _add_scalar_weights(manifest: dict[str, Any], folder: Path, values: dict[str, float]) -> None:
    """Put float32 scalars in a weight group and shard file of their own (existing shards untouched)."""
    group = len(manifest.get("weightsManifest", [])) + 1
    shard = f"group{group}-shard1of1.bin"
    (folder / shard).write_bytes(struct.pack(f"<{len(values)}f", *values.values()))
    manifest.setdefault("weightsManifest", []).append(
        {"paths": [shard], "weights": [{"name": name, "shape": [], "dtype": "float32"} for name in values]})


def _fused_ops(node: dict[str, Any]) -> list[str]:
    listed = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
    return [base64.b64decode(item).decode() for item in listed]


def _hard_swish_nodes(name: str, x: str, typed: dict[str, Any]) -> list[dict[str, Any]]:
    """`name` = x · relu6(x + 3) · ⅙, as TF.js ops."""
    three, sixth = HARD_SWISH_CONSTANTS
    return [
        {"name": f"{name}/hard_swish_shift", "op": "AddV2", "input": [x, three], "attr": dict(typed)},
        {"name": f"{name}/hard_swish_gate", "op": "Relu6", "input": [f"{name}/hard_swish_shift"],
         "attr": dict(typed)},
        {"name": f"{name}/hard_swish_scale", "op": "Mul", "input": [f"{name}/hard_swish_gate", sixth],
         "attr": dict(typed)},
        {"name": name, "op": "Mul", "input": [x, f"{name}/hard_swish_scale"], "attr": dict(typed)},
    ]


# fused activations TF.js' wasm backend lacks (it fuses linear, relu, relu6, prelu, leaky relu,
# sigmoid and elu) and every backend has as ops of their own
UNFUSED_ON_WASM = ("Tanh",)


def unfuse_activations(model_json: Path) -> dict[str, int]:
    """Take `_FusedHardSwish` (no TF.js backend has it) and the activations of UNFUSED_ON_WASM out of
    fused convolutions and MatMuls: the base op keeps its bias, the activation follows as plain ops.
    Returns how many nodes were split, by activation ({}: files unchanged)."""
    manifest = json.loads(model_json.read_text())
    split: dict[str, int] = {}
    for nodes in _node_lists(manifest):
        extra = []
        for node in nodes:
            fused = _fused_ops(node)
            if (node.get("op") not in FUSED_BASE or fused[:1] != ["BiasAdd"] or len(fused) != 2
                    or fused[1] not in (HARD_SWISH, *UNFUSED_ON_WASM)):
                continue
            name, activation = node["name"], fused[1]
            node["name"] = f"{name}/unfused_{activation.strip('_').lower()}"
            node["attr"]["fused_ops"]["list"]["s"] = [base64.b64encode(b"BiasAdd").decode()]
            typed = {k: node["attr"][k] for k in ("T",) if k in node["attr"]}
            extra += (_hard_swish_nodes(name, node["name"], typed) if activation == HARD_SWISH
                      else [{"name": name, "op": activation, "input": [node["name"]], "attr": typed}])
            split[activation] = split.get(activation, 0) + 1
        nodes.extend(extra)
    if split.get(HARD_SWISH):
        manifest["modelTopology"]["node"].extend(_const_node(name) for name in HARD_SWISH_CONSTANTS)
        _add_scalar_weights(manifest, model_json.parent, HARD_SWISH_CONSTANTS)
    if split:
        model_json.write_text(json.dumps(manifest))
    return split


def _node_lists(manifest: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The node lists of a converted graph: the main graph and each function body (loops, conds)."""
    topology = manifest.get("modelTopology", {})
    return [topology.get("node", []),
            *[fn.get("nodeDef", []) for fn in topology.get("library", {}).get("function", [])]]


def strip_control_edges(model_json: Path) -> int:
    """Remove the control-only inputs (`^node`) of a converted graph that holds v1 while loops.

    In an inference graph whose variables are constants, control edges only order side-effect-free
    ops, so the data edges alone compute the same values (why TF.js needs them gone: "Why the loop
    never starts" in export/rewrites/__init__.py). Returns the edges removed (0 and the file
    unchanged for a graph without loops).
    """
    manifest = json.loads(model_json.read_text())
    graphs = _node_lists(manifest)
    if not any(node.get("op") in LOOP_OPS for nodes in graphs for node in nodes):
        return 0
    removed = 0
    for nodes in graphs:
        for node in nodes:
            inputs = node.get("input")
            if inputs:
                kept = [name for name in inputs if not name.startswith("^")]
                removed += len(inputs) - len(kept)
                node["input"] = kept
    if removed:
        model_json.write_text(json.dumps(manifest))
    return removed
