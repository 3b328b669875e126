#!/usr/bin/env bash
# Starts and stops a throw-away OCI registry (Debian's docker-registry, i.e. distribution 2.8)
# on loopback for the image-pull tests.
#
#   scripts/testregistry.sh start DIR [--auth USER:PASS] [--tls|--mtls]   # prints 127.0.0.1:PORT
#
# --tls serves HTTPS with a certificate for 127.0.0.1 from a throw-away CA (DIR/tls/ca.pem);
# --mtls also demands a client certificate from that CA (DIR/tls/client.pem, client-key.pem).
# Push over plain HTTP first, then restart the same DIR with --tls: the storage is kept.
#   scripts/testregistry.sh stop DIR
#
# Layout of DIR (created if missing):
#   config.yml    distribution config (version 0.1), regenerated on every start
#   htpasswd      bcrypt htpasswd file (only with --auth)
#   storage/      blob and manifest storage; kept across restarts so pushes are reused
#   registry.log  registry stdout/stderr (appended)
#   pid, port     process id and TCP port of the running registry
#
# Starting a DIR whose registry is still running stops that instance first, so "start" is
# idempotent. The registry listens on 127.0.0.1 only and never talks to the network.
set -euo pipefail

readonly REGISTRY_BIN=${STOCKADE_REGISTRY_BIN:-/usr/bin/docker-registry}
readonly READY_TIMEOUT_S=10
readonly STOP_TIMEOUT_S=10

die() { echo "testregistry: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR [--auth USER:PASS] [--tls|--mtls] | $0 stop DIR"; }

# True when the pid in DIR/pid belongs to a live docker-registry process (guards against a
# recycled pid after a reboot or a crash).
running_pid() {
  local dir=$1 pid comm
  [[ -f $dir/pid ]] || return 1
  pid=$(<"$dir/pid")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
  [[ $comm == docker-registry* ]] || return 1
  echo "$pid"
}

# Asks the kernel for a free loopback port (bind to port 0, read it back, release it).
free_port() {
  /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# HTTP status of GET /v2/, ignoring any proxy settings of the caller; "000" when unreachable.
v2_status() {
  local port=$1 tls=$2 dir=$3
  local -a args=(--noproxy '*' --silent --output /dev/null --max-time 2 --write-out '%{http_code}')
  local scheme=http
  if [[ -n $tls ]]; then
    scheme=https
    args+=(--cacert "$dir/tls/ca.pem")
    [[ $tls == mtls ]] && args+=(--cert "$dir/tls/client.pem" --key "$dir/tls/client-key.pem")
  fi
  curl "${args[@]}" "$scheme://127.0.0.1:$port/v2/" 2>/dev/null || true
}

# A CA, a server certificate for 127.0.0.1 and a client certificate, made once per DIR.
make_certs() {
  local tls=$1/tls
  [[ -f $tls/client.pem ]] && return 0
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=stockade test CA" \
    -keyout "$tls/ca-key.pem" -out "$tls/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$tls/server-key.pem" -out "$tls/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tls/server.ext"
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" \
    -CAcreateserial -days 30 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=stockade test client" \
    -keyout "$tls/client-key.pem" -out "$tls/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$tls/client.ext"
  openssl x509 -req -in "$tls/client.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca-key.pem" \
    -CAcreateserial -days 30 -extfile "$tls/client.ext" -out "$tls/client.pem" 2>/dev/null
}

cmd_stop() {
  local dir=$1 pid i
  if pid=$(running_pid "$dir"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
      [[ -d /proc/$pid ]] || break
      sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
      kill -KILL "$pid" 2>/dev/null || true
      while [[ -d /proc/$pid ]]; do sleep 0.1; done
    fi
  fi
  rm -f "$dir/pid" "$dir/port"
}

cmd_start() {
  local dir=$1 auth=${2-} tls=${3-} port pid status i user pass want

  if [[ -n $auth ]]; then
    [[ $auth == *:* ]] || die "--auth wants USER:PASS"
    user=${auth%%:*}   # split at the first colon; the password may contain colons
    pass=${auth#*:}
    [[ -n $user && -n $pass ]] || die "--auth wants a non-empty USER and PASS"
  fi

  mkdir -p "$dir/storage"
  dir=$(cd "$dir" && pwd)  # absolute: the config must not depend on the registry's cwd
  [[ $dir != *[\"\\]* ]] || die "DIR must not contain quotes or backslashes"
  [[ -x $REGISTRY_BIN ]] || die "$REGISTRY_BIN not found (apt-get install docker-registry)"
  cmd_stop "$dir"

  port=$(free_port)
  [[ -z $tls ]] || make_certs "$dir"

  # Distribution config, version 0.1. Notes on Debian's docker-registry 2.8:
  #  - /etc/docker/registry/config.yml is NOT read when a config path is given; every setting
  #    we rely on is spelled out here. REGISTRY_* environment variables would still override
  #    it, so they are cleared when the registry is started below.
  #  - http.secret is fixed to silence the "No HTTP secret provided" warning; it only signs
  #    upload state, and a single instance never shares it.
  #  - A missing htpasswd file would be created with a random "docker" user, so the file is
  #    always written before start.
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "  fields:"
    echo "    service: stockade-testregistry"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: \"$dir/storage\""
    echo "  delete:"
    echo "    enabled: true"
    echo "  cache:"
    echo "    blobdescriptor: inmemory"
    echo "http:"
    echo "  addr: 127.0.0.1:$port"
    echo "  secret: stockade-testregistry-secret"
    echo "  headers:"
    echo "    X-Content-Type-Options: [nosniff]"
    if [[ -n $tls ]]; then
      echo "  tls:"
      echo "    certificate: \"$dir/tls/server.pem\""
      echo "    key: \"$dir/tls/server-key.pem\""
      if [[ $tls == mtls ]]; then
        echo "    clientcas:"
        echo "      - \"$dir/tls/ca.pem\""
      fi
    fi
    if [[ -n $auth ]]; then
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: stockade-testregistry"
      echo "    path: \"$dir/htpasswd\""
    fi
  } >"$dir/config.yml"

  if [[ -n $auth ]]; then
    # -B bcrypt (the only hash distribution accepts), -b password from argv, -n to stdout.
    htpasswd -Bbn "$user" "$pass" | sed '/^$/d' >"$dir/htpasswd"
    want=401
  else
    rm -f "$dir/htpasswd"
    want=200
  fi

  # Detached from our stdio so callers capturing stdout (e.g. "$(testregistry.sh start ...)")
  # do not wait for the registry to exit. "env -u" drops every REGISTRY_* override variable.
  echo "=== $(date -u +%FT%TZ) start port $port" >>"$dir/registry.log"
  local -a unset_env=()
  local var
  for var in $(compgen -e); do
    [[ $var != REGISTRY_* ]] || unset_env+=(-u "$var")
  done
  env "${unset_env[@]}" \
    nohup "$REGISTRY_BIN" serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$dir/pid"
  echo "$port" >"$dir/port"

  for ((i = 0; i < READY_TIMEOUT_S * 10; i++)); do
    if [[ ! -d /proc/$pid ]]; then
      rm -f "$dir/pid" "$dir/port"
      tail -n 20 "$dir/registry.log" >&2
      die "docker-registry exited during startup (log: $dir/registry.log)"
    fi
    status=$(v2_status "$port" "$tls" "$dir")
    if [[ $status == "$want" ]]; then
      echo "127.0.0.1:$port"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$dir/registry.log" >&2
  cmd_stop "$dir"
  die "registry on port $port not ready after ${READY_TIMEOUT_S}s (last GET /v2/ status: ${status:-none}, wanted $want)"
}

(($# >= 2)) || usage
action=$1 dir=$2
shift 2
case $action in
  start)
    auth= tls=
    while (($#)); do
      case $1 in
        --auth) (($# >= 2)) || usage; auth=$2; shift 2 ;;
        --auth=*) auth=${1#--auth=}; shift ;;
        --tls) tls=tls; shift ;;
        --mtls) tls=mtls; shift ;;
        *) usage ;;
      esac
    done
    cmd_start "$dir" "$auth" "$tls"
    ;;
  stop)
    (($# == 0)) || usage
    [[ -d $dir ]] || exit 0
    cmd_stop "$(cd "$dir" && pwd)"
    ;;
  *) usage ;;
esac
