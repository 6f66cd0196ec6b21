#!/usr/bin/env bash
# A real Apache Kafka broker for end-to-end tests: one KRaft node (broker + controller) on
# 127.0.0.1 with a PLAINTEXT listener and a SASL_SSL listener (SCRAM-SHA-256 and SCRAM-SHA-512,
# certificate from a test CA this script generates).
#
#   tools/kafka-broker.sh [--version V] fetch        fetch Kafka V's jars with Maven into target/kafka-libs-V
#   tools/kafka-broker.sh [--version V] start DIR    format DIR, start a Kafka V broker, print its facts (below)
#   tools/kafka-broker.sh stop DIR       stop it (SIGTERM, then SIGKILL after 20 s); leaves nothing running
#   tools/kafka-broker.sh restart DIR    stop it and run it again on its data, ports, credentials and version
#
# The Kafka version: --version V, else $KAFKA_VERSION, else pom.xml's kafka.version (e.g.
# KAFKA_VERSION=3.9.1 tools/kafka-broker.sh start DIR). Each version's jars have their own
# directory, target/kafka-libs-V.
# `start` prints, one per line, once the broker answers on both listeners:
#   plaintext=127.0.0.1:PORT  sasl_ssl=127.0.0.1:PORT  ca=DIR/tls/ca.pem
#   other_ca=DIR/tls/other-ca.pem (a CA that did not sign the broker, for negative tests)
#   username=sg-test  password_file=DIR/scram-password (0600)  kafka_version=V  pid=PID
# The same lines are kept in DIR/broker.env. Broker log: DIR/broker.log.
# With KAFKA_BROKER_WATCH_PID=PID in the environment, `start` also leaves a watchdog that stops
# the broker when that process ends (a test runner killed on a timeout leaves no broker behind).
# Readiness probe: the project's kafka-probe ($KAFKA_PROBE, else build/bin/kafka-probe), built
# against the project's librdkafka (>= 2.6.1): Debian's kcat links librdkafka 2.0.2, which Kafka
# 4.x refuses over SCRAM.
# Needs: java (17+), mvn (first fetch of a version only), openssl, kafka-probe.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
jvm=(-Xms256m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)
user="sg-test"

die() { echo "kafka-broker: $*" >&2; exit 1; }

version="${KAFKA_VERSION:-}"
if [ "${1:-}" = "--version" ]; then
  [ $# -ge 2 ] || die "--version needs a Kafka version"
  version="$2"; shift 2
fi
if [ -z "$version" ]; then
  version=$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$root/pom.xml" | head -n 1)
fi
# restart runs the version the broker was formatted with.
if [ "${1:-}" = "restart" ] && [ $# -eq 2 ] && [ -f "$2/kafka-version" ]; then version=$(cat "$2/kafka-version"); fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a Kafka version: '$version'"
libs="$root/target/kafka-libs-$version"
probe="${KAFKA_PROBE:-$root/build/bin/kafka-probe}"

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch Kafka's jars)"
  mkdir -p "$root/target"
  # Tests start brokers in parallel: one fetch at a time.
  (
    flock 9
    if [ ! -f "$libs/.complete" ]; then
      rm -rf "$libs"
      (cd "$root" && mvn -q -B dependency:copy-dependencies -Dkafka.version="$version") >&2 \
        || die "maven could not fetch Kafka $version's jars"
      ls "$libs"/kafka_2.13-"$version".jar >/dev/null 2>&1 || die "no kafka_2.13-$version jar in $libs"
      touch "$libs/.complete"
    fi
  ) 9>"$root/target/.kafka-fetch.lock"
}

free_port() {
  # Ask the kernel for an unused port (bind to port 0) where python3 exists; otherwise pick a
  # random high port that nothing listens on.
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    return
  fi
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
  done
}

make_tls() {
  local d="$1/tls" pass="$2"
  mkdir -p "$d"
  chmod 700 "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sentinel-gateway test CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=some other CA" \
    -keyout "$d/other-ca.key" -out "$d/other-ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$d/broker.key" -out "$d/broker.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > "$d/ext.cnf"
  openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/ext.cnf" -out "$d/broker.pem" 2>/dev/null
  openssl pkcs12 -export -in "$d/broker.pem" -inkey "$d/broker.key" -certfile "$d/ca.pem" \
    -name broker -passout "pass:$pass" -out "$d/broker.p12"
}

start() {
  local dir="$1"
  command -v java >/dev/null || die "java not found"
  [ -x "$probe" ] || die "no readiness probe at $probe (cmake --build --preset release --target kafka-probe, or set KAFKA_PROBE)"
  if [ -f "$dir/broker.pid" ] && kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null; then
    die "a broker already runs from $dir (pid $(cat "$dir/broker.pid"))"
  fi
  fetch
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  rm -rf "$dir/data" "$dir/tls"
  echo "$version" > "$dir/kafka-version"
  local plain sasl ctrl store_pass scram_pass
  plain=$(free_port); sasl=$(free_port); ctrl=$(free_port)
  store_pass=$(openssl rand -hex 16)
  scram_pass=$(openssl rand -hex 16)
  make_tls "$dir" "$store_pass"
  (umask 077; printf '%s' "$scram_pass" > "$dir/scram-password")

  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$ctrl
listeners=PLAINTEXT://127.0.0.1:$plain,SASL_SSL://127.0.0.1:$sasl,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=PLAINTEXT://127.0.0.1:$plain,SASL_SSL://127.0.0.1:$sasl
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$dir/tls/broker.p12
ssl.keystore.password=$store_pass
ssl.key.password=$store_pass
log.dirs=$dir/data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
  chmod 600 "$dir/server.properties"

  local cp="$libs/*"
  local cluster_id
  cluster_id=$(java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$dir/broker.log" | tail -1)
  java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=$user,password=$scram_pass]" \
    --add-scram "SCRAM-SHA-512=[name=$user,password=$scram_pass]" >>"$dir/broker.log" 2>&1 \
    || { tail -20 "$dir/broker.log" >&2; die "formatting the KRaft storage failed"; }
  launch "$dir"
}

# Runs the broker of a formatted DIR (same ports, data and credentials), waits until it serves
# both listeners, prints its facts.
launch() {
  local dir="$1"
  local cp="$libs/*"
  local plain sasl
  plain=$(sed -n 's|^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*|\1|p' "$dir/server.properties")
  sasl=$(sed -n 's|^listeners=.*SASL_SSL://127.0.0.1:\([0-9]*\),.*|\1|p' "$dir/server.properties")
  # setsid: the broker gets its own session, so stop can signal it without touching our caller.
  setsid java "${jvm[@]}" -cp "$cp" kafka.Kafka "$dir/server.properties" >>"$dir/broker.log" 2>&1 < /dev/null &
  local pid=$!
  echo "$pid" > "$dir/broker.pid"

  # Ready when metadata over PLAINTEXT lists the broker and SASL_SSL answers a client logged in
  # with each SCRAM mechanism.
  local deadline=$((SECONDS + 90)) ok="" why=""
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$pid" 2>/dev/null || { tail -30 "$dir/broker.log" >&2; die "the broker exited during start"; }
    if why=$("$probe" -b "127.0.0.1:$plain" -t 2000 2>&1); then
      local m ready=1
      for m in SCRAM-SHA-256 SCRAM-SHA-512; do
        why=$("$probe" -b "127.0.0.1:$sasl" -t 3000 -X security.protocol=SASL_SSL -X sasl.mechanisms=$m \
                -X sasl.username="$user" --password-file "$dir/scram-password" \
                -X ssl.ca.location="$dir/tls/ca.pem" 2>&1) || { ready=""; break; }
      done
      if [ -n "$ready" ]; then ok=1; break; fi
    fi
    sleep 0.5  # polling the broker's readiness with a deadline
  done
  if [ -z "$ok" ]; then
    tail -30 "$dir/broker.log" >&2
    echo "kafka-broker: last probe: $why" >&2
    stop "$dir"
    die "the broker did not become ready within 90 s"
  fi
  if [ -n "${KAFKA_BROKER_WATCH_PID:-}" ]; then
    local watch="$KAFKA_BROKER_WATCH_PID"
    setsid bash -c 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -0 "$1" 2>/dev/null || exec "$3" stop "$4"' \
      watchdog "$watch" "$pid" "$root/tools/kafka-broker.sh" "$dir" </dev/null >/dev/null 2>&1 &
  fi
  {
    echo "plaintext=127.0.0.1:$plain"
    echo "sasl_ssl=127.0.0.1:$sasl"
    echo "ca=$dir/tls/ca.pem"
    echo "other_ca=$dir/tls/other-ca.pem"
    echo "username=$user"
    echo "password_file=$dir/scram-password"
    echo "kafka_version=$(cat "$dir/kafka-version")"
    echo "pid=$pid"
  } | tee "$dir/broker.env"
}

stop() {
  local dir="$1"
  [ -f "$dir/broker.pid" ] || return 0
  local pid
  pid=$(cat "$dir/broker.pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 20))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "kafka-broker: pid $pid ignored SIGTERM for 20 s, killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  rm -f "$dir/broker.pid"
}

case "${1:-}" in
  fetch) fetch ;;
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  restart) [ $# -eq 2 ] || die "usage: $0 restart DIR"; stop "$2"; launch "$(cd "$2" && pwd)" ;;
  *) echo "usage: $0 [--version V] fetch | [--version V] start DIR | stop DIR | restart DIR" >&2; exit 2 ;;
esac
