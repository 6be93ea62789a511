"""Write the 2-D MaxPool and AveragePool node test vectors of the installed ``onnx`` package.

Run once, offline, with a Python that has ``onnx`` (``.nox/env-onnxruntime``)::

    python tests/data/extract_onnx_pool_vectors.py

It calls every ``export_*`` function of ``onnx/backend/test/case/node/maxpool.py`` and
``averagepool.py`` with their ``expect`` replaced by a recorder, keeps the 4-D (N, C, H, W)
vectors, and writes ``onnx_pool_vectors.json`` (each vector's name, op and attributes) and
``onnx_pool_vectors.npz`` (``<name>/x`` and the outputs ``<name>/y``, ``<name>/indices``)
beside this file. The expected outputs are ONNX's: literal arrays, or computed by ONNX's own
NumPy pooling (``onnx.reference.ops.op_pool_common.pool``) on inputs drawn by ``np.random``,
which is why the inputs are stored too. ``tests/test_onnx_pool_vectors.py`` reads the files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).parent


def main() -> None:
    """Record the vectors and write the two files."""
    import onnx  # here, not at the top: pytest --doctest-modules imports this file without onnx
    from onnx import helper
    from onnx.backend.test.case.node import averagepool, maxpool

    records: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}

    def record(node: Any, inputs: list[np.ndarray], outputs: list[np.ndarray], name: str,
               **_: Any) -> None:  # fmt: skip
        if np.ndim(inputs[0]) != 4:
            return
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attributes = {k: v.decode() if isinstance(v, bytes) else v for k, v in attributes.items()}
        records.append({"name": name, "op": node.op_type, "attributes": attributes})
        arrays[f"{name}/x"] = np.asarray(inputs[0])
        for key, value in zip(("y", "indices"), outputs, strict=False):
            arrays[f"{name}/{key}"] = np.asarray(value)

    np.random.seed(0)
    for module in (maxpool, averagepool):
        module.expect = record
        for cls in (maxpool.MaxPool, averagepool.AveragePool):
            for attr in sorted(vars(cls)):
                if attr.startswith("export") and module.__name__.endswith(cls.__name__.lower()):
                    getattr(cls, attr)()
    source = {"onnx": onnx.__version__, "vectors": records}
    (HERE / "onnx_pool_vectors.json").write_text(json.dumps(source, indent=1) + "\n")
    np.savez_compressed(HERE / "onnx_pool_vectors.npz", **arrays)
    print(f"{len(records)} vectors from onnx {onnx.__version__}")


if __name__ == "__main__":
    main()
