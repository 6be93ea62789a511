"""Divergence probes, one module per framework (see :mod:`reporting.divergences`)."""
