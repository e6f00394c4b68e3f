#!/usr/bin/env bash
# Stats queries side by side: wangge's maintained figures (bench/stats_bench) and the
# same figures computed by PostgreSQL 15 from the same cases (COPY, then btree, covering
# and BRIN indexes on the time of receipt), measured in one run on this machine.
#
# Usage: bench/stats_compare.sh [BUILD_DIR] [REPORTS]   (defaults: build 1000000)
# Env:   WANGGE_STATS_DIR  reuse or create the wangge data directory here
#        (default /tmp/wangge-stats-REPORTS)
#        PG_RUNS  runs per PostgreSQL query (default 10)
# Installs postgresql from Debian when it is missing (root).
set -euo pipefail

build=${1:-build}
reports=${2:-1000000}
data=${WANGGE_STATS_DIR:-/tmp/wangge-stats-$reports}
pg_port=18482
pg_runs=${PG_RUNS:-10}
bench="$build/bench/stats_bench"
source "$(dirname "$0")/pg.sh"
[[ -x $bench ]] || { echo "stats_compare: $bench is missing; build first" >&2; exit 2; }
[[ -x /usr/lib/postgresql/15/bin/postgres ]] || apt-get install -y -q postgresql >/dev/null

work=$(mktemp -d /tmp/wangge-stats-cmp.XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as its own user
cleanup() {
  pg_stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
if [[ ! -d $data ]]; then
  echo "== generating and importing $reports reports into $data"
  "$bench" make "$data" "$reports"
fi

echo "== wangge: GET /v1/stats equivalent (engine::QueryStats), 200 runs each, µs"
"$bench" run "$data" 2>/dev/null | grep '^BM_' |
  sed -E 's/^BM_Stats\/([a-z]+)\/([a-z]+)(\/[a-z]+)?\/iterations:200 .*p50_us=([0-9.k]+) p99_us=([0-9.k]+) rows=([0-9]+).*/\1 \2\3 p50=\4 p99=\5 rows=\6/'

echo "== PostgreSQL 15: the same cases"
"$bench" csv "$data" "$work/cases.csv"
# In time order, as a live table would be filled (BRIN depends on it).
sort -t, -k8,8 -o "$work/cases.csv" "$work/cases.csv"
chmod 644 "$work/cases.csv"
pg_start "$work/pg" $pg_port shared_buffers=1GB work_mem=64MB
"${psql[@]}" <<SQL
CREATE TABLE cases (id text, office text, village text, grid text, worker text,
  category text, status text, received_at timestamptz, deadline timestamptz,
  closed_at timestamptz, satisfaction int, reopens int, extensions int);
\copy cases FROM '$work/cases.csv' WITH (FORMAT csv)
VACUUM ANALYZE cases;
SQL
echo "rows: $("${psql[@]}" -tAc 'SELECT count(*) FROM cases')"

query() {  # GROUP-COLUMN FROM TO [FILTER-CONDITION]
  local key=$1 from=$2 to=$3 filter=${4:-} group=""
  [[ $key != "''" ]] && group="GROUP BY 1"
  cat <<SQL
SELECT $key AS key,
  count(*) FILTER (WHERE status <> 'cancelled') AS total,
  count(*) FILTER (WHERE status = 'closed') AS closed,
  count(*) FILTER (WHERE status = 'closed' AND closed_at <= deadline) AS on_time,
  count(*) FILTER (WHERE status NOT IN ('closed', 'cancelled')) AS open,
  avg(extract(epoch FROM closed_at - received_at) / 3600) FILTER (WHERE status = 'closed') AS mean_h,
  percentile_disc(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY closed_at - received_at)
    FILTER (WHERE status = 'closed') AS hours,
  count(*) FILTER (WHERE satisfaction >= 4)::float8
    / nullif(count(*) FILTER (WHERE satisfaction > 0), 0) AS satisfaction_rate
FROM cases WHERE received_at >= '$from 00:00+08' AND received_at < '$to 00:00+08' $filter $group;
SQL
}

run_all() {  # LABEL
  for key in "''" office village grid worker category; do
    for window in "month 2020-03-01 2020-04-01" "quarter 2020-04-01 2020-07-01" "year 2020-01-01 2021-01-01"; do
      set -- $window
      query "$key" "$2" "$3" >"$work/q.sql"
      echo "$LABEL ${key//\'\'/none} $1 avg_ms=$(pg_time)"
    done
  done
  # A year under the busiest value of a filter, as stats_bench picks it.
  for pair in "office grid" "office worker" "village worker" "category grid" "category worker"; do
    set -- $pair
    local value
    value=$("${psql[@]}" -tAc "SELECT $1 FROM cases WHERE status <> 'cancelled' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    query "$2" 2020-01-01 2021-01-01 "AND $1 = '$value'" >"$work/q.sql"
    echo "$LABEL $2 year/$1 avg_ms=$(pg_time)"
  done
}

pg_time() {  # mean latency of $work/q.sql in ms
  chmod 644 "$work/q.sql"
  runuser -u postgres -- pgbench -n -h 127.0.0.1 -p $pg_port -t "$pg_runs" -f "$work/q.sql" postgres 2>&1 |
    sed -n 's/latency average = \([0-9.]*\) ms/\1/p'
}

LABEL=seqscan run_all
"${psql[@]}" -c "CREATE INDEX by_time ON cases (received_at); ANALYZE cases;"
LABEL=btree run_all
"${psql[@]}" -c "DROP INDEX by_time" -c "CREATE INDEX covering ON cases (received_at) INCLUDE (office, village, grid, worker, category, status, deadline, closed_at, satisfaction)" -c "VACUUM ANALYZE cases"
LABEL=covering run_all
"${psql[@]}" -c "DROP INDEX covering" -c "CREATE INDEX brin_time ON cases USING brin (received_at)" -c "ANALYZE cases"
LABEL=brin run_all
