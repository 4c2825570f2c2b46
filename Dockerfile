# upgrade-bot: `upgrade-bot run` in Socket Mode. Build and run:
#   docker build -t upgrade-bot .
#   docker run --rm -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN -e UPGRADE_BOT_CONFIG=/config/config.yaml \
#     -v $PWD/config:/config:ro -v upgrade-bot-data:/data -p 8080:8080 upgrade-bot
# The store is /data/upgrade-bot.db (a volume: runs survive restarts); /healthz on port 8080,
# on every interface of the container (outside the image the default is loopback).
# `docker stop` sends SIGTERM: the bot stops taking requests, gives a step under way
# UPGRADE_BOT_STOP_GRACE seconds (5), releases the store's lease and exits 0: about 8 s with a
# step under way, at most about 12 s; `docker stop -t 15` leaves room (the default waits 10 s).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 bot && mkdir /data && chown bot /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY integrations integrations
COPY state state
RUN pip install .

USER bot
WORKDIR /data
ENV UPGRADE_BOT_DATABASE_URL=sqlite+aiosqlite:////data/upgrade-bot.db \
    UPGRADE_BOT_HEALTH_HOST=0.0.0.0 \
    UPGRADE_BOT_HEALTH_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"
ENTRYPOINT ["upgrade-bot", "run"]
