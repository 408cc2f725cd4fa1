#!/usr/bin/env bash
# Tests the management API of a running local stack against infra/openapi.yaml with
# schemathesis (`make test` runs it after the Go tests):
#
#   1. builds the dev binary and starts the local stack (its own moto) on a free loopback port
#      with a fixed API key, and waits for GET /healthz;
#   2. makes the data that operations on one resource need, so that every operation reaches
#      its core logic in every phase, whatever the seed:
#      - instances `xxx` (the id the spec's examples use) and `schemathesis`, with webhooks
#        going to the stack itself, where they fail fast, and a few logged webhooks;
#      - a stand-in session host (standin_host.py) holding both instances: it records them
#        waiting to be paired, with QR codes, and answers their pairing requests with a code,
#        which the local stack's own host, with no WhatsApp, can't;
#      - two background jobs (job_fixture.py), one running and one complete, for GET
#        /api/webhook/jobs/{jobId};
#      - instances only the destructive operations (DELETE /api/instance/{instanceId}, DELETE
#        /api/webhook/logs) are given, so that they delete those rather than the others'
#        fixtures. The examples phase still deletes `xxx` (its examples say so), which is
#        why the other phases have `schemathesis`.
#      The ids are bound to the parameters that name them as schemathesis dictionaries, drawn
#      half the time, so those operations reach a real resource as often as a made-up one
#      (schemathesis also reuses the ids the API answers with, such as a created instance's);
#   3. runs every check of every phase with a seed and a bounded number of examples, both
#      printed, with infra/schemathesis/hooks.py loaded (see there: the rules of the API the
#      schema can't express, each verified there, never a check turned off);
#   4. stops the stack whatever happens, and exits non-zero when schemathesis found anything,
#      a warning included (such as an operation that only ever got 404s).
#
# Environment: ST_SEED (default 1; `random` draws a fresh one) and ST_MAX_EXAMPLES (default 50:
# about 30 s on 2 cores) change the run; arguments are passed on to `st run`. The default seed
# is fixed so that `make test` passes or fails alike for the same code on every machine; a run
# with another seed explores further, and the seed it printed replays it.
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
if [[ $seed == random ]]; then
	seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
fi
[[ $seed =~ ^[0-9]+$ && $max_examples =~ ^[1-9][0-9]*$ ]] || {
	echo "run.sh: ST_SEED must be a whole number or random, ST_MAX_EXAMPLES a positive whole number" >&2
	exit 2
}
replay="ST_SEED=$seed ST_MAX_EXAMPLES=$max_examples bash infra/schemathesis/run.sh"
echo "run.sh: schemathesis with seed $seed and at most $max_examples examples per operation (ST_SEED, ST_MAX_EXAMPLES)"

work=$(mktemp -d)
stack_pid=
standin_pid=

stop() {
	local rc=$?
	if [[ -n $standin_pid ]]; then
		kill -TERM "$standin_pid" 2>/dev/null || true
		wait "$standin_pid" 2>/dev/null || true
	fi
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
	if ((rc != 0)) && [[ -s $work/standin.log ]]; then
		echo "--- the stand-in session host's log (last 10 lines) ---" >&2
		tail -n 10 "$work/standin.log" >&2
	fi
	if ((rc != 0)); then
		echo "run.sh: failed with seed $seed; replay with: $replay" >&2
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
for id in xxx schemathesis; do
	api POST /api/instance "{\"instanceId\":\"$id\",\"name\":\"schemathesis\",\"webhookUrl\":\"$url/healthz\"}" >/dev/null
done
disposable_ids=(disposable-1 disposable-2 disposable-3)
for id in "${disposable_ids[@]}"; do
	api POST /api/instance "{\"instanceId\":\"$id\",\"webhookUrl\":\"$url/healthz\"}" >/dev/null
	api POST /api/webhook/test "{\"instanceId\":\"$id\"}" >/dev/null
done
# Instances xxx and schemathesis wait to be paired, on a host that answers (see
# standin_host.py), so GET /api/instance/{instanceId}/qr reaches a real code and POST
# /api/instance/{instanceId}/pair a pairing code.
endpoint=$(grep -oE 'AWS endpoint +http://[^ ]+' "$work/stack.log" | awk '{print $3}')
# Instance paired is paired on that host, which sends what it accepts at once (see there), so
# that the message routes reach their accepts and waits.
api POST /api/instance '{"instanceId":"paired","name":"schemathesis"}' >/dev/null
"$moto_python" infra/schemathesis/standin_host.py "$endpoint" "wagate-dev-$port-InstancesTable" "wagate-dev-$port-OutboxTable" \
	xxx schemathesis --paired paired 2>"$work/standin.log" &
standin_pid=$!
for ((i = 0; ; i++)); do
	grep -q 'holding' "$work/standin.log" && break
	if ! kill -0 "$standin_pid" 2>/dev/null || ((i >= 300)); then
		echo "run.sh: the stand-in session host did not start" >&2
		cat "$work/standin.log" >&2
		exit 1
	fi
	sleep 0.1
done
# A clear still running and a recover that completed, for GET /api/webhook/jobs/{jobId}.
mapfile -t job_ids < <("$moto_python" infra/schemathesis/job_fixture.py "$endpoint" "wagate-dev-$port-WebhookStatsTable")
((${#job_ids[@]} == 2)) || { echo "run.sh: job_fixture.py wrote no jobs" >&2; exit 1; }
webhook_ids=()
for body in '{"instanceId":"xxx"}' '{"instanceId":"schemathesis"}' '{"instanceId":"schemathesis"}' "{\"url\":\"$url/healthz\"}"; do
	webhook_ids+=("$(api POST /api/webhook/test "$body" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["data"]["webhookId"])')")
done
# Messages of paired to edit, revoke and read: a text (its text can be edited) and an image
# (its caption can).
message_ids=()
for body in '{"to":"6281234567890","type":"text","text":{"body":"hello"}}' \
	'{"to":"6281234567890","type":"image","image":{"link":"https://example.com/a.jpg","caption":"a"}}'; do
	message_ids+=("$(api POST '/api/instance/paired/messages?wait=5' "$body" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["data"]["messageId"])')")
done

# A file of instance schemathesis, uploaded as a client would (the signed headers the API
# answered, then the bytes), and a link to it: the media routes reach a real file.
printf '%%PDF-1.4\n%% schemathesis\n' >"$work/upload.pdf"
upload=$(api POST /api/instance/schemathesis/media "{\"mimetype\":\"application/pdf\",\"size\":$(stat -c %s "$work/upload.pdf"),\"fileName\":\"a.pdf\"}")
media_id=$("$python" -c 'import json, sys; print(json.load(sys.stdin)["data"]["mediaId"])' <<<"$upload")
put_args=()
while IFS= read -r header; do put_args+=(-H "$header"); done < <("$python" -c '
import json, sys
for k, v in json.load(sys.stdin)["data"]["headers"].items():
    if k.lower() != "content-length":
        print(f"{k}: {v}")' <<<"$upload")
curl -sS --fail-with-body -X PUT "${put_args[@]}" --data-binary "@$work/upload.pdf" \
	"$("$python" -c 'import json, sys; print(json.load(sys.stdin)["data"]["uploadUrl"])' <<<"$upload")" >/dev/null
media_token=$(api GET "/api/instance/schemathesis/media/$media_id" | "$python" -c 'import json, sys; print(json.load(sys.stdin)["data"]["url"].rsplit("/", 1)[1])')

# A recover window that keeps the rules the schema can't express (see hooks.py): the last
# hour, the last day, and up to now. Drawn half the time, so recovers get past validation.
now_s=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%S.000Z; }
since_values=("$(iso $((now_s - 3600)))" "$(iso $((now_s - 86400)))")
until_values=("$(iso "$now_s")")

pair_examples=$((max_examples < 50 ? max_examples : 50))
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
max-examples = $max_examples

# A warning (operations that only ever got 404s for want of data, a schema most of whose
# generated data the API rejects, ...) fails the run like a failed check.
[warnings]
fail-on = true

[dictionaries.instanceIds]
values = $(toml_list xxx schemathesis)

[dictionaries.disposableInstanceIds]
values = $(toml_list "${disposable_ids[@]}")

[dictionaries.webhookIds]
values = $(toml_list "${webhook_ids[@]}")

[dictionaries.jobIds]
values = $(toml_list "${job_ids[@]}")

[dictionaries.pairedInstanceIds]
values = ["paired"]

[dictionaries.messageIds]
values = $(toml_list "${message_ids[@]}")

[dictionaries.mediaIds]
values = ["$media_id"]

[dictionaries.mediaTokens]
values = ["$media_token"]

[dictionaries.chatIds]
values = ["6281234567890", "6281234567890@s.whatsapp.net"]

[dictionaries.since]
values = $(toml_list "${since_values[@]}")

[dictionaries.until]
values = $(toml_list "${until_values[@]}")

[parameters]
"path.instanceId" = { dictionary = "instanceIds", probability = 0.5 }
"query.instanceId" = { dictionary = "instanceIds", probability = 0.5 }
"body.instanceId" = { dictionary = "instanceIds", probability = 0.5 }
"path.webhookId" = { dictionary = "webhookIds", probability = 0.5 }
"path.jobId" = { dictionary = "jobIds", probability = 0.5 }
"body.since" = { dictionary = "since", probability = 0.5 }
"body.until" = { dictionary = "until", probability = 0.5 }

# What deletes instances or logs is given instances no other operation is.
[[operations]]
include-operation-id = ["deleteInstance", "clearWebhookLogs"]
parameters = { "path.instanceId" = { dictionary = "disposableInstanceIds", probability = 0.5 }, "query.instanceId" = { dictionary = "disposableInstanceIds", probability = 0.5 }, "body.instanceId" = { dictionary = "disposableInstanceIds", probability = 0.5 } }

# The message routes need an instance with a paired device (paired) to get past 409, and
# messages it sent to change.
[[operations]]
include-operation-id = ["sendMessage", "listMessages", "getMessage", "editMessage", "revokeMessage", "markChatRead", "setChatPresence"]
parameters = { "path.instanceId" = { dictionary = "pairedInstanceIds", probability = 0.9 }, "path.messageId" = { dictionary = "messageIds", probability = 0.9 }, "path.chatId" = { dictionary = "chatIds", probability = 0.5 } }

# The media routes: instance schemathesis's upload, and a link to it.
[[operations]]
include-operation-id = ["getMedia", "followMediaLink"]
parameters = { "path.instanceId" = { dictionary = "instanceIds", probability = 0.5 }, "path.mediaId" = { dictionary = "mediaIds", probability = 0.5 }, "path.token" = { dictionary = "mediaTokens", probability = 0.5 } }

# A pairing request that reaches the stand-in host waits for the API's next look for the
# answer (every 200 ms), where other requests take milliseconds: 300 examples of it made a
# 160 s run 50 s longer, so it gets at most $pair_examples.
[[operations]]
include-operation-id = "pairInstanceWithPhone"
generation = { max-examples = $pair_examples }
EOF

# hooks.py points edits and revokes at these, an edit of the text with text and of the image
# with a caption.
export ST_TEXT_MESSAGE_ID=${message_ids[0]} ST_IMAGE_MESSAGE_ID=${message_ids[1]}
"$st" --config-file "$work/schemathesis.toml" run infra/openapi.yaml \
	--url "$url" -H "X-API-Key: $key" \
	--checks all --seed "$seed" \
	--workers 1 --request-timeout 30 --no-color "$@"
