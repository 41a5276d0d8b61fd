# HAProxy Ingress v0.14.0 (github.com/jcmoraisjr/haproxy-ingress, Apache-2.0) driving Debian
# bookworm's haproxy 2.6, like upstream's image (which uses haproxy:2.4-alpine). Context: the
# directory written by scripts/images/cluster/build-go.sh (controller binary + upstream rootfs).
# dumb-init is PID 1: it forwards SIGTERM to the controller, which stops haproxy through
# /haproxy-shutdown.sh (run by bash: upstream's `set -o pipefail` is not POSIX sh, which
# Debian's dash refuses, leaving haproxy running until the kubelet's SIGKILL).
ARG DEBIAN_IMAGE=chatbot/debian-minbase:bookworm
FROM ${DEBIAN_IMAGE}
# The package's haproxy user gets uid/gid 1001, as in upstream's image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends haproxy socat openssl lua5.3 lua-json dumb-init \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /etc/haproxy/haproxy.cfg \
 && groupmod -g 1001 haproxy \
 && usermod -u 1001 -g 1001 haproxy
COPY rootfs/ /
COPY LICENSE /usr/share/doc/haproxy-ingress/LICENSE
COPY haproxy-ingress-controller /haproxy-ingress-controller
RUN install -d -o 1001 -g 1001 /etc/haproxy /var/lib/haproxy /var/run/haproxy \
 && chmod 0755 /start.sh /haproxy-reload.sh /haproxy-shutdown.sh \
 && sed -i '1s|^#!/bin/sh$|#!/bin/bash|' /haproxy-reload.sh /haproxy-shutdown.sh
USER 1001:1001
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/dumb-init", "--", "/start.sh"]
