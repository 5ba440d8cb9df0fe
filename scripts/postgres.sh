# A private PostgreSQL server for the scripts here (sourced, not run): installs Debian's postgresql-15 once if its
# binaries are missing, and runs a server as a non-root user on a free loopback port in a folder of its own.
# Needs the caller to define fail() (print a message and exit). Sets: pg_bin_dir, pg_dir, pg_port.

pg_find_bin() {
  local dir
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
  done
  return 1
}

# PostgreSQL refuses to run as root, so as root it runs as the 'postgres' user.
run_pg() { "$@"; }
if [ "$(id -u)" -eq 0 ]; then
  run_pg() { runuser -u postgres -- "$@"; }
fi

pg_install() {
  if pg_bin_dir=$(pg_find_bin); then return 0; fi
  echo "PostgreSQL server not found; installing postgresql-15" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2 || fail "could not install postgresql-15"
  else
    sudo -n apt-get update -qq >&2 && sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >&2 \
      || fail "PostgreSQL is missing and cannot be installed without root: apt-get install postgresql-15"
  fi
  pg_bin_dir=$(pg_find_bin) || fail "postgresql-15 installed but initdb was not found"
}

pg_port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port below the kernel's ephemeral range, so an outgoing connection cannot be holding the one chosen.
pg_pick_port() {
  local candidate low
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  for _ in $(seq 1 50); do
    candidate=$(( 15000 + RANDOM % (low > 16000 ? low - 15000 : 15000) ))
    if pg_port_is_free "$candidate"; then echo "$candidate"; return 0; fi
  done
  return 1
}

# pg_start EXTRA_SERVER_OPTIONS: a new data folder and a running server; pg_port and pg_dir tell where.
pg_start() {
  local options=${1:-}
  [ "$(id -u)" -eq 0 ] && { id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres; }
  pg_dir=$(mktemp -d /tmp/orleanscrm-pg.XXXXXX)
  chmod 755 "$pg_dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
  run_pg "$pg_bin_dir/initdb" -D "$pg_dir/data" -A trust -U postgres -E UTF8 --no-locale >"$pg_dir/initdb.log" 2>&1 \
    || { cat "$pg_dir/initdb.log" >&2; fail "initdb failed"; }
  # A port can still be taken between the check and the bind: try a few.
  for _ in 1 2 3 4 5; do
    pg_port=$(pg_pick_port) || fail "no free loopback port found for PostgreSQL"
    if run_pg "$pg_bin_dir/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
        -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c max_connections=400 $options" start >&2; then
      return 0
    fi
    echo "PostgreSQL could not start on port $pg_port; trying another" >&2
  done
  cat "$pg_dir/server.log" >&2
  fail "PostgreSQL did not start"
}

pg_stop() {
  [ -n "${pg_dir:-}" ] || return 0
  run_pg "$pg_bin_dir/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1
  rm -rf "$pg_dir"
}
