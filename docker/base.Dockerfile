# The base every service image starts from: Debian bookworm's own Python 3.11, its venv
# module, tini as PID 1 and the Debian CA bundle; nothing else.
#
#   docker build -f docker/base.Dockerfile -t chatbot/python-base:3.11-bookworm docker/
#
# DEBIAN_IMAGE is any bookworm root filesystem: the registry's debian:bookworm-slim, or the
# one scripts/images/build-base.sh makes with debootstrap where no registry is reachable.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv tini ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
      /usr/share/doc/* /usr/share/man/* /usr/share/info/* \
 && groupadd --gid 10001 app \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin app
