"""The lab: benchmarks (``digitize bench`` and the scripts beside them) and the generators
of test pages and photos. Nothing here runs in a worker."""
