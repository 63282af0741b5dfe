"""Light, calm styling: the system font, generous spacing and one accent colour.

Fusion with a light palette looks the same on Windows, macOS and Linux (and offscreen), so
screenshots in the README match what users see. Colours are named once here.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from mixgui.gui.wheel_guard import WheelGuard
from mixgui.gui.wheel_guard import install as install_wheel_guard

ACCENT = "#2f6db5"        # the one accent colour: buttons, selection, focus
ACCENT_DARK = "#255a96"
TEXT = "#1f2933"
MUTED = "#6b7785"         # secondary text: pane headers, footnotes
BORDER = "#d9dee5"
BACKGROUND = "#f6f7f9"    # window
SURFACE = "#ffffff"       # panes, tables
ERROR = "#b3261e"
WARNING_BG = "#fff4d6"    # amber box next to a table
WARNING_BORDER = "#e8b73a"
WARNING_TEXT = "#5c4300"

STYLE_SHEET = f"""
QMainWindow, QDialog {{ background: {BACKGROUND}; }}
QWidget#pane {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 6px; }}
QLabel#paneTitle {{ color: {MUTED}; font-weight: 600; letter-spacing: 1px; }}
QLabel#paneSubtitle {{ color: {TEXT}; font-weight: 600; }}
QLabel#muted, QLabel#footnote {{ color: {MUTED}; }}
QLabel#formulaError {{ color: {ERROR}; }}
QLabel#sectionLabel {{ color: {TEXT}; font-weight: 600; }}
QLabel#tableTitle {{ color: {TEXT}; font-weight: 600; font-size: 11pt; }}
QLabel#warningBox {{
    background: {WARNING_BG}; border: 1px solid {WARNING_BORDER}; border-radius: 4px;
    color: {WARNING_TEXT}; padding: 6px 8px;
}}
QLabel#message {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-left: 4px solid {ERROR};
    border-radius: 4px; padding: 10px 12px; color: {TEXT};
}}
QLabel#updating {{
    background: #e8f0fa; border: 1px solid #b9cfea; border-radius: 4px; padding: 6px 10px; color: {ACCENT_DARK};
}}
QLabel#tableTitle:disabled, QLabel#footnote:disabled, QLabel#message:disabled {{ color: #a3acb7; }}
QLabel#warningBox:disabled {{ color: #a89a70; background: #fbf7ea; border-color: #eadcae; }}
QScrollArea#results {{ background: {SURFACE}; border: none; }}
QWidget#resultsBody {{ background: {SURFACE}; }}
QScrollArea#builderScroll {{ background: {SURFACE}; border: none; }}
QWidget#builderBody {{ background: {SURFACE}; }}
QTableView {{
    background: {SURFACE}; gridline-color: #edf0f3; border: 1px solid {BORDER}; border-radius: 4px;
    selection-background-color: #d6e4f5; selection-color: {TEXT};
}}
QTableView:disabled {{ color: #a3acb7; }}
QHeaderView::section:disabled {{ color: #a3acb7; }}
QPushButton:disabled {{ color: #a3acb7; }}
QHeaderView::section {{
    background: #f1f3f6; color: {TEXT}; border: none; border-bottom: 1px solid {BORDER};
    border-right: 1px solid #e6e9ee; padding: 4px 8px; font-weight: 600;
}}
QListWidget {{ background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 4px; }}
QListWidget::item {{ padding: 3px 4px; }}
QListWidget::item:selected {{ background: #d6e4f5; color: {TEXT}; }}
QLineEdit, QComboBox {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 4px; padding: 5px 7px;
}}
QLineEdit:focus, QComboBox:focus {{ border: 1px solid {ACCENT}; }}
QLineEdit[invalid="true"] {{ border: 1px solid {ERROR}; }}
QPushButton {{
    background: {SURFACE}; border: 1px solid {BORDER}; border-radius: 4px; padding: 5px 12px;
}}
QPushButton:hover {{ border-color: {ACCENT}; }}
QPushButton#primary {{
    background: {ACCENT}; color: white; border: 1px solid {ACCENT_DARK}; font-weight: 600; padding: 7px 22px;
}}
QPushButton#primary:hover {{ background: {ACCENT_DARK}; }}
QPushButton#primary:disabled {{ background: #9fb8d8; border-color: #9fb8d8; }}
QPushButton#copy {{ padding: 2px 10px; color: {ACCENT_DARK}; }}
QPushButton#small {{ padding: 2px 10px; }}
QFrame#rule {{ background: {BORDER}; border: none; max-height: 1px; min-height: 1px; }}
QPushButton#copy:disabled {{ color: #a3acb7; }}
QSplitter::handle {{ background: {BACKGROUND}; }}
QStatusBar {{ background: {SURFACE}; border-top: 1px solid {BORDER}; color: {TEXT}; }}
QStatusBar QLabel {{ padding: 0 6px; }}
QProgressBar {{
    border: 1px solid {BORDER}; border-radius: 4px; background: {BACKGROUND}; max-height: 12px; text-align: center;
}}
QProgressBar::chunk {{ background: {ACCENT}; border-radius: 3px; }}
QRadioButton, QCheckBox {{ spacing: 6px; }}
"""


def light_palette() -> QPalette:
    """A light palette with the accent colour for highlights."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: SURFACE,
        QPalette.ColorRole.AlternateBase: "#f8f9fb",
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: SURFACE,
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#ffffff",
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: MUTED,
        QPalette.ColorRole.Link: ACCENT,
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#a3acb7"))
    return pal


def apply_style(app: QApplication) -> None:
    """Fusion + light palette + the style sheet; the font stays the system's."""
    app.setStyle("Fusion")
    app.setPalette(light_palette())
    app.setStyleSheet(STYLE_SHEET)
    if app.findChild(WheelGuard) is None:  # the wheel never changes a setting the user did not click
        install_wheel_guard(app)
