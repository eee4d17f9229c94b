"""The version of recogym, in one place."""

__version__ = "0.2.0"
