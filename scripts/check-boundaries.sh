#!/usr/bin/env bash
# Fails when a folder includes what the folder table of docs/architecture.md forbids.
# Each folder may include itself and the folders in its row; nothing includes cli/;
# third-party types stay in the folders that own them. Run by ctest (ModuleBoundaries).
set -u
cd "$(dirname "$0")/.."

# folder: the project folders it may include (besides itself). Keep in step with
# docs/architecture.md and with each folder's CMakeLists.txt (DEPS).
declare -A allowed=(
  [core]=""
  [storage]="core"
  [rules]="core"
  [engine]="core storage rules"
  [audit]="core storage rules engine"
  [wire]="core storage rules engine audit"
  [ingest]="core storage rules engine audit wire"
  [cluster]="core storage rules engine wire"
  [io]="core storage rules engine audit wire"
  [cli]="core storage rules engine audit wire ingest cluster io"
)
folders="core storage rules engine audit wire ingest cluster io cli"

bad=0
report() {  # report WHY HITS
  [ -z "$2" ] && return
  echo "$1:"
  echo "$2"
  bad=1
}

for folder in $folders; do
  [ -d "$folder" ] || { echo "missing folder $folder"; bad=1; continue; }
  ok="$folder ${allowed[$folder]}"
  hits=$(grep -rnoE '#include "[a-z_]+/' "$folder" --include='*.h' --include='*.cc' |
    while IFS= read -r line; do
      target=${line##*#include \"}
      target=${target%/}
      case " $ok " in *" $target "*) ;; *) echo "$line" ;; esac
    done)
  report "$folder/ includes a folder its row does not allow (allowed: ${allowed[$folder]:-none})" "$hits"
done

# Third-party headers, in the folders that own them.
third_party() {  # third_party PATTERN "FOLDERS ALLOWED" WHAT
  local folder hits
  for folder in $folders; do
    case " $2 " in *" $folder "*) continue ;; esac
    hits=$(grep -rnE "$1" "$folder" --include='*.h' --include='*.cc' || true)
    report "$3 in $folder/" "$hits"
  done
}
third_party '#include <rocksdb/' "storage" "RocksDB"
third_party '#include <boost/' "rules wire ingest cluster io cli" "Boost"
# rules/ may use Boost.Geometry alone (the geography's polygons and R-tree).
report "Boost other than Boost.Geometry in rules/" \
  "$(grep -rnE '#include <boost/' rules --include='*.h' --include='*.cc' |
       grep -v '#include <boost/geometry' || true)"
third_party '#include <simdjson' "rules wire ingest cluster io" "simdjson"
third_party '#include <nats' "cluster" "the NATS client"
third_party '#include <CLI/' "cli" "CLI11"

# One writer: nothing outside engine/, audit/ and storage/ opens a store, writes to one or
# scans its families (the engine's API and audit's functions do).
for folder in wire ingest cluster io cli; do
  hits=$(grep -rnE 'Store::Open|WriteSet|\.store\(\)|->store\(\)' "$folder" \
           --include='*.h' --include='*.cc' || true)
  report "$folder/ reaches into the store" "$hits"
done

[ "$bad" -eq 0 ] && echo "module boundaries: OK ($folders)"
exit "$bad"
