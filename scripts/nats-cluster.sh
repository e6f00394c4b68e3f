#!/usr/bin/env bash
# Starts or stops a 3-node NATS JetStream cluster on loopback, for trying cluster mode
# and for bench/cluster_load.sh (docs/scale-out.md). Not for production: one machine
# holds all three replicas.
# Usage: scripts/nats-cluster.sh start DIR [CLIENT_PORT]   (nodes on PORT, PORT+1, PORT+2)
#        scripts/nats-cluster.sh stop DIR
set -euo pipefail
cmd=${1:?start or stop}
dir=${2:?directory}
port=${3:-4222}
case "$cmd" in
  start)
    mkdir -p "$dir"
    routes=""
    for i in 0 1 2; do routes+="nats://127.0.0.1:$((port + 100 + i)),"; done
    for i in 0 1 2; do
      cat > "$dir/n$i.conf" <<CONF
server_name: n$i
listen: 127.0.0.1:$((port + i))
jetstream { store_dir: "$dir/n$i" }
cluster { name: wangge, listen: 127.0.0.1:$((port + 100 + i)), routes: [${routes%,}] }
CONF
      nats-server -c "$dir/n$i.conf" -l "$dir/n$i.log" -P "$dir/n$i.pid" >/dev/null 2>&1 &
    done
    # JetStream needs a meta leader before streams can be created.
    for _ in $(seq 100); do
      if grep -q "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" "$dir"/n*.log 2>/dev/null; then
        echo "nats://127.0.0.1:$port,nats://127.0.0.1:$((port + 1)),nats://127.0.0.1:$((port + 2))"
        exit 0
      fi
      sleep 0.1
    done
    echo "nats-cluster: no JetStream leader after 10 s; see $dir/n*.log" >&2
    exit 1
    ;;
  stop)
    for f in "$dir"/n*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
    ;;
  *) echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2 ;;
esac
