# Sourced by the bench scripts that drive one CRM node from outside (wrk-ingest.sh, wrk-view.sh, import.sh): starts a silo with its
# gateway (a Release build) on the embedded SQLite default or on a private PostgreSQL at default durability, and stops
# everything on exit. The caller sets root, kind (sqlite|postgres), silo_dll and say/fail, and may set pg_options
# (extra server settings). After node_start: port, key (the administrator key), work (a scratch folder) and, on
# PostgreSQL, pg_port and psql "SQL".

node_start() { # name (for the cluster id and the scratch folder)
  [ -f "$silo_dll" ] || fail "$silo_dll not found: dotnet build -c Release silo"
  work=$(mktemp -d "/tmp/orleanscrm-$1.XXXXXX")
  port=$(( 20000 + RANDOM % 20000 ))
  key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  node_pid=""
  pg_port=""
  trap node_stop EXIT INT TERM

  export CRM_CLUSTERID=$1-$port CRM_GATEWAY__ADMINKEY=$key CRM_GATEWAY__REQUESTSPERMINUTE=10000000
  export CRM_SILO__SILOPORT=$(( port + 1 )) CRM_SILO__GATEWAYPORT=$(( port + 2 )) CRM_LOG__LEVEL=Warning
  if [ "$kind" = postgres ]; then
    source "$root/scripts/postgres.sh"
    pg_install
    pg_start "${pg_options:-}"
    export CRM_STORAGE__KIND=postgres CRM_STORAGE__CONNECTIONSTRING="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=orleanscrm"
  else
    export CRM_STORAGE__KIND=sqlite CRM_STORAGE__CONNECTIONSTRING="Data Source=$work/crm.db"
  fi

  (cd "$work" && exec dotnet "$silo_dll" --config "$root/cluster.json" --gateway:urls="http://127.0.0.1:$port") >"$work/silo.log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break; sleep 1; done
  curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null || { tail -20 "$work/silo.log" >&2; fail "the CRM did not become ready"; }
}

psql() { "$pg_bin_dir/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d orleanscrm -Atc "$1"; }

node_stop() {
  trap - EXIT INT TERM
  [ -n "${node_pid:-}" ] && { kill -TERM "$node_pid" 2>/dev/null; wait "$node_pid" 2>/dev/null; }
  [ -n "${pg_port:-}" ] && pg_stop
  rm -rf "$work"
}
