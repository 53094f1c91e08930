"""The ``synthgen`` console script: ``run``, ``pipeline run|info|draw``, ``plugins``, ``cache ...``."""
