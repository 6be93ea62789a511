"""Packaging metadata: every project of the tree states its licence as an SPDX expression (PEP 639).

setuptools (77 and later) warns about the older ``license = {text = ...}`` table and deprecates it;
the string form is what PyPI and ``pip show`` read.
"""

import tomllib
from pathlib import Path

import pytest
from packaging.licenses import canonicalize_license_expression
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = [ROOT / "pyproject.toml", *sorted(ROOT.glob("plugins/*/pyproject.toml"))]


@pytest.mark.parametrize("pyproject", PROJECTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_license_is_a_canonical_spdx_string(pyproject):
    data = tomllib.loads(pyproject.read_text())
    license_ = data["project"]["license"]
    assert isinstance(license_, str), f"{pyproject}: license must be an SPDX string, not a table"
    assert canonicalize_license_expression(license_) == license_ == "Apache-2.0"
    assert not any("License ::" in c for c in data["project"].get("classifiers", []))  # PEP 639 forbids both
    setuptools = next(Requirement(r) for r in data["build-system"]["requires"] if r.startswith("setuptools"))
    assert not setuptools.specifier.contains("76.9"), "the SPDX string needs setuptools >= 77"


def test_license_file_is_the_apache_2_text():
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
