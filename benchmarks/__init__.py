"""pytest-benchmark suites: the reference and every backend, per op and for LeNet."""
