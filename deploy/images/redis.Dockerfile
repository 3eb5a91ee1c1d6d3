# Redis 7 from Debian 12, with deploy/redis.conf (AOF everysec, noeviction).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
COPY redis.conf /etc/redis/junction.conf
USER redis
WORKDIR /data
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --retries=10 CMD redis-cli ping | grep -q PONG
CMD ["redis-server", "/etc/redis/junction.conf", "--dir", "/data", "--bind", "0.0.0.0", "--protected-mode", "no"]
