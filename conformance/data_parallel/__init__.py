"""Data-parallel LeNet, checked step by step against the backend's own single-process run.

- :mod:`~conformance.data_parallel.job`: what the ranks get (states, batches) and give back, in
  ``.npz`` files of a job folder; how a global batch is split;
- :mod:`~conformance.data_parallel.worker`: the loop each rank runs around its framework's replica;
- :mod:`~conformance.data_parallel.launcher`: starts the ranks, ends the run with an error naming
  the rank that died or hung, and leaves no process behind;
- :mod:`~conformance.data_parallel.check`: the single-process run, the per-step bound, the
  comparisons, the results record;
- ``python -m conformance.data_parallel``: the command line (``results/ddp-<backend>.json``).

Each framework's part is ``backends/<framework>/data_parallel.py``: ``commands(processes, folder)``
(the processes to start) and, run as a module, one rank.
"""
