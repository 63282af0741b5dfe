"""From an analysis and a dataset to a result: the one entry point the window and ``mixgui fit`` share.

``run(spec, dataset, progress) -> FitResult`` (:mod:`mixgui.pipeline.run`) calls the engine
(:mod:`~mixgui.pipeline.contract` for linear and mixed models, :mod:`~mixgui.pipeline.glmm` for
generalized ones, :mod:`~mixgui.pipeline.additional` and :mod:`~mixgui.pipeline.repeated` for the
further sections), renders the tables and computes the figures' data
(:mod:`~mixgui.pipeline.figures`); :mod:`~mixgui.pipeline.compare` compares finished analyses.
Everything here runs in the worker thread; :mod:`mixgui.results` only holds and renders.
"""
from __future__ import annotations

from mixgui.pipeline.run import check_columns, refuse_unsupported, run

__all__ = ["run", "check_columns", "refuse_unsupported"]
