"""Pulso daemon: settings, storage, scheduling, pipeline, detection, alerts and CLI."""

__version__ = "0.1.0"
