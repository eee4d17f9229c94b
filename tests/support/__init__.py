"""Shared helpers of the test suite (on sys.path through tests/conftest.py)."""
