"""MixGUI: linear mixed models by pointing and clicking, with numbers that agree with R."""

__version__ = "0.1.0"
