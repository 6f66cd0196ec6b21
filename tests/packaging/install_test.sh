#!/usr/bin/env bash
# Issue 13's proof that the package runs as shipped. It builds the .deb from this build tree,
# installs it with apt-get, and runs the installed unit's ExecStartPre and ExecStart lines the way
# systemd runs them: as the sentinel-gateway user, with $CREDENTIALS_DIRECTORY holding the two
# secrets (LoadCredential=), $STATE_DIRECTORY=/var/lib/sentinel-gateway (StateDirectory=, so the
# spool is /var/lib/sentinel-gateway/spool), UMask=0077 and no new privileges. The gateway consumes
# from a real Kafka broker over SASL_SSL/SCRAM (tools/kafka-broker.sh) and delivers to the Sentinel
# emulator exactly once. Then `apt-get remove` keeps the spool, `apt-get purge` refuses while the
# spool holds pending events and says why, and a forced purge deletes it.
#
# Why not systemd: test machines (containers) run without systemd as PID 1, so `systemctl start`
# cannot run the unit. The unit's own settings are checked by `systemd-analyze verify`
# (SystemdUnit.VerifiesWithTheInstallPrefixsPaths); here its command lines run with the same user,
# directories and environment.
#
#   install_test.sh SOURCE_DIR BUILD_DIR        exit 0 pass, 1 fail, 77 skipped (says why)
set -euo pipefail
src="$1"
build="$2"
bin="$build/bin"

say() { echo "install-test: $*"; }
skip() { echo "install-test: SKIPPED: $*"; exit 77; }
fail() { echo "install-test: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "needs root (apt-get install, the service user); run the suite as root"
for tool in apt-get dpkg-query cpack setpriv kcat java; do
  command -v "$tool" >/dev/null || skip "needs $tool"
done
for prog in sentinel-gateway sentinel-spool sentinel-emulator kafka-probe; do
  [ -x "$bin/$prog" ] || skip "needs $bin/$prog (build it first)"
done
if dpkg-query -W -f='${db:Status-Status}' sentinel-gateway 2>/dev/null | grep -qv '^not-installed$'; then
  skip "sentinel-gateway is already installed here; this test installs and purges its own copy" \
       "(apt-get purge sentinel-gateway to let it run)"
fi
if [ "$(cat /proc/1/comm 2>/dev/null)" = "systemd" ]; then
  say "systemd is PID 1 here, but the test still runs the unit's command lines itself (see the header)"
fi

started=$(date +%s)
work=$(mktemp -d /tmp/sg-install-test.XXXXXX)
chmod 0755 "$work"
apt=(apt-get -y -q -o DPkg::Lock::Timeout=120)
gateway_pid="" emulator_pid="" broker_started=""
# Purging keeps the system user (Debian's practice); the test removes the one it made.
had_user=""; getent passwd sentinel-gateway >/dev/null && had_user=1

cleanup() {
  local rc=$?
  [ -z "$gateway_pid" ] || { kill -KILL "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; }
  [ -z "$emulator_pid" ] || { kill -TERM "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; }
  [ -z "$broker_started" ] || "$src/tools/kafka-broker.sh" stop "$work/broker" >/dev/null 2>&1 || true
  if dpkg-query -W -f='${db:Status-Status}' sentinel-gateway 2>/dev/null | grep -qv '^not-installed$'; then
    SENTINEL_GATEWAY_PURGE_FORCE=1 DEBIAN_FRONTEND=noninteractive "${apt[@]}" purge sentinel-gateway \
      >"$work/cleanup-purge.log" 2>&1 || echo "install-test: cleanup purge failed, see $work/cleanup-purge.log" >&2
  fi
  if [ -z "$had_user" ] && getent passwd sentinel-gateway >/dev/null; then
    userdel sentinel-gateway 2>/dev/null || true
    ! getent group sentinel-gateway >/dev/null || groupdel sentinel-gateway 2>/dev/null || true
  fi
  rm -f /etc/sentinel-gateway/kafka-ca.pem /etc/sentinel-gateway/emulator-ca.pem
  rmdir /etc/sentinel-gateway 2>/dev/null || true
  if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "install-test: kept $work for inspection" >&2; fi
}
trap cleanup EXIT

# Polls a command until it succeeds, for at most $1 seconds.
wait_for() {
  local seconds=$1; shift
  local deadline=$(( $(date +%s) + seconds ))
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2  # poll interval, not a synchronisation
  done
}

# 1. The package, from this build tree's install rules.
say "building the package"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
deb=$(ls "$work"/pkg/sentinel-gateway_*_amd64.deb)
say "$(basename "$deb"): $(stat -c %s "$deb") bytes"
if command -v lintian >/dev/null; then
  # No errors; the warnings left are listed in the README with their reasons.
  lintian --fail-on error --tag-display-limit 0 "$deb" >"$work/lintian.log" 2>&1 \
    || { cat "$work/lintian.log"; fail "lintian reports errors"; }
  say "lintian: $(grep -c '^[EW]:' "$work/lintian.log" || true) errors and warnings; $(grep -c '^E:' "$work/lintian.log" || true) errors"
  sed 's/^/install-test:   /' "$work/lintian.log"
fi

# 2. apt-get install, and what the install leaves behind.
DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "$deb" >"$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "apt-get install $deb"; }
for f in /usr/bin/sentinel-gateway /usr/bin/sentinel-spool /etc/sentinel-gateway/gateway.toml \
         /usr/lib/sysusers.d/sentinel-gateway.conf /usr/lib/tmpfiles.d/sentinel-gateway.conf \
         /usr/share/doc/sentinel-gateway/azure/README.md; do
  [ -e "$f" ] || fail "the package did not install $f"
done
dpkg-query -W -f='${Conffiles}\n' sentinel-gateway | grep -q '^ /etc/sentinel-gateway/gateway.toml ' \
  || fail "/etc/sentinel-gateway/gateway.toml is not a conffile"
unit=$(dpkg -L sentinel-gateway | grep '/systemd/system/sentinel-gateway.service$') || fail "no unit in the package"
getent passwd sentinel-gateway >/dev/null || fail "postinst did not create the sentinel-gateway user"
[ "$(stat -c '%a %U' /var/lib/sentinel-gateway)" = "700 sentinel-gateway" ] \
  || fail "/var/lib/sentinel-gateway is $(stat -c '%a %U' /var/lib/sentinel-gateway), not 700 sentinel-gateway"
if command -v man >/dev/null; then
  man -w sentinel-gateway >/dev/null && man -w sentinel-spool >/dev/null || fail "man pages not found by man"
fi
say "installed: $unit, user sentinel-gateway, /var/lib/sentinel-gateway 0700"

# 3. A real broker and the emulator.
say "starting a Kafka broker"
KAFKA_PROBE="$bin/kafka-probe" KAFKA_BROKER_WATCH_PID=$$ \
  "$src/tools/kafka-broker.sh" start "$work/broker" >"$work/broker.facts" 2>"$work/broker.err" \
  || { cat "$work/broker.err"; fail "tools/kafka-broker.sh start"; }
broker_started=1
fact() { tr ' ' '\n' <"$work/broker.facts" | sed -n "s/^$1=//p" | head -n 1; }
plaintext=$(fact plaintext) sasl=$(fact sasl_ssl) kafka_user=$(fact username)
install -m 0644 "$(fact ca)" /etc/sentinel-gateway/kafka-ca.pem

client_secret="pkg-test-client-secret-$RANDOM$RANDOM"
"$bin/sentinel-emulator" --listen 127.0.0.1:0 --tls-dir "$work/emulator-tls" --record "$work/rows.jsonl" \
  --client-secret "$client_secret" --no-rate-limits >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
wait_for 30 grep -q '^listening=' "$work/emulator.out" || fail "the emulator did not start: $(cat "$work/emulator.err")"
emulator_url=$(sed -n 's/^listening=\([^ ]*\) .*/\1/p' "$work/emulator.out")
install -m 0644 "$(sed -n 's/.* ca=//p' "$work/emulator.out")" /etc/sentinel-gateway/emulator-ca.pem

# 4. The secrets as systemd hands them over: a directory only the service user reads, one file each.
creds="$work/credentials"
install -d -m 0500 -o sentinel-gateway -g sentinel-gateway "$creds"
install -m 0400 -o sentinel-gateway -g sentinel-gateway "$(fact password_file)" "$creds/sentinel-gateway.kafka-password"
printf '%s\n' "$client_secret" >"$work/client-secret"
install -m 0400 -o sentinel-gateway -g sentinel-gateway "$work/client-secret" "$creds/sentinel-gateway.client-secret"

# The installed example, completed for this broker and emulator; its secrets stay credentials and
# [spool] path stays unset (the unit's $STATE_DIRECTORY decides).
cat >/etc/sentinel-gateway/gateway.toml <<EOF
[kafka]
brokers = "$sasl"
topic = "citrix-risk"
group_id = "sentinel-gateway-pkg-test"
security_protocol = "SASL_SSL"
sasl_mechanism = "SCRAM-SHA-256"
username = "$kafka_user"
password_credential = "sentinel-gateway.kafka-password"
ca_file = "kafka-ca.pem"
commit_interval = "200ms"

[sentinel]
endpoint = "$emulator_url"
login_endpoint = "$emulator_url"
ca_file = "emulator-ca.pem"
tenant_id = "00000000-0000-0000-0000-0000000000aa"
client_id = "00000000-0000-0000-0000-0000000000bb"
client_secret_credential = "sentinel-gateway.client-secret"
dcr_immutable_id = "dcr-pkg-test"

[delivery]
linger = "50ms"

[metrics]
listen = "127.0.0.1:0"
EOF
chmod 0644 /etc/sentinel-gateway/gateway.toml

# The unit's lines, as installed.
exec_start_pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$exec_start_pre" ] && [ -n "$exec_start" ] || fail "$unit lacks ExecStartPre= or ExecStart="
# What systemd gives the unit's processes: User=/Group=, NoNewPrivileges=, the environment of
# StateDirectory=, ConfigurationDirectory= and LoadCredential=.
service=(setpriv --reuid=sentinel-gateway --regid=sentinel-gateway --init-groups --no-new-privs
         env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
         HOME=/var/lib/sentinel-gateway USER=sentinel-gateway LOGNAME=sentinel-gateway
         STATE_DIRECTORY=/var/lib/sentinel-gateway CONFIGURATION_DIRECTORY=/etc/sentinel-gateway
         "CREDENTIALS_DIRECTORY=$creds")
as_service() { "${service[@]}" "$@"; }
start_gateway() {  # the unit's ExecStart with its UMask=; its words split as systemd splits them
  # shellcheck disable=SC2086
  ( umask 0077; exec "${service[@]}" $exec_start ) >>"$work/gateway.log" 2>&1 &
  gateway_pid=$!
}
stop_gateway() {
  kill -TERM "$gateway_pid"
  local rc=0
  wait "$gateway_pid" || rc=$?
  gateway_pid=""
  [ "$rc" -eq 0 ] || { tail -n 30 "$work/gateway.log"; fail "the gateway exited $rc on SIGTERM"; }
}

# ExecStartPre: validates quietly, prints nothing (the journal would get it on every start).
# shellcheck disable=SC2086
pre_out=$(as_service $exec_start_pre 2>&1) || fail "ExecStartPre failed: $pre_out"
[ -z "$pre_out" ] || fail "ExecStartPre printed: $pre_out"
if grep -rqF "$client_secret" "$work"/*.log 2>/dev/null; then fail "a secret reached a log"; fi

produce() {  # produce FIRST COUNT: events with seq FIRST.., through the PLAINTEXT listener
  seq "$1" $(( $1 + $2 - 1 )) | awk '{printf "{\"tenant_id\":\"pkg\",\"entity_id\":\"user%d@pkg.example\",\"entity_type\":\"user\",\"event_type\":\"riskScoreChange\",\"timestamp\":\"2026-12-01T00:00:00Z\",\"seq\":%d}\n", $1 % 10, $1}' \
    | kcat -P -q -b "$plaintext" -t citrix-risk -X topic.request.required.acks=-1 \
    || fail "kcat could not produce"
}
delivered_rows() { [ -f "$work/rows.jsonl" ] && wc -l <"$work/rows.jsonl" || echo 0; }
rows_at_least() { [ "$(delivered_rows)" -ge "$1" ]; }
spool_stats() { as_service /usr/bin/sentinel-spool --spool /var/lib/sentinel-gateway/spool --json stats; }
pending_is() { spool_stats 2>/dev/null | grep -q "\"pending_events\":$1,"; }

# 5. Consume and deliver exactly once.
events=1000
say "running the unit's ExecStart as sentinel-gateway: $exec_start"
start_gateway
produce 0 "$events"
wait_for 90 rows_at_least "$events" || { tail -n 30 "$work/gateway.log"; fail "$(delivered_rows) of $events rows delivered"; }
wait_for 30 pending_is 0 || fail "the spool still holds events after delivery: $(spool_stats)"
stop_gateway
seqs=$(sed -n 's/.*"row":{.*"seq":\([0-9][0-9]*\).*/\1/p' "$work/rows.jsonl" | sort -n)
[ "$(echo "$seqs" | wc -l)" -eq "$events" ] || fail "$(echo "$seqs" | wc -l) rows for $events events"
[ "$seqs" = "$(seq 0 $(( events - 1 )))" ] || fail "delivered seqs are not 0..$(( events - 1 )) once each: duplicates $(echo "$seqs" | uniq -d | head -n 5 | tr '\n' ' ')"
[ "$(stat -c %U /var/lib/sentinel-gateway/spool)" = "sentinel-gateway" ] || fail "the spool is not the service user's"
if find /var/lib/sentinel-gateway ! -user sentinel-gateway | grep -q .; then fail "root-owned files in the spool"; fi
if grep -qF "$client_secret" "$work/gateway.log"; then fail "the client secret reached the gateway's log"; fi
say "delivered $events events exactly once (spool /var/lib/sentinel-gateway/spool, stopped cleanly)"

# 6. Events pending: Azure (the emulator) gone, more events spooled.
kill -TERM "$emulator_pid"; wait "$emulator_pid" || fail "the emulator did not stop cleanly"; emulator_pid=""
pending=200
start_gateway
produce "$events" "$pending"
wait_for 60 pending_is "$pending" || fail "the spool does not hold the $pending new events: $(spool_stats)"
stop_gateway
say "$pending events pending in the spool"

# 7. remove keeps the spool.
DEBIAN_FRONTEND=noninteractive "${apt[@]}" remove sentinel-gateway >"$work/remove.log" 2>&1 \
  || { cat "$work/remove.log"; fail "apt-get remove"; }
[ ! -e /usr/bin/sentinel-gateway ] || fail "apt-get remove left /usr/bin/sentinel-gateway"
[ -d /var/lib/sentinel-gateway/spool ] || fail "apt-get remove deleted the spool"
grep -q "\"pending_events\":$pending," /var/lib/sentinel-gateway/.spool-at-removal \
  || fail "prerm did not record $pending pending events: $(cat /var/lib/sentinel-gateway/.spool-at-removal* 2>&1)"
say "apt-get remove: spool kept ($(du -sh /var/lib/sentinel-gateway/spool | cut -f1))"

# 8. purge refuses while events are pending, and says why.
if DEBIAN_FRONTEND=noninteractive "${apt[@]}" purge sentinel-gateway >"$work/purge.log" 2>&1; then
  cat "$work/purge.log"; fail "apt-get purge deleted a spool holding $pending pending events"
fi
grep -q "its spool holds $pending pending and 0 failed events not delivered to Microsoft Sentinel" "$work/purge.log" \
  || { cat "$work/purge.log"; fail "purge's refusal does not say why"; }
grep -q "SENTINEL_GATEWAY_PURGE_FORCE=1" "$work/purge.log" || fail "purge's refusal does not say how to force it"
[ -d /var/lib/sentinel-gateway/spool ] || fail "the refused purge deleted the spool"
say "apt-get purge refused: $(grep -m1 'not purging' "$work/purge.log")"

# 9. Forced purge.
SENTINEL_GATEWAY_PURGE_FORCE=1 DEBIAN_FRONTEND=noninteractive "${apt[@]}" purge sentinel-gateway \
  >"$work/purge-forced.log" 2>&1 || { cat "$work/purge-forced.log"; fail "forced purge"; }
[ ! -e /var/lib/sentinel-gateway ] || fail "forced purge left /var/lib/sentinel-gateway"
[ ! -e /etc/sentinel-gateway/gateway.toml ] || fail "purge left the conffile"
getent passwd sentinel-gateway >/dev/null || fail "purge deleted the system user"
say "forced purge: /var/lib/sentinel-gateway deleted, user kept"
say "passed in $(( $(date +%s) - started )) s"
