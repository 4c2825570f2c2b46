"""The terminal front end: ``upgrade-bot demo``, its printer and announcer, the leads who decide."""
