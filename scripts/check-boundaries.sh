#!/usr/bin/env bash
# Fails when a module includes what docs/architecture.md forbids: rules/ and storage/
# use only engine/core/ of engine/ and never each other or ingest/; engine/ never
# includes ingest/; third-party types stay in their module.
set -u
cd "$(dirname "$0")/.."
bad=0
check() {  # check DIR PATTERN WHY
  local hits
  hits=$(grep -rnE "$2" "$1" --include='*.h' --include='*.cc' | grep -v 'engine/core/' || true)
  if [ -n "$hits" ]; then echo "$3:"; echo "$hits"; bad=1; fi
}
check rules   '#include "(engine|storage|ingest)/' "rules/ includes engine/, storage/ or ingest/"
check storage '#include "(engine|rules|ingest)/'  "storage/ includes engine/, rules/ or ingest/"
check engine  '#include "ingest/'                  "engine/ includes ingest/"
for dir in engine rules ingest; do
  check "$dir" '#include <rocksdb/' "RocksDB outside storage/"
done
for dir in engine rules storage; do
  check "$dir" '#include <boost/' "Boost outside ingest/"
done
for dir in engine storage; do
  check "$dir" '#include <simdjson' "simdjson outside ingest/ and rules/"
done
[ "$bad" -eq 0 ] && echo "module boundaries: OK"
exit "$bad"
