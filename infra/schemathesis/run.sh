#!/usr/bin/env bash
# Tests the management API of a running local stack against infra/openapi.yaml with
# schemathesis (`make test` runs it after the Go tests):
#
#   1. builds the dev binary and starts the local stack (its own moto) on a free loopback port
#      with a fixed API key, and waits for GET /healthz;
#   2. makes the data that operations on one resource need: instance `xxx` (the id the spec's
#      examples use) with webhooks going to the stack itself, where they fail fast, and a few
#      logged webhooks. Their ids are bound to the instanceId and webhookId parameters as
#      schemathesis dictionaries, drawn half the time in positive cases, so those operations
#      reach a real resource as often as a made-up one (schemathesis also reuses the ids the
#      API answers with, such as a created instance's);
#   3. runs every check of every phase with a fixed seed and a bounded number of examples, with
#      infra/schemathesis/hooks.py loaded (see there: the rules of the API the schema can't
#      express, each verified there, never a check turned off);
#   4. stops the stack whatever happens, and exits non-zero when schemathesis found anything.
#
# Environment: ST_MAX_EXAMPLES (default 50: about 25 s on 2 cores) and ST_SEED (default 1)
# change the run; arguments are passed on to `st run`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

st=$root/.venv/schemathesis/bin/st
python=$root/.venv/schemathesis/bin/python
moto_python=$root/.venv/moto/bin/python
for tool in "$st" "$python" "$moto_python"; do
	[[ -x $tool ]] || { echo "run.sh: $tool is missing; run make tools" >&2; exit 2; }
done

key=wgk_schemathesis
max_examples=${ST_MAX_EXAMPLES:-50}
seed=${ST_SEED:-1}

work=$(mktemp -d)
stack_pid=

stop() {
	local rc=$?
	if [[ -n $stack_pid ]] && kill -0 "$stack_pid" 2>/dev/null; then
		kill -TERM "$stack_pid" 2>/dev/null || true
		# The stack stops its workers and moto within 5 s; give it a little more, then force it.
		for _ in $(seq 80); do
			kill -0 "$stack_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$stack_pid" 2>/dev/null; then
			echo "run.sh: the stack did not stop; killing it" >&2
			kill -KILL "$stack_pid" 2>/dev/null || true
		fi
		wait "$stack_pid" 2>/dev/null || true
	fi
	if ((rc != 0)) && [[ -s $work/stack.log ]]; then
		echo "--- the local stack's log (last 40 lines) ---" >&2
		tail -n 40 "$work/stack.log" >&2
	fi
	rm -rf "$work"
	exit "$rc"
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go build -o .bin/wagate-dev ./infra/dev

# start_stack: starts the stack on a port the kernel says is free and waits until it is
# ready. Returns 1 when another process took the port first (then the caller tries another).
start_stack() {
	port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	url=http://127.0.0.1:$port
	# WAGATE_WEBHOOK_TIMEOUT: the test route sends to the URLs schemathesis makes up; none
	# answers here, and a short timeout keeps an address that neither answers nor refuses from
	# costing 10 s. WAGATE_STATE_FILE: a developer's own `make dev` keeps its .wagate/dev.env.
	WAGATE_ADDR=127.0.0.1:$port WAGATE_API_KEY=$key WAGATE_MOTO_PYTHON=$moto_python WAGATE_WEBHOOK_TIMEOUT=2s \
		WAGATE_STATE_FILE=$work/dev.env .bin/wagate-dev >"$work/stack.log" 2>&1 &
	stack_pid=$!
	local i
	for ((i = 0; ; i++)); do
		if ! kill -0 "$stack_pid" 2>/dev/null; then
			wait "$stack_pid" 2>/dev/null || true
			stack_pid=
			if grep -q 'address already in use' "$work/stack.log"; then
				return 1
			fi
			echo "run.sh: the local stack exited before it was ready" >&2
			exit 1
		fi
		if [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/healthz" || true) == 200 ]]; then
			return 0
		fi
		if ((i >= 600)); then
			echo "run.sh: the local stack was not ready within 60 s" >&2
			exit 1
		fi
		sleep 0.1
	done
}
for attempt in 1 2 3; do
	start_stack && break
	if ((attempt == 3)); then
		echo "run.sh: three free ports were taken before the stack could listen on them" >&2
		exit 1
	fi
done

# api METHOD PATH [BODY]: one API call that must succeed; prints the answer.
api() {
	curl -sS --fail-with-body -X "$1" "$url$2" -H "X-API-Key: $key" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
# Webhooks to the stack's own health route fail at once (POST is not served there), which is
# what the retry and recover routes need: failed webhooks.
api POST /api/instance "{\"instanceId\":\"xxx\",\"name\":\"schemathesis\",\"webhookUrl\":\"$url/healthz\"}" >/dev/null
# Instance xxx waits to be paired, as the session host records it when WhatsApp hands it a QR
# code (no WhatsApp here), so GET /api/instance/{instanceId}/qr reaches a real code.
endpoint=$(grep -oE 'AWS endpoint +http://[^ ]+' "$work/stack.log" | awk '{print $3}')
"$moto_python" - "$endpoint" "wagate-dev-$port-InstancesTable" <<'PY'
import datetime
import sys
import boto3
endpoint, table = sys.argv[1], sys.argv[2]
db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
# As the session host stores a connection's codes: WhatsApp shows the first for 60 s and each
# next for 20 s, so 60 codes last the whole run (about 20 minutes).
issued = datetime.datetime.now(datetime.timezone.utc).isoformat()
db.update_item(
    TableName=table, Key={"instanceId": {"S": "xxx"}},
    UpdateExpression="SET #s = :s, qrCodes = :codes, qrIssuedAt = :issued",
    ExpressionAttributeNames={"#s": "status"},
    ExpressionAttributeValues={":s": {"S": "qr"}, ":issued": {"S": issued},
                               ":codes": {"L": [{"S": f"2@schemathesis,pairing,{n}"} for n in range(60)]}},
)
PY
webhook_ids=()
for body in '{"instanceId":"xxx"}' '{"instanceId":"xxx"}' "{\"url\":\"$url/healthz\"}"; do
	webhook_ids+=("$(api POST /api/webhook/test "$body" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["data"]["webhookId"])')")
done

# A recover window that keeps the rules the schema can't express (see hooks.py): the last
# hour, the last day, and up to now. Drawn half the time, so recovers get past validation.
now_s=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }
since_values=("$(iso $((now_s - 3600)))" "$(iso $((now_s - 86400)))")
until_values=("$(iso "$now_s")")

toml_list() {
	local out= v
	for v in "$@"; do out+="\"$v\", "; done
	echo "[${out%, }]"
}
cat >"$work/schemathesis.toml" <<EOF
hooks = "$root/infra/schemathesis/hooks.py"

[cache]
enabled = false

[generation]
database = "none"

# A warning (operations that only ever got 404s for want of data, a schema most of whose
# generated data the API rejects, ...) fails the run like a failed check.
[warnings]
fail-on = true

[dictionaries.instanceIds]
values = $(toml_list xxx)

[dictionaries.webhookIds]
values = $(toml_list "${webhook_ids[@]}")

[dictionaries.since]
values = $(toml_list "${since_values[@]}")

[dictionaries.until]
values = $(toml_list "${until_values[@]}")

[parameters]
"path.instanceId" = { dictionary = "instanceIds", probability = 0.5 }
"query.instanceId" = { dictionary = "instanceIds", probability = 0.5 }
"body.instanceId" = { dictionary = "instanceIds", probability = 0.5 }
"path.webhookId" = { dictionary = "webhookIds", probability = 0.5 }
"body.since" = { dictionary = "since", probability = 0.5 }
"body.until" = { dictionary = "until", probability = 0.5 }
EOF

"$st" --config-file "$work/schemathesis.toml" run infra/openapi.yaml \
	--url "$url" -H "X-API-Key: $key" \
	--checks all --max-examples "$max_examples" --seed "$seed" \
	--workers 1 --request-timeout 30 --no-color "$@"
