"""Runs as text: the timeline, each event described, the Markdown report for the logbook.

Pure functions of a run and its events; shared by the terminal, the summary the bot posts at
the end of a run, and ``upgrade-bot report``.
"""
