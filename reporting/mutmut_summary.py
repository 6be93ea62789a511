"""mutmut's verdicts on ``reference/`` summarised for the report: ``results/mutmut-reference.json``.

``python -m reporting.mutmut_summary MUTANTS --listing FILE --equivalents TOML --out JSON``
reads mutmut 3's CI statistics (``MUTANTS/mutmut-cicd-stats.json``), the
``mutmut results`` listing (``<mutant>: <status>`` per line) and the equivalent
mutants (``[[equivalent]]`` entries: ``function``, ``reason``, ``changes``, each
change a mutated line as mutmut writes it, whitespace collapsed). A survivor whose
function and changed line are listed counts as equivalent; the score is
killed / (total - equivalent). Standard library only: it runs beside mutmut.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import sys
import tomllib
from pathlib import Path
from typing import Any


def mutated_functions(mutants: Path, module: str) -> dict[str, list[str]]:
    """The source lines of every function in mutmut's copy of ``module`` under ``mutants``, by name."""
    lines = (mutants / (module.replace(".", "/") + ".py")).read_text().splitlines()
    return {
        node.name: lines[node.lineno - 1 : node.end_lineno]
        for node in ast.walk(ast.parse("\n".join(lines)))
        if isinstance(node, ast.FunctionDef)
    }


def mutant_change(mutants: Path, name: str) -> tuple[str, str]:
    """``("module.function", changed line)`` of a mutant named like ``reference.pool.x__taps__mutmut_3``.

    mutmut 3 keeps each mutant as a copy of the function (``x_<name>__mutmut_<i>``,
    methods ``xǁ<Class>ǁ<name>__mutmut_<i>``) beside the original
    (``..__mutmut_orig``); the change is the mutant's line that differs from the
    original's, whitespace collapsed, or ``deleted: <line>`` when it only removes one.
    The module is named without its ``reference.`` prefix.
    """
    module, _, mangled = name.rpartition(".")
    base = mangled.rsplit("__mutmut_", 1)[0]
    functions = mutated_functions(mutants, module)
    original = [line.replace(f"{base}__mutmut_orig", base) for line in functions[f"{base}__mutmut_orig"]]
    mutant = [line.replace(mangled, base) for line in functions[mangled]]
    diff = list(difflib.unified_diff(original, mutant, lineterm="", n=0))[2:]
    added = [line[1:] for line in diff if line.startswith("+")]
    removed = [line[1:] for line in diff if line.startswith("-")]
    change = " ".join(added) if added else "deleted: " + " ".join(removed)
    function = base[2:].replace("\u01c1", ".")  # drop the "x_" or "xǁ" prefix
    return f"{module.removeprefix('reference.')}.{function}", " ".join(change.split())


def summarise(mutants: Path, listing: str, equivalents: str) -> dict[str, Any]:
    """Counts, score and the unlisted survivors (each with its function and changed line)."""
    stats = json.loads((mutants / "mutmut-cicd-stats.json").read_text())
    listed = tomllib.loads(equivalents).get("equivalent", [])
    equivalent_changes = {(entry["function"], change) for entry in listed for change in entry["changes"]}
    survivors, equivalent = [], 0
    for line in listing.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if status != "survived":
            continue
        function, change = mutant_change(mutants, name)
        if (function, change) in equivalent_changes:
            equivalent += 1
        else:
            survivors.append({"mutant": name, "function": function, "change": change})
    return {
        "killed": stats["killed"],
        "survived": len(survivors),
        "equivalent": equivalent,
        "timeout": stats["timeout"],
        "no_tests": stats["no_tests"],
        "total": stats["total"],
        "score": stats["killed"] / max(1, stats["total"] - equivalent),
        "survivors": survivors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reporting.mutmut_summary", description=__doc__.split("\n")[0]
    )
    parser.add_argument("mutants", type=Path, help="mutmut's working folder (mutants/)")
    parser.add_argument("--listing", type=Path, required=True, help="the output of `mutmut results`")
    parser.add_argument("--equivalents", type=Path, default=Path("tests/equivalent_mutants.toml"))
    parser.add_argument("--out", type=Path, default=Path("results/mutmut-reference.json"))
    args = parser.parse_args(argv)
    summary = summarise(args.mutants, args.listing.read_text(), args.equivalents.read_text())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"mutmut on reference/: {summary['killed']} of {summary['total']} killed, "
        f"{summary['equivalent']} equivalent, {summary['survived']} survived, "
        f"{summary['timeout']} timeouts: score {summary['score']:.2%} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
