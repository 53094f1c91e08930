"""The config layer: Hydra composition of ``conf/`` and the builder that turns plain specs into pipelines.

Only this package imports Hydra and OmegaConf; everything below it sees plain dicts. Submodules:
``schema`` (``base_<group>`` dataclasses), ``hydra_app`` (``python -m synthgen``), ``build``
(``build_pipeline``: plain spec -> Pipeline), ``params`` (``--param`` overrides), ``execute``
(run, save, summarise). Nothing is imported here so that ``--help`` stays fast.
"""
