"""gpuxla's benchmark harness: `python -m bench` (CLI) and `pytest bench/ --benchmark-only`.

`bench.workloads` holds the workloads (written once for a JAX-like module pair and once for a
NumPy-like module) and the implementations they run on; `bench.harness` holds timing, the table,
the JSON lines and the chart.
"""
