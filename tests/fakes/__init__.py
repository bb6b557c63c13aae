"""Test doubles for external services used by the Pulso test suite."""
