"""Prove a SavedModel runs on the stock ``tensorflow_model_server``.

The stock server links core TensorFlow kernels only (plus TF-Text and TF-DF inference ops) and
turns XLA off. So every op of every graph and every function in the SavedModel's function library
must be registered by core TensorFlow, must not call back into Python (``PyFunc`` and friends have
no Python to call in the server), and no function may be marked for XLA compilation
(``jit_compile=True`` sets ``_XlaMustCompile``). Run the check in a process that imported only
TensorFlow (``python -m exports.opcheck DIR``) so that no extension's op library widens the
registry; TensorFlow Probability registers none.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import zoo._tf  # noqa: F401  (imports TensorFlow quietly before the modules below)
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

from exports.errors import ExportError

# Registered in core TensorFlow but they run Python code, which the model server does not have.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


@dataclass
class OpReport:
    """What :func:`inspect` found. ``ops`` maps op type -> the functions ('<graph>' for the top level) using it."""

    ops: dict[str, set[str]] = field(default_factory=dict)
    unregistered: set[str] = field(default_factory=set)
    python_ops: set[str] = field(default_factory=set)
    xla_functions: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not (self.unregistered or self.python_ops or self.xla_functions)

    def problems(self) -> list[str]:
        """One sentence per problem, naming the op and where it is used."""
        lines = [
            f"op {op!r} (used in {', '.join(sorted(self.ops[op]))}) is not registered in core TensorFlow"
            for op in sorted(self.unregistered)
        ]
        lines += [
            f"op {op!r} (used in {', '.join(sorted(self.ops[op]))}) calls Python, which the model server cannot run"
            for op in sorted(self.python_ops)
        ]
        lines += [f"function {name!r} is marked jit_compile=True; the model server runs with XLA off" for name in sorted(self.xla_functions)]
        return lines


def _load(saved_model_dir: Path) -> saved_model_pb2.SavedModel:
    path = Path(saved_model_dir) / "saved_model.pb"
    if not path.is_file():
        raise ExportError(f"{path} does not exist; pass a SavedModel directory (one version, e.g. exports/NAME/1)")
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString(path.read_bytes())
    return proto


def _node_ops(nodes: Iterable, where: str, library: set[str], report: OpReport) -> None:
    for node in nodes:
        if node.op in library:  # a call of a library function by name
            continue
        report.ops.setdefault(node.op, set()).add(where)


def inspect(saved_model_dir: str | os.PathLike) -> OpReport:
    """Walk every meta graph's GraphDef and function library of the SavedModel in ``saved_model_dir``."""
    report = OpReport()
    for meta_graph in _load(Path(saved_model_dir)).meta_graphs:
        graph = meta_graph.graph_def
        library = {function.signature.name for function in graph.library.function}
        _node_ops(graph.node, "<graph>", library, report)
        for function in graph.library.function:
            name = function.signature.name
            _node_ops(function.node_def, name, library, report)
            if function.attr.get("_XlaMustCompile") is not None and function.attr["_XlaMustCompile"].b:
                report.xla_functions.add(name)
    for op in report.ops:
        if op in PYTHON_OPS:
            report.python_ops.add(op)
        elif op_def_registry.get(op) is None:
            report.unregistered.add(op)
    return report


def check(saved_model_dir: str | os.PathLike) -> OpReport:
    """:func:`inspect`, raising :class:`ExportError` listing every problem when there is one."""
    report = inspect(saved_model_dir)
    if not report.ok:
        raise ExportError(
            f"{saved_model_dir} would not run on the stock TF Serving image:\n  "
            + "\n  ".join(report.problems())
            + "\nUse core TensorFlow ops only (no py_function, no custom-op libraries) and no jit_compile in served functions."
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m exports.opcheck",
        description="Check that every op of a SavedModel is a core TensorFlow op the model server can run.",
    )
    parser.add_argument("saved_model_dirs", nargs="+", metavar="DIR")
    args = parser.parse_args(argv)
    status = 0
    for directory in args.saved_model_dirs:
        try:
            report = check(directory)
        except ExportError as error:
            print(error, file=sys.stderr)
            status = 1
        else:
            print(f"{directory}: {len(report.ops)} op types, all core TensorFlow, no XLA: ok")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
