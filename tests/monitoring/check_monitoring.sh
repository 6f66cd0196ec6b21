#!/usr/bin/env bash
# The monitoring an operations team drops in (config/monitoring) works with this gateway:
#  1. promtool accepts the alerting rules, and their unit tests (each alert fires on the series
#     that should raise it, none on a healthy gateway) pass;
#  2. the Grafana dashboard is valid JSON with panels and queries;
#  3. every sg_* metric the rules and the dashboard query is one the gateway exports (its
#     /metrics writers in src/gateway), so a renamed metric cannot leave an alert silent.
# Exit 77 (skipped) when promtool is missing: tools/setup.sh installs it (Debian's prometheus).
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$src/config/monitoring"
command -v promtool >/dev/null || { echo "promtool not found (apt-get install prometheus)"; exit 77; }
promtool check rules "$dir/sentinel-gateway.rules.yml"
(cd "$dir" && promtool test rules sentinel-gateway.rules.test.yml)
python3 - "$dir/sentinel-gateway.dashboard.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
assert d["panels"] and all(exprs), "a dashboard without panels or with an empty query"
print(f"dashboard: {len(d['panels'])} panels, {len(exprs)} queries")
PY
exported=$(grep -rhoE '"sg_[a-z_]+' "$src/src/gateway" | tr -d '"' | sed -E 's/_(bucket|count|sum)$//' | sort -u)
used=$(grep -hoE 'sg_[a-z_]+' "$dir/sentinel-gateway.rules.yml" "$dir/sentinel-gateway.dashboard.json" \
  | sed -E 's/_(bucket|count|sum)$//' | sort -u)
missing=0
for m in $used; do
  if ! grep -qx "$m" <<<"$exported"; then echo "not exported by the gateway: $m"; missing=1; fi
done
[ "$missing" -eq 0 ] && echo "every metric the rules and the dashboard use is exported ($(wc -w <<<"$used") names)"
exit "$missing"
