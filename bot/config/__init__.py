"""What the bot is told: the environment's settings, the configuration file, sites, procedure file.

Pure reading and checking of configuration; no I/O but reading files. Every other part of the
bot receives these models, already checked.
"""
