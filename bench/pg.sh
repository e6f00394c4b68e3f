# PostgreSQL 15 on loopback for the side-by-side benchmarks; sourced, not run.
# pg_start DIR PORT [SETTING ...]  initdb DIR as the postgres user and start it on
#                                  127.0.0.1:PORT with each SETTING passed as -c
# pg_stop DIR                      stop it (for an EXIT trap; quiet when not running)
# After pg_start, "${psql[@]}" runs psql against it.
pg_bin=/usr/lib/postgresql/15/bin

pg_start() {
  local dir=$1 port=$2 settings=""
  shift 2
  for s in "$@"; do settings+=" -c $s"; done
  mkdir -p "$dir" && chown postgres "$dir" && chmod 700 "$dir"
  runuser -u postgres -- "$pg_bin/initdb" -D "$dir" -A trust -E UTF8 >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1$settings" start >/dev/null
  psql=(runuser -u postgres -- psql -q -h 127.0.0.1 -p "$port" -d postgres -v ON_ERROR_STOP=1)
}

pg_stop() {
  if [[ -f $1/postmaster.pid ]]; then
    runuser -u postgres -- "$pg_bin/pg_ctl" -D "$1" -m fast stop >/dev/null || true
  fi
}
