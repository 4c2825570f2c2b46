"""Test helpers: builders, fakes and real-server fixtures."""
