"""Run one backend's divergence probes: ``python -m backends.divergences --backend NAME --out DIR``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from backends.divergences import measure
from backends.registry import backend_class, folder_module


def main(argv: list[str] | None = None) -> int:
    """Run one backend's probes and write ``<out>/divergences-<backend>.json``."""
    parser = argparse.ArgumentParser(prog="python -m backends.divergences", description=__doc__)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    module = folder_module(backend_class(args.backend), "probes")
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
    raise SystemExit(main())
