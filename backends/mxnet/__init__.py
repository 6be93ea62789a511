"""MXNet behind the backend interface: ``adapter`` (the Backend), ``ops`` (MXNet imported quietly and
the ops the adapter composes), ``lenet`` (its native Gluon LeNet), ``plain_loop`` (the idiomatic
training loop the benchmarks time as the yardstick), ``probes`` (what native calls do differently)
and ``environment.toml`` (what its environment installs). Importing this package does not import MXNet."""
