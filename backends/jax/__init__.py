"""JAX behind the backend interface: ``adapter`` (the Backend), ``ops`` (the ops as pure functions,
shared with the LeNet), ``lenet`` (its LeNet from those ops), ``plain_loop`` (the idiomatic training
loop the benchmarks time as the yardstick), ``probes`` (what native calls do differently) and
``environment.toml`` (what its environment installs). Importing this package does not import JAX."""
