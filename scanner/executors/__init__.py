"""Executors other than the default thread pool (``scanner.runner.LocalExecutor``).

An executor runs the planned targets somewhere and hands each finished
:class:`scanner.runner.TargetOutcome` back to the driver, which spools it.
``scanner.executors.dask`` sends account shards to a Dask cluster
(``--executor dask``, extra ``orgscan[dask]``); it is imported only when asked for.
"""
