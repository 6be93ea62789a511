"""The conformance pack: the suite's cases as files, for runners in any language.

``python -m conformance.pack export DIR`` writes every named case of every op
spec and a seeded sample of generated ones (:mod:`~conformance.pack.export`):
a manifest (JSON, schema ``manifest.schema.json`` beside it) naming each case's
op, function, keyword arguments, dtype, input files, reference outputs and
bound, with the terms the bound was built from; arrays as ``.npy`` files; a
``SHA256SUMS`` file (:mod:`~conformance.pack.layout`). ``verify DIR OUTPUTS``
checks outputs that any implementation wrote in the pack's layout
(:mod:`~conformance.pack.verify`); ``run DIR OUTPUTS --backend NAME`` writes
them with one of this project's backends (:mod:`~conformance.pack.run`).
``examples/pack_runner_torch.py`` reads a pack without importing this project.
"""

from conformance.pack.layout import FORMAT_VERSION, PackError

__all__ = ["FORMAT_VERSION", "PackError"]
