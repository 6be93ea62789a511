"""The report: every backend's conformance, divergences, benchmarks and LeNet runs in one page.

``python -m reporting --results results --out report`` merges the JSON files a
run leaves in ``results/`` into ``report/REPORT.md`` and a self-contained
``report/index.html`` (plots inline, no network needed).
"""
