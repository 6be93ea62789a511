"""The suite's short form (``--short``, CI's): a quarter of the enumerated case families, chosen by id.

The enumerated families are the geometry grid (``grid``), the pairwise-covering adversarial
cases (``pairwise``), the padding forms (``padding-forms``) and the dot-product checks of the
JVPs: about 4,100 of a backend's 5,200 checks. The short form keeps each of their cases whose id's
CRC-32 is a multiple of 4: the same quarter on every machine, worker count and run, about a quarter of
each family and op (their float16 and bfloat16 mirrors too, by their own ids). Every other test runs as in
the full form: the chapter's cases, special values, ties, error cases, isolation, the Hypothesis
search, the accumulation checks and LeNet. ``nox -s conformance-<backend>`` and ``nox -s report`` run the
full form; the variable ``CNN_CHAPTER_REFERENCE_SUITE=short`` makes nox pass ``--short``.
"""

from __future__ import annotations

import zlib
from typing import Any

from conformance.cases import Case
from conformance.dot_product import DotCase

ENUMERATED = frozenset({"grid", "pairwise", "padding-forms"})  # Case.source of the halved families
ENVIRONMENT_KEY = "suite"  # the results' environment says which form ran
SHORT = "short (a quarter of the grid, pairwise, padding-form and dot-product cases)"


def kept(case_id: str) -> bool:
    """Whether the short form keeps the enumerated case ``case_id``: its CRC-32 is a multiple of 4."""
    return zlib.crc32(case_id.encode()) % 4 == 0


def keeps(params: dict[str, Any]) -> bool:
    """Whether the short form runs a test with these parameters (``item.callspec.params``)."""
    for value in params.values():
        if isinstance(value, DotCase):
            return kept(value.id)
        if isinstance(value, Case) and value.source in ENUMERATED:
            return kept(value.id)
    return True
