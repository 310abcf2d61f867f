"""A small ONNX -> TFLite converter for the benchmark CNNs (fp32, NHWC inside).

No TensorFlow is needed: the flatbuffer is written with the object API of the TFLite
schema that ``ai_edge_litert`` ships (``schema_py_generated``).  It covers exactly the
operators the benchmark networks export to (Conv incl. depthwise, Relu, Clip(0, 6),
Add, MaxPool, AveragePool, GlobalAveragePool, ReduceMean, Flatten/Reshape, Gemm) and
raises ``NotImplementedError`` naming anything else.

Layout: the model keeps the NCHW input/output of the ONNX graph (every engine is fed
the same array) and transposes to NHWC once at the entry (and back at the exit for a
4-D output); all convolutions run NHWC, which is what XNNPACK wants.  Relu / Relu6
that follow a Conv or Add are fused into it, as TensorFlow's converter does.  ONNX's
symmetric padding is mapped to SAME when it is identical to TFLite's SAME padding,
else an explicit PAD (zeros; -FLT_MAX via PADV2 before a max pool) plus VALID.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _schema():
    from ai_edge_litert import schema_py_generated as s

    return s


class _Writer:
    def __init__(self) -> None:
        self.s = _schema()
        self.tensors: list = []
        self.buffers: list = [self.s.BufferT()]  # buffer 0: the empty sentinel
        self.ops: list = []
        self.opcodes: dict[int, int] = {}
        self.opcode_list: list = []

    def tensor(self, name: str, shape, data: np.ndarray | None = None, dtype: str = "float32") -> int:
        s = self.s
        t = s.TensorT()
        t.name = name
        t.shape = np.asarray(list(shape), dtype=np.int32)
        t.type = {"float32": s.TensorType.FLOAT32, "int32": s.TensorType.INT32}[dtype]
        if data is not None:
            b = s.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data.astype(dtype)).tobytes(), dtype=np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, name: str, data: np.ndarray, dtype: str = "float32") -> int:
        return self.tensor(name, data.shape, data, dtype)

    def op(self, code: int, inputs: list[int], outputs: list[int], opt_type: int = 0, opt=None) -> None:
        s = self.s
        if code not in self.opcodes:
            oc = s.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            self.opcodes[code] = len(self.opcode_list)
            self.opcode_list.append(oc)
        o = s.OperatorT()
        o.opcodeIndex = self.opcodes[code]
        o.inputs = np.asarray(inputs, dtype=np.int32)
        o.outputs = np.asarray(outputs, dtype=np.int32)
        o.builtinOptionsType = opt_type
        o.builtinOptions = opt
        self.ops.append(o)

    def finish(self, inputs: list[int], outputs: list[int]) -> bytes:
        import flatbuffers

        s = self.s
        sg = s.SubGraphT()
        sg.tensors, sg.operators, sg.name = self.tensors, self.ops, "main"
        sg.inputs = np.asarray(inputs, dtype=np.int32)
        sg.outputs = np.asarray(outputs, dtype=np.int32)
        m = s.ModelT()
        m.version = 3
        m.operatorCodes = self.opcode_list
        m.subgraphs = [sg]
        m.description = "pconv benchmarks onnx->tflite"
        m.buffers = self.buffers
        b = flatbuffers.Builder(1 << 20)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def _same_pads(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    out = -(-size // s)
    ek = (k - 1) * d + 1
    total = max((out - 1) * s + ek - size, 0)
    return total // 2, total - total // 2


def convert_onnx_to_tflite(onnx_path: Path, out_path: Path) -> Path:
    import onnx
    from onnx import numpy_helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(onnx_path)))
    g = model.graph
    s = _schema()
    BO, OP, ACT, PAD = s.BuiltinOptions, s.BuiltinOperator, s.ActivationFunctionType, s.Padding
    w = _Writer()
    consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    shapes: dict[str, list[int]] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]

    # name -> (tensor index, layout) ; layout "nhwc" for 4-D activations, "flat" otherwise
    env: dict[str, tuple[int, str, list[int]]] = {}
    consumers: dict[str, int] = {}
    for n in g.node:
        for i in n.input:
            consumers[i] = consumers.get(i, 0) + 1
    for o in g.output:
        consumers[o.name] = consumers.get(o.name, 0) + 1

    inp = g.input[0]
    in_shape = shapes[inp.name]
    t_in = w.tensor(inp.name, in_shape)
    graph_inputs = [t_in]
    if len(in_shape) == 4:
        n_, c_, h_, w_ = in_shape
        t_nhwc = w.tensor(inp.name + "_nhwc", [n_, h_, w_, c_])
        w.op(OP.TRANSPOSE, [t_in, w.const("perm_nhwc", np.array([0, 2, 3, 1]), "int32")], [t_nhwc],
             BO.TransposeOptions, s.TransposeOptionsT())
        env[inp.name] = (t_nhwc, "nhwc", [n_, h_, w_, c_])
    else:
        env[inp.name] = (t_in, "flat", in_shape)

    nodes = [n for n in g.node if n.op_type != "Constant"]
    fused: set[str] = set()  # activation nodes folded into their producer
    alias: dict[str, str] = {}

    def act_after(out_name: str) -> tuple[int, str]:
        """A Relu/Clip(0,6) consuming ``out_name`` alone: fold it (returns activation and new output)."""
        if consumers.get(out_name, 0) != 1:
            return ACT.NONE, out_name
        for m in nodes:
            if out_name in m.input:
                if m.op_type == "Relu":
                    fused.add(m.name or m.output[0])
                    return ACT.RELU, m.output[0]
                if m.op_type == "Clip":
                    lo = _clip_bound(m, 1, "min", consts)
                    hi = _clip_bound(m, 2, "max", consts)
                    if lo == 0.0 and hi == 6.0:
                        fused.add(m.name or m.output[0])
                        return ACT.RELU6, m.output[0]
                    if lo == 0.0 and hi is None:
                        fused.add(m.name or m.output[0])
                        return ACT.RELU, m.output[0]
                return ACT.NONE, out_name
        return ACT.NONE, out_name

    def nhwc_out(name: str, shape_nchw: list[int]) -> int:
        n_, c_, h_, w_ = shape_nchw
        t = w.tensor(name, [n_, h_, w_, c_])
        env[name] = (t, "nhwc", [n_, h_, w_, c_])
        return t

    def attr(n, key, default=None):
        for a in n.attribute:
            if a.name == key:
                return onnx.helper.get_attribute_value(a)
        return default

    def padded(src: int, src_shape: list[int], pads: list[int], name: str, value: float | None) -> tuple[int, list[int]]:
        n_, h_, w_, c_ = src_shape
        top, left, bottom, right = pads
        out_shape = [n_, h_ + top + bottom, w_ + left + right, c_]
        t = w.tensor(name + "_pad", out_shape)
        pads_t = w.const(name + "_pads", np.array([[0, 0], [top, bottom], [left, right], [0, 0]]), "int32")
        if value is None:
            w.op(OP.PAD, [src, pads_t], [t], BO.PadOptions, s.PadOptionsT())
        else:
            v = w.const(name + "_padval", np.array(value, dtype=np.float32))
            w.op(OP.PADV2, [src, pads_t, v], [t], BO.PadV2Options, s.PadV2OptionsT())
        return t, out_shape

    def spatial_padding(n, src, src_shape, k, strides, dil, pad_value):
        pads = list(attr(n, "pads", [0, 0, 0, 0]))
        auto = attr(n, "auto_pad", b"NOTSET")
        if isinstance(auto, bytes):
            auto = auto.decode()
        if auto in ("SAME_UPPER",):
            return src, src_shape, PAD.SAME
        if auto == "VALID" or not any(pads):
            return src, src_shape, PAD.VALID
        same = [*_same_pads(src_shape[1], k[0], strides[0], dil[0]), *_same_pads(src_shape[2], k[1], strides[1], dil[1])]
        onnx_pads = [pads[0], pads[2], pads[1], pads[3]]  # (top, bottom, left, right)
        if same == onnx_pads:
            return src, src_shape, PAD.SAME
        t, shp = padded(src, src_shape, [pads[0], pads[1], pads[2], pads[3]], n.output[0], pad_value)
        return t, shp, PAD.VALID

    for n in nodes:
        key = n.name or n.output[0]
        if key in fused:
            continue
        op = n.op_type
        ins = [alias.get(i, i) for i in n.input]
        if op == "Conv":
            src, layout, src_shape = env[ins[0]]
            if layout != "nhwc":
                raise NotImplementedError("Conv on a non-4-D tensor")
            wt = consts[ins[1]].astype(np.float32)
            bias = consts[ins[2]].astype(np.float32) if len(ins) > 2 and ins[2] else np.zeros(wt.shape[0], np.float32)
            group = attr(n, "group", 1)
            strides = list(attr(n, "strides", [1, 1]))
            dil = list(attr(n, "dilations", [1, 1]))
            k = list(wt.shape[2:])
            src, src_shape, padding = spatial_padding(n, src, src_shape, k, strides, dil, None)
            act, out_name = act_after(n.output[0])
            out_t = nhwc_out(out_name, shapes[n.output[0]])
            b_t = w.const(key + "_b", bias)
            cin = src_shape[3]
            if group == 1:
                f_t = w.const(key + "_w", wt.transpose(0, 2, 3, 1))  # OIHW -> OHWI
                o = s.Conv2DOptionsT()
                o.padding, o.strideH, o.strideW = padding, strides[0], strides[1]
                o.dilationHFactor, o.dilationWFactor, o.fusedActivationFunction = dil[0], dil[1], act
                w.op(OP.CONV_2D, [src, f_t, b_t], [out_t], BO.Conv2DOptions, o)
            elif group == cin and wt.shape[1] == 1:
                mult = wt.shape[0] // cin
                f_t = w.const(key + "_w", wt.reshape(cin * mult, k[0], k[1]).transpose(1, 2, 0)[None])  # 1,H,W,C*m
                o = s.DepthwiseConv2DOptionsT()
                o.padding, o.strideH, o.strideW, o.depthMultiplier = padding, strides[0], strides[1], mult
                o.dilationHFactor, o.dilationWFactor, o.fusedActivationFunction = dil[0], dil[1], act
                w.op(OP.DEPTHWISE_CONV_2D, [src, f_t, b_t], [out_t], BO.DepthwiseConv2DOptions, o)
            else:
                raise NotImplementedError(f"grouped Conv with group={group}")
        elif op in ("Relu", "Clip"):
            src, layout, shp = env[ins[0]]
            t = w.tensor(n.output[0], shp)
            env[n.output[0]] = (t, layout, shp)
            if op == "Relu":
                w.op(OP.RELU, [src], [t])
            else:
                lo, hi = _clip_bound(n, 1, "min", consts), _clip_bound(n, 2, "max", consts)
                if (lo, hi) != (0.0, 6.0):
                    raise NotImplementedError(f"Clip({lo}, {hi})")
                w.op(OP.RELU6, [src], [t])
        elif op == "Add":
            a, la, sa = env[ins[0]]
            b, lb, sb = env[ins[1]]
            if la != lb or sa != sb:
                raise NotImplementedError("broadcasting Add")
            act, out_name = act_after(n.output[0])
            t = w.tensor(out_name, sa)
            env[out_name] = (t, la, sa)
            o = s.AddOptionsT()
            o.fusedActivationFunction = act
            w.op(OP.ADD, [a, b], [t], BO.AddOptions, o)
        elif op in ("MaxPool", "AveragePool"):
            src, layout, src_shape = env[ins[0]]
            k = list(attr(n, "kernel_shape"))
            strides = list(attr(n, "strides", [1, 1]))
            if attr(n, "ceil_mode", 0):
                raise NotImplementedError("ceil_mode pooling")
            is_max = op == "MaxPool"
            if not is_max and any(attr(n, "pads", [0, 0, 0, 0])) and not attr(n, "count_include_pad", 0):
                pass  # SAME average pooling excludes the padding too
            src, src_shape, padding = spatial_padding(n, src, src_shape, k, strides, [1, 1],
                                                      -3.4028235e38 if is_max else 0.0)
            t = nhwc_out(n.output[0], shapes[n.output[0]])
            o = s.Pool2DOptionsT()
            o.padding, o.strideH, o.strideW, o.filterHeight, o.filterWidth = padding, strides[0], strides[1], k[0], k[1]
            o.fusedActivationFunction = ACT.NONE
            w.op(OP.MAX_POOL_2D if is_max else OP.AVERAGE_POOL_2D, [src], [t], BO.Pool2DOptions, o)
        elif op in ("GlobalAveragePool", "ReduceMean"):
            src, layout, src_shape = env[ins[0]]
            if op == "ReduceMean":
                axes = attr(n, "axes") or (consts[ins[1]].tolist() if len(ins) > 1 else None)
                if sorted(int(a) % 4 for a in axes) != [2, 3] or layout != "nhwc":
                    raise NotImplementedError(f"ReduceMean over axes {axes}")
                if not attr(n, "keepdims", 1):
                    raise NotImplementedError("ReduceMean keepdims=0")
            t = nhwc_out(n.output[0], shapes[n.output[0]])
            o = s.ReducerOptionsT()
            o.keepDims = True
            w.op(OP.MEAN, [src, w.const(key + "_axes", np.array([1, 2]), "int32")], [t], BO.ReducerOptions, o)
        elif op in ("Flatten", "Reshape"):
            src, layout, src_shape = env[ins[0]]
            out_shape = shapes[n.output[0]]
            if layout == "nhwc":
                n_, h_, w_, c_ = src_shape
                if h_ * w_ != 1:  # NCHW flatten order: back to NCHW first
                    t = w.tensor(key + "_nchw", [n_, c_, h_, w_])
                    w.op(OP.TRANSPOSE, [src, w.const(key + "_perm", np.array([0, 3, 1, 2]), "int32")], [t],
                         BO.TransposeOptions, s.TransposeOptionsT())
                    src = t
            if len(out_shape) == 4:
                raise NotImplementedError("Reshape to a 4-D tensor")
            t = w.tensor(n.output[0], out_shape)
            o = s.ReshapeOptionsT()
            o.newShape = np.asarray(out_shape, dtype=np.int32)
            w.op(OP.RESHAPE, [src, w.const(key + "_shape", np.array(out_shape), "int32")], [t], BO.ReshapeOptions, o)
            env[n.output[0]] = (t, "flat", out_shape)
        elif op == "Gemm":
            src, layout, src_shape = env[ins[0]]
            if layout != "flat" or attr(n, "transA", 0):
                raise NotImplementedError("Gemm layout")
            wt = consts[ins[1]].astype(np.float32)
            if not attr(n, "transB", 0):
                wt = wt.T
            alpha, beta = attr(n, "alpha", 1.0), attr(n, "beta", 1.0)
            wt = wt * alpha
            bias = consts[ins[2]].astype(np.float32) * beta if len(ins) > 2 else np.zeros(wt.shape[0], np.float32)
            act, out_name = act_after(n.output[0])
            out_shape = shapes[n.output[0]]
            t = w.tensor(out_name, out_shape)
            env[out_name] = (t, "flat", out_shape)
            o = s.FullyConnectedOptionsT()
            o.fusedActivationFunction = act
            w.op(OP.FULLY_CONNECTED, [src, w.const(key + "_w", np.ascontiguousarray(wt)), w.const(key + "_b", bias)],
                 [t], BO.FullyConnectedOptions, o)
        elif op == "Identity":
            alias[n.output[0]] = ins[0]
            env[n.output[0]] = env[ins[0]]
        else:
            raise NotImplementedError(f"ONNX operator {op} is not supported by the benchmark converter")

    outs = []
    for o in g.output:
        t, layout, shp = env[alias.get(o.name, o.name)]
        if layout == "nhwc":
            n_, h_, w_, c_ = shp
            t2 = w.tensor(o.name + "_nchw", [n_, c_, h_, w_])
            w.op(OP.TRANSPOSE, [t, w.const("perm_nchw", np.array([0, 3, 1, 2]), "int32")], [t2],
                 BO.TransposeOptions, s.TransposeOptionsT())
            t = t2
        outs.append(t)
    out_path = Path(out_path)
    out_path.write_bytes(w.finish(graph_inputs, outs))
    return out_path


def _clip_bound(n, idx: int, name: str, consts: dict) -> float | None:
    if len(n.input) > idx and n.input[idx]:
        v = consts.get(n.input[idx])
        return None if v is None else float(v)
    for a in n.attribute:
        if a.name == name:
            return float(a.f)
    return None
