# The MongoDB-wire stand-in for the local cluster: FerretDB v1.24.2's own command (static Go
# binary, SQLite handler) in an otherwise empty image. Context: a directory holding `ferretdb`
# (scripts/images/cluster/build-go.sh). FerretDB handles SIGTERM itself (PID 1 is fine: it
# forks nothing). Data and state go to /data/db, which must be a writable volume.
FROM scratch
COPY ferretdb /usr/local/bin/ferretdb
ENV FERRETDB_HANDLER=sqlite \
    FERRETDB_SQLITE_URL=file:/data/db/ \
    FERRETDB_STATE_DIR=/data/db \
    FERRETDB_LISTEN_ADDR=:27017 \
    FERRETDB_DEBUG_ADDR=127.0.0.1:8088 \
    FERRETDB_TELEMETRY=disable \
    FERRETDB_LOG_FORMAT=json \
    FERRETDB_TEST_ENABLE_NEW_AUTH=true \
    TMPDIR=/tmp
USER 999:999
EXPOSE 27017
ENTRYPOINT ["/usr/local/bin/ferretdb"]
