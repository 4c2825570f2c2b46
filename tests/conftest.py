"""Fixtures for every test directory: the store's databases (SQLite, and PostgreSQL)."""

pytest_plugins = ["tests.support.databases"]
