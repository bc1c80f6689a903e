"""Rapport: a telehealth video-session backend with a virtual waiting room."""

__version__ = "0.1.0"
