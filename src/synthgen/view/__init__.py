"""``synthgen view``: a local, read-only web app over the cache (runs, rows, charts, costs).

Modules: ``runs`` (pipeline folders, run status, live counts), ``rows`` (a leaf's dataset a page at a
time), ``stats`` (histograms and tokens), ``prices`` (the cost table), ``svg`` (charts and the DAG),
``cells`` (values as HTML), ``explain`` (``cache explain`` per step), ``pages`` (page contexts),
``server`` (the aiohttp app) and ``command`` (the CLI entry). It sits beside ``synthgen.cli``: it reads
the files the runner writes and imports nothing above the runner.
"""
