# Redis for the local cluster: Debian bookworm's redis-server (7.0) on the debootstrap base.
# Context: an empty directory (scripts/images/cluster/build-all.sh). The chart starts it with
# `sh -c "exec redis-server ..."`, so redis-server is PID 1 and handles SIGTERM itself.
ARG DEBIAN_IMAGE=chatbot/debian-minbase:bookworm
FROM ${DEBIAN_IMAGE}
# uid 999 as in the official image (the chart's securityContext runs as 999).
RUN groupadd -r -g 999 redis \
 && useradd -r -u 999 -g redis -d /data -s /usr/sbin/nologin redis \
 && apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
 && install -d -o 999 -g 999 -m 0700 /data
USER 999:999
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no", "--dir", "/data"]
