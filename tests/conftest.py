"""Shared fixtures. Server fixtures live in tests/server/conftest.py."""
