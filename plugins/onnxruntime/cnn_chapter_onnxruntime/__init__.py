"""ONNX Runtime behind the backend interface, as a plugin outside the core packages: ``adapter`` (the
Backend: each forward op a one-node ONNX model), ``graphs`` (building and running those models),
``lenet`` (the LeNet forward as one ONNX graph), ``probes`` (what the native nodes do differently),
``environment.toml`` (the pins) and ``known_gaps.toml`` (what it cannot compute).
Importing this package does not import ONNX Runtime."""
