# cosell: a small runtime image with the release binary, running as an unprivileged user.
#
#   docker build -t cosell .
#   docker run -p 8080:8080 -v cosell-data:/data -e COSELL_JWT_SECRET=... cosell
#
# The default database is SQLite in the /data volume; set COSELL_DATABASE_URL to a
# PostgreSQL URL to share one database between instances (see compose.yaml).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY entity entity
COPY migration migration
COPY src src
COPY benches benches
COPY schema.graphql README.md ./
# The registry and the build directory are cached between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin cosell \
    && install -m 0755 target/release/cosell /usr/local/bin/cosell

FROM debian:bookworm-slim
# CA certificates for HTTPS to an identity provider's key set; nothing else is installed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin cosell \
    && mkdir -p /data && chown cosell /data
COPY --from=build /usr/local/bin/cosell /usr/local/bin/cosell
USER 10001
WORKDIR /data
VOLUME ["/data"]
ENV COSELL_LISTEN=0.0.0.0:8080 \
    COSELL_DATABASE_URL=sqlite:///data/cosell.db \
    COSELL_LOG_FORMAT=json
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["cosell"]
CMD ["serve"]
