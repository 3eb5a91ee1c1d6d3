# Sourced by bench/ingress (COMPARE=on). Two reference servers that answer bench/ingress's POSTs
# with the ingress's fixed 200 and do nothing else, so its figure can be read against what this
# machine's HTTP stacks can do at all under the same load:
#
#   nginx       Debian's nginx, 2 workers, `return 200`: the server the issue quotes for its dev
#               machine (about 80,000/s there)
#   nio-floor   bench/http-floor: SwiftNIO's HTTP/1 server, the stack under junction-ingress, one
#               event loop per core: no verification, no Redis
#
# Needs $dir (a scratch folder). Sets $server to the running server's pid.

reference_setup() {
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    if [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
    else
      echo "bench: nginx is missing: sudo apt-get install nginx-light" >&2
      exit 1
    fi
  fi
  nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
  echo "bench: building bench/http-floor (release)…" >&2
  swift build -c release --package-path bench/http-floor --scratch-path .build-floor >/dev/null
  floor_bin="$(swift build -c release --package-path bench/http-floor --scratch-path .build-floor --show-bin-path)/http-floor"
}

reference_versions() {
  echo "nginx $("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///'), 2 workers, return 200; nio-floor: SwiftNIO HTTP/1, $(nproc) event loops, fixed 200"
}

# reference_start nginx|nio-floor PORT: starts it and waits until it answers.
reference_start() {
  local name=$1 port=$2
  case "$name" in
    nginx)
      mkdir -p "$dir/nginx"
      cat > "$dir/nginx/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/nginx/body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 '{"received":1,"enqueued":1}'; }
  }
}
CONF
      "$nginx_bin" -c "$dir/nginx/nginx.conf" -p "$dir/nginx" > "$dir/reference.log" 2>&1 &
      ;;
    nio-floor)
      "$floor_bin" "$port" > "$dir/reference.log" 2>&1 &
      ;;
  esac
  server=$!
  until curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/webhooks/stripe" 2>/dev/null; do
    kill -0 "$server" 2>/dev/null || { echo "bench: $name did not start" >&2; cat "$dir/reference.log" "$dir/nginx/error.log" 2>/dev/null >&2; exit 1; }
    sleep 0.05
  done
}

reference_stop() {
  if [ -n "${server:-}" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=; fi
}
