"""``-p tests.fake_backend_plugin``: ``--backend fake`` is the NumPy reference in every process of a run.

:func:`tests.conformance_fakes.install` patches the process that imports this plugin, so a
run in a subprocess, and each of its pytest-xdist workers (they load the run's ``-p`` plugins),
checks :class:`~tests.conformance_fakes.ReferenceBackend`. Its folder is this one's ``fake``
subfolder, which holds no ``known_gaps.toml``: no gaps are declared.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance_fakes import ReferenceBackend, install

install(pytest.MonkeyPatch(), ReferenceBackend(), Path(__file__).parent / "fake")
