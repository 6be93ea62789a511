"""Run one framework's divergence probes: ``python -m reporting.probes --backend NAME --out results``."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from reporting.divergences import measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting.probes", description=__doc__)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    module = importlib.import_module(f"reporting.probes.{args.backend}")
    entries = [measure(probe) for probe in module.probes()]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"divergences-{args.backend}.json"
    path.write_text(json.dumps({"backend": args.backend, "probes": entries}, indent=1))
    for entry in entries:
        verdict = {True: "same", False: "DIFFERS", "refuses": "REFUSES", "n/a": "n/a"}[entry["matches"]]
        print(f"{verdict:8} {entry['family']}: {entry['call']} -> {entry['detail']}")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
