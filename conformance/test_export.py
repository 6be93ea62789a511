"""Each backend's trained LeNet exported to ONNX and run in ONNX Runtime (:mod:`conformance.lenet_checks`).

One check per variant (``lenet-export-<variant>-float32``, op ``lenet_export``): train, export
with the framework's exporter (``backends/<framework>/export.py``), run the file in ONNX
Runtime's CPU provider, and compare its logits with the backend's own and with the reference
network's at the same parameters. Its record's ``params`` carry what the report's export table
shows: the exporter and its version, the opset, both worst ratios, the export's and the check's
seconds. A backend that cannot export or run the file (no exporter, no ``onnxruntime`` in its
environment, no training) declares the gap in its known-gaps file, like any other check.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from conformance import lenet_checks
from conformance.cases import rerun_item
from conformance.compare import ConformanceError
from conformance.known_gaps import find
from conformance.runner import record_check
from conformance.test_lenet import VARIANTS, LenetCheck

EXPORTS = [
    LenetCheck(f"lenet-export-{variant}-float32", "lenet_export", variant, "float32",
               {"steps": lenet_checks.EXPORT_STEPS, "lr": lenet_checks.TRAJECTORY_LR[variant],
                "batch": lenet_checks.BATCH})
    for variant in VARIANTS
]  # fmt: skip


@pytest.mark.parametrize("check", EXPORTS, ids=repr)
def test_exported_lenet_matches_in_onnx_runtime(
    backend, results, gaps, request, tmp_path, check: LenetCheck
) -> None:
    params = {"variant": check.variant, **check.params}  # the export's facts join them

    def run() -> float:
        exported = lenet_checks.export_trained_lenet(backend, check.variant, tmp_path)
        params.update(exporter=exported.exporter, exporter_version=exported.version,
                      opset=exported.opset, export_s=round(exported.seconds, 3))  # fmt: skip
        start = time.perf_counter()
        ratio_backend, ratio_reference = lenet_checks.check_exported(exported)
        params.update(ratio_backend=ratio_backend, ratio_reference=ratio_reference,
                      check_s=round(time.perf_counter() - start, 3))  # fmt: skip
        return max(ratio_backend, ratio_reference)

    record = {"id": check.id, "op": check.op, "params": params, "dtype": check.dtype, "source": "lenet",
              "rerun": rerun_item(backend.name, request.node.name)}  # fmt: skip
    record_check(results, record, find(gaps, check.op, check.id), run)


# fc3's bias moved by this much in the ONNX file: about 10 times the allowance of the comparison with the
# backend's logits (twice the logits' bound, about 1e-5 for the trained chapter LeNet).
PERTURBATION = 2e-4


@pytest.mark.parametrize("check", EXPORTS[:1], ids=repr)  # the chapter's: marked by its declared gap too
def test_a_perturbed_weight_in_the_onnx_file_is_caught(backend, tmp_path, check: LenetCheck) -> None:
    """The comparison can fail: the exported chapter LeNet with one fc3 bias off by PERTURBATION."""
    import onnx  # as lenet_checks: the backends' environments install it
    from onnx import numpy_helper

    exported = lenet_checks.export_trained_lenet(backend, check.variant, tmp_path)
    bias = exported.model.params()["fc3.bias"]
    graph = onnx.load(exported.path)
    # Found by value, whatever the exporter named it or however it shaped it.
    (index,) = [i for i, tensor in enumerate(graph.graph.initializer)
                if np.array_equal(numpy_helper.to_array(tensor).ravel(), bias)]  # fmt: skip
    wrong = bias.copy()
    wrong[3] += np.float32(PERTURBATION)
    tensor = graph.graph.initializer[index]
    tensor.CopyFrom(numpy_helper.from_array(wrong.reshape(tuple(tensor.dims)), tensor.name))
    onnx.save(graph, exported.path)
    with pytest.raises(ConformanceError, match=r"logits against the backend's\[\d+, 3\]"):
        lenet_checks.check_exported(exported)
