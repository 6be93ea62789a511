"""``-p tests.fake_backend_plugin``: ``--backend fake`` is the NumPy reference in every process of a run.

``CNN_CHAPTER_REFERENCE_FAKE_NAME`` gives it another name (two fake backends, one per run).

:func:`tests.conformance_fakes.install` patches the process that imports this plugin, so a
run in a subprocess, and each of its pytest-xdist workers (they load the run's ``-p`` plugins),
checks :class:`~tests.conformance_fakes.ReferenceBackend`. Its folder is this one's ``fake``
subfolder, which holds no ``known_gaps.toml``: no gaps are declared.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conformance_fakes import NAME, ReferenceBackend, install

FAKE_NAME_VARIABLE = "CNN_CHAPTER_REFERENCE_FAKE_NAME"

install(pytest.MonkeyPatch(), ReferenceBackend(name=os.environ.get(FAKE_NAME_VARIABLE, NAME)),
        Path(__file__).parent / "fake")  # fmt: skip
