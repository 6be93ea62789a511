"""``python -m conformance.pack {export,verify,run}``: write a pack, check outputs, compute them.

Exit status: 0 on success; 1 when ``verify`` finds a failing or missing output;
2 on a malformed pack or outputs folder (the message names the file), or a backend
``run`` cannot use here (unknown, its framework not installed, an unknown device).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.pack.export import PER_OP, SEED, export
from conformance.pack.layout import PackError
from conformance.pack.run import BackendUnavailableError, run
from conformance.pack.verify import FAIL, MISSING, table, verify

SHOWN = 20  # failing or missing cases printed before the table


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m conformance.pack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    export_parser = commands.add_parser("export", help="write the pack into DIR (replacing a pack there)")
    export_parser.add_argument("dir", type=Path)
    export_parser.add_argument("--per-op", type=int, default=PER_OP, help=f"generated rows per op ({PER_OP})")
    export_parser.add_argument(
        "--seed", type=int, default=SEED, help=f"seed of the generated sample ({SEED})"
    )
    export_parser.add_argument("--ops", help="comma-separated op specs (default: all)")
    verify_parser = commands.add_parser("verify", help="check OUTPUTS against the pack DIR")
    verify_parser.add_argument("dir", type=Path)
    verify_parser.add_argument("outputs", type=Path)
    run_parser = commands.add_parser("run", help="write a registered backend's outputs of DIR into OUTPUTS")
    run_parser.add_argument("dir", type=Path)
    run_parser.add_argument("outputs", type=Path)
    run_parser.add_argument("--backend", required=True)
    run_parser.add_argument("--device", default="auto")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; print a :class:`PackError` or an unavailable backend (no traceback), return 2."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "export":
            ops = args.ops.split(",") if args.ops else None
            done = export(args.dir, ops, args.per_op, args.seed)
            print(f"{done.cases} cases ({done.skipped} skipped), {done.files} files,"
                  f" {done.bytes / 1e6:.1f} MB in {args.dir}, exported in {done.seconds:.1f} s")  # fmt: skip
            print(f"pack sha256 (of SHA256SUMS): {done.digest}")
            return 0
        if args.command == "run":
            counts = run(args.dir, args.outputs, args.backend, args.device)
            print(
                f"{args.backend}: "
                + ", ".join(f"{counts[key]} {key}" for key in ("computed", "not_computed", "failed"))
            )
            return 0
        outcomes = verify(args.dir, args.outputs)
    except (PackError, BackendUnavailableError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    bad = [outcome for outcome in outcomes if outcome.status in (FAIL, MISSING)]
    for outcome in bad[:SHOWN]:
        print(f"{outcome.status}: {outcome.message}")
    if len(bad) > SHOWN:
        print(f"... and {len(bad) - SHOWN} more")
    print("\n".join(table(outcomes)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
