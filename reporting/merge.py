"""Merge results folders written apart (a CI matrix: one job per backend) into one.

python -m reporting.merge A B [...] --into results

Every file of every source is copied to the same relative path under ``--into`` (subfolders such
as ``train-quick/`` and ``benchmark-history/`` included). A path that two sources, or a source and
``--into``, hold with the same bytes is copied once; with different bytes the merge stops before
copying anything and names the path and both folders. Standard library only: CI runs it with a
bare Python.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path


class MergeConflictError(ValueError):
    """Two folders hold the same relative path with different content."""


def plan(sources: list[Path], into: Path) -> dict[Path, Path]:
    """Relative path -> the source file to copy there; raises :class:`MergeConflictError` or
    ``FileNotFoundError`` (a source that is not a folder) before anything is written."""
    chosen: dict[Path, Path] = {}
    for source in sources:
        if not source.is_dir():
            raise FileNotFoundError(f"results folder {source} does not exist or is not a folder")
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            relative = path.relative_to(source)
            earlier = chosen.get(relative) or (into / relative if (into / relative).is_file() else None)
            if earlier is not None and not filecmp.cmp(earlier, path, shallow=False):
                raise MergeConflictError(f"{relative} differs between {earlier.parent} and {path.parent}: "
                                    "two jobs wrote the same results file")  # fmt: skip
            chosen.setdefault(relative, path)
    return chosen


def merge(sources: list[Path], into: Path) -> list[Path]:
    """Copy every file of ``sources`` under ``into`` (see the module); returns the paths written."""
    copies = plan(sources, into)
    for relative, path in copies.items():
        (into / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, into / relative)
    return [into / relative for relative in copies]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reporting.merge", description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", type=Path, help="results folders to merge")
    parser.add_argument("--into", type=Path, required=True, help="the merged folder (made if absent)")
    args = parser.parse_args(argv)
    try:
        written = merge(args.sources, args.into)
    except (MergeConflictError, FileNotFoundError) as error:
        parser.exit(2, f"python -m reporting.merge: error: {error}\n")
    print(f"merged {len(written)} files from {len(args.sources)} folders into {args.into}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
