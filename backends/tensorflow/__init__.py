"""TensorFlow behind the backend interface: ``adapter`` (the Backend), ``lenet`` (its native Keras
LeNet), ``plain_loop`` (the idiomatic training loop the benchmarks time as the yardstick), ``probes``
(what native calls do differently) and ``environment.toml`` (what its environment installs).
Importing this package does not import TensorFlow."""
