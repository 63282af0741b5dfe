"""The open document, Qt-free: :class:`Session` (dataset, provenance, analyses, kept fits, undo stack).

Every user action on the document is a :class:`~mixgui.session.commands.Command` on the session's
:class:`~mixgui.session.commands.UndoStack`; :mod:`mixgui.session.files` opens and saves it
(data, analysis files, projects) and :mod:`mixgui.session.project` holds the project format and the
recovery copies.
"""
from mixgui.session.commands import Command, UndoStack
from mixgui.session.document import (
    ANALYSES,
    ANALYSIS,
    CURRENT,
    DATASET,
    LOADED,
    VARIABLES,
    Analysis,
    KeptResult,
    Session,
)

__all__ = ["ANALYSES", "ANALYSIS", "CURRENT", "DATASET", "LOADED", "VARIABLES", "Analysis", "Command", "KeptResult",
           "Session", "UndoStack"]
