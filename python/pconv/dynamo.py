"""``torch.compile(model, backend="pconv")``: PConv as a TorchDynamo backend.

Dynamo hands the backend each captured FX graph with example inputs. Its
parameters and buffers arrive as graph inputs (Dynamo lifts them); the backend
bakes them in as constants, so the import pass sees constant, pattern-sparse
filters, and compiles the graph with :func:`pconv.compile` once per input shape.
Whatever PConv cannot take runs eagerly instead, so results always equal eager:

* a graph with an op the pipeline does not support, or a failing compile: the
  whole graph runs in PyTorch (one warning per graph, logger ``pconv.dynamo``);
* inputs that are not float32 CPU tensors, or a call that needs gradients
  (the compiled code is inference-only): that call runs in PyTorch (warned once);
* a graph Dynamo made shape-dynamic (size inputs): compiled for each concrete
  shape it is called with;
* parameters changed in place since the compile (e.g. an optimizer step):
  the graph is recompiled with the new values.

Options: ``torch.compile(model, backend="pconv", options={"threads": 2})`` takes
:class:`pconv.CompileOptions` fields (``target`` must stay ``"host"``: the
compiled graph runs in this process).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import fields
from typing import Any, Callable, Sequence

from .compiler import CompileOptions

__all__ = ["pconv_backend", "register"]

log = logging.getLogger("pconv.dynamo")
_OPTION_NAMES = {f.name for f in fields(CompileOptions)}


def _is_parameter(node: Any, example: Any) -> bool:
    """Whether a placeholder is a lifted module parameter or buffer."""
    import torch
    from torch._dynamo.source import ParamBufferSource, UnspecializedParamBufferSource

    if isinstance(example, torch.nn.Parameter):
        return True
    grapharg = node.meta.get("grapharg")
    source = getattr(grapharg, "source", None)
    while source is not None:
        if isinstance(source, (ParamBufferSource, UnspecializedParamBufferSource)):
            return True
        source = getattr(source, "base", None)
    return False


class _CompiledGraph:
    """The callable handed back to Dynamo for one FX graph."""

    def __init__(self, gm: Any, example_inputs: Sequence[Any], options: CompileOptions):
        import torch

        self.gm = gm
        self.options = options
        placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
        self.constant_index = [i for i, (n, x) in enumerate(zip(placeholders, example_inputs))
                               if isinstance(x, torch.Tensor) and _is_parameter(n, x)]
        self.cache: dict[tuple, Any] = {}
        self.constants_key: tuple | None = None
        self.disabled = False  # set when a graph cannot be compiled at all
        self.warned: set[str] = set()
        self.returns_list = isinstance(gm(*example_inputs), list)

    # -- helpers --------------------------------------------------------------
    def _warn(self, message: str) -> None:
        log.warning("pconv backend: %s; running this graph in PyTorch", message)

    def _warn_once(self, reason: str) -> None:
        if reason not in self.warned:
            self.warned.add(reason)
            self._warn(reason)

    def _constants_key(self, args: Sequence[Any]) -> tuple:
        return tuple((args[i].data_ptr(), args[i]._version) for i in self.constant_index)

    def _baked(self, args: Sequence[Any]) -> Any:
        """A copy of the graph whose parameter inputs are constants of the current
        values and whose size inputs (a graph Dynamo made shape-dynamic) are the
        sizes of this call."""
        import torch
        from torch.fx.node import map_arg

        graph = copy.deepcopy(self.gm.graph)
        module = torch.fx.GraphModule(self.gm, graph)
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        for i in self.constant_index:
            name = f"_pconv_constant_{i}"
            module.register_buffer(name, args[i].detach())
            with graph.inserting_before(placeholders[i]):
                attr = graph.get_attr(name)
            placeholders[i].replace_all_uses_with(attr)
            graph.erase_node(placeholders[i])
        for i, arg in enumerate(args):
            if isinstance(arg, int):
                node = placeholders[i]
                for use in list(node.users):
                    use.args = map_arg(use.args, lambda a, node=node, v=arg: v if a is node else a)
                    use.kwargs = map_arg(use.kwargs, lambda a, node=node, v=arg: v if a is node else a)
                graph.erase_node(node)
        module.recompile()
        return module

    def _compile(self, args: Sequence[Any], user: list[Any]) -> Callable | None:
        from . import compile as pconv_compile
        from .compiler import CompileError
        from .frontend import UnsupportedModelError

        try:
            artifact = pconv_compile(self._baked(args), user, options=self.options)
            log.info("pconv backend: compiled a graph for input shapes %s (%d pattern convs)",
                     [tuple(u.shape) for u in user], artifact.stats.get("pconv_convs", 0))
            return artifact.load()
        except UnsupportedModelError as e:
            self.disabled = True
            self._warn(f"unsupported model ({str(e).splitlines()[0]})")
        except CompileError as e:
            self.disabled = True
            self._warn(f"compilation failed ({str(e).splitlines()[0]})")
        except Exception as e:  # torch.export or the runtime refused the graph
            self.disabled = True
            self._warn(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return None

    # -- the call Dynamo makes ------------------------------------------------
    def __call__(self, *args: Any) -> Any:
        import torch

        if self.disabled:
            return self.gm(*args)
        constant = set(self.constant_index)
        user = [a for i, a in enumerate(args) if i not in constant and not isinstance(a, int)]
        if not all(isinstance(a, torch.Tensor) and a.dtype == torch.float32 and a.device.type == "cpu"
                   for a in user):
            self._warn_once("inputs that are not float32 CPU tensors")
            return self.gm(*args)
        if torch.is_grad_enabled() and any(isinstance(a, torch.Tensor) and a.requires_grad for a in args):
            self._warn_once("a call that needs gradients (PConv code is inference-only: "
                            "use torch.no_grad() or torch.inference_mode())")
            return self.gm(*args)
        key = self._constants_key(args)
        if key != self.constants_key:  # first call, or parameters changed in place
            self.cache.clear()
            self.constants_key = key
        shapes = tuple(tuple(a.shape) for a in user) + tuple(a for a in args if isinstance(a, int))
        if shapes not in self.cache:
            self.cache[shapes] = self._compile(args, user)
        compiled = self.cache[shapes]
        if compiled is None:
            return self.gm(*args)
        outputs = compiled(*user)
        outputs = list(outputs) if isinstance(outputs, tuple) else [outputs]
        return outputs if self.returns_list else tuple(outputs)


def pconv_backend(gm: Any, example_inputs: Sequence[Any], options: dict[str, Any] | None = None) -> Callable:
    """The ``"pconv"`` TorchDynamo backend (see the module documentation)."""
    options = dict(options or {})
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        raise ValueError(f"unknown pconv backend option(s) {unknown}; known: {sorted(_OPTION_NAMES)}")
    opts = CompileOptions(**options)
    if opts.target != "host":
        raise ValueError(f"the pconv torch.compile backend runs in this process: target must be 'host', "
                         f"got {opts.target!r} (use pconv.compile for other targets)")
    return _CompiledGraph(gm, example_inputs, opts)


def register() -> None:
    """Register the backend as ``"pconv"`` (idempotent)."""
    from torch._dynamo.backends.registry import _BACKENDS, _COMPILER_FNS, register_backend

    # An entry point torch already discovered registers itself when torch loads it
    # (which imports this module: registering here too would be a duplicate).
    if "pconv" not in _COMPILER_FNS and _BACKENDS.get("pconv") is None:
        register_backend(pconv_backend, name="pconv")
