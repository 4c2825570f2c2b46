"""The benchmarks: each script prints its table with a baseline measured in the same run.

``python -m benchmarks.all`` runs every one and writes its table into ``docs/benchmarks.md``.
"""
