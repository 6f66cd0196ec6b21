"""Microsoft's own client as the referee of the emulator (issues 10 and 15).

Uploads through azure-monitor-ingestion and azure-identity (PyPI) to the emulator on 127.0.0.1:
a client-secret token (the SDK reads the OpenID configuration first), a managed-identity token,
the SDK's gzip and 1 MiB chunking of a 5 MB upload, its retries on 429 and 503, and its on_error
path on 413; and azure-monitor-query's LogsQueryClient asks the emulator's Log Analytics Query API
the gateway's exactly-once question (which of these sg_event_ids are in the table), and meets its
403 as Azure answers it without the Log Analytics Reader role. Every row the SDK sent must be
recorded exactly once. Exit 0 only when all hold.
"""
import collections
import json
import os
import random
import string
import sys
import urllib.request
import ssl

from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential, ManagedIdentityCredential
from azure.monitor.ingestion import LogsIngestionClient
from azure.monitor.query import LogsQueryClient, LogsQueryStatus

base, ca, record = sys.argv[1], sys.argv[2], sys.argv[3]
TENANT = "00000000-0000-0000-0000-0000000000aa"
CLIENT = "00000000-0000-0000-0000-0000000000bb"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def control(method, path, body=None):
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(base + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req, context=ctx) as r:
        data = r.read()
        return json.loads(data) if data else None


def recorded():
    counts = collections.Counter()
    with open(record) as f:
        for line in f:
            row = json.loads(line)["row"]
            counts[(row.get("run"), row.get("i"))] += 1
    return counts


secret = ClientSecretCredential(TENANT, CLIENT, "emulator-secret", authority=base,
                                disable_instance_discovery=True, connection_verify=ca)
client = LogsIngestionClient(endpoint=base, credential=secret, connection_verify=ca)

# 1. A 5 MB upload: the SDK gzips ~1 MiB chunks; the cap is on the compressed body.
rows = [{"run": "big", "i": i, "pad": "x" * 1000} for i in range(5000)]
client.upload(rule_id="dcr-1", stream_name="Custom-T_V1", logs=rows)
stats = control("GET", "/emulator/stats")
check(stats["requests"].get("413", 0) == 0, "no 413 for the SDK's gzipped 1 MiB chunks")
check(stats["requests"].get("204", 0) >= 5, "the 5 MB upload went as at least 5 requests")

# 2. Retries on 429 and 503 (azure-core's RetryPolicy), answered as Azure answers them.
for status in (429, 503):
    control("POST", "/emulator/faults", {"outage": {"status": status, "seconds": 1.5, "retry_after_s": 1}})
    client.upload(rule_id="dcr-1", stream_name="Custom-T_V1",
                  logs=[{"run": f"retry{status}", "i": i} for i in range(10)])
    control("DELETE", "/emulator/faults")
stats = control("GET", "/emulator/stats")
check(stats["requests"].get("429", 0) >= 1 and stats["requests"].get("503", 0) >= 1,
      "the SDK met a 429 and a 503 and retried past them")

# 3. on_error on 413: one row that stays over 1 MiB when compressed.
random.seed(7)
noise = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(1_600_000))
errors = []
client.upload(rule_id="dcr-1", stream_name="Custom-T_V1",
              logs=[{"run": "huge", "i": 0, "pad": noise}], on_error=errors.append)
check(len(errors) == 1 and isinstance(errors[0].error, HttpResponseError)
      and errors[0].error.status_code == 413, "on_error got the 413 of the oversized chunk")

# 4. A managed-identity token from the emulator's instance metadata endpoint (azure-identity's
# IMDS credential, its host moved from 169.254.169.254 by AZURE_POD_IDENTITY_AUTHORITY_HOST).
os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = base
mi = ManagedIdentityCredential(connection_verify=ca)
try:
    token = mi.get_token("https://monitor.azure.com/.default")
    check(bool(token.token), "a managed-identity token")
except Exception as e:  # noqa: BLE001 - the referee reports, it does not crash
    check(False, f"a managed-identity token: {e}")

# 5. The Log Analytics Query API through LogsQueryClient, with the query the gateway's exactly-once
# resolution sends (src/azure/query_client.cc): three of five ids were ingested.
WORKSPACE = "00000000-0000-0000-0000-000000000001"
ids = [f"citrix-risk/0/{i}" for i in range(5)]
client.upload(rule_id="dcr-1", stream_name="Custom-T_V1",
              logs=[{"run": "query", "i": i, "sg_event_id": ids[i]} for i in range(3)])
with open(record) as f:
    table = next(json.loads(line)["table"] for line in f if json.loads(line)["row"].get("run") == "query")
kql = (f"{table} | where TimeGenerated >= datetime(2026-01-01T00:00:00.000Z) | where sg_event_id in ("
       + ", ".join(f'"{i}"' for i in ids) + ") | project sg_event_id")
# Tokens for the Query API are asked for its own audience, as the gateway does.
query = LogsQueryClient(secret, endpoint=base, audience="https://api.loganalytics.io", connection_verify=ca)
try:
    answer = query.query_workspace(WORKSPACE, kql, timespan=None)
    found = {row[0] for row in answer.tables[0].rows} if answer.status == LogsQueryStatus.SUCCESS else None
    check(found == set(ids[:3]), f"LogsQueryClient found exactly the ingested ids ({found})")
except Exception as e:  # noqa: BLE001
    check(False, f"LogsQueryClient query: {e}")
control("POST", "/emulator/faults", {"deny_query": True})
try:
    query.query_workspace(WORKSPACE, kql, timespan=None)
    check(False, "a query without the Reader role is refused")
except HttpResponseError as e:
    check(e.status_code == 403, f"a query without the Reader role is refused with 403 ({e.status_code})")
control("DELETE", "/emulator/faults")

# Every row the SDK sent, recorded exactly once (the refused one never).
counts = recorded()
expected = [("big", i) for i in range(5000)] + [(f"retry{s}", i) for s in (429, 503) for i in range(10)]
expected += [("query", i) for i in range(3)]
check(all(counts[k] == 1 for k in expected), "every row sent recorded exactly once")
check(counts[("huge", 0)] == 0, "the refused row was not recorded")
check(sum(counts.values()) == len(expected), "nothing else was recorded")

sys.exit(1 if failures else 0)
