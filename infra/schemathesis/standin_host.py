"""A stand-in session host for infra/schemathesis/run.sh: it holds the leases of the instances the
run's fixtures name and plays the part the real session host plays for them, without WhatsApp.

The local stack's own session host can't reach WhatsApp, so for the instances it runs GET
/api/instance/{instanceId}/qr has no code and POST /api/instance/{instanceId}/pair is a 409
("not connected to WhatsApp"): neither ever reaches the answer a client pairs with. For each
fixture instance this process, as a host named OWNER:

  - holds its lease (the real host leaves a lease another host holds alone) and records it
    waiting to be paired, with QR codes, as a host does when WhatsApp hands it codes; and again
    whenever the instance lost that state: deleted and then created anew during the run;
  - answers its pairing-code requests with a code, as a host does with WhatsApp's (see
    shared/store/pairing.go: the API addresses a request to the lease holder through the sparse
    byPairHost index and waits for the answer on the instance's item).

For each instance after --paired, it instead holds the lease of an instance paired to a
device (`deviceJid` set, status connected), so that sends are accepted, and plays the sender:
every record of the instance's outbox that is pending becomes sent at once, as the real host
does on WhatsApp's server ack, so that a send's wait ends in milliseconds rather than `wait`
seconds (see shared/store/outbox.go for the item's attributes).

A deleted fixture stays deleted: this process never creates an instance, so a read after a
delete still gets its 404. Run with the moto virtualenv's python (it has boto3):

    standin_host.py ENDPOINT TABLE OUTBOX_TABLE INSTANCE_ID... [--paired INSTANCE_ID...]

It runs until it is terminated.
"""

from __future__ import annotations

import datetime
import json
import signal
import sys
import time

import boto3

OWNER = "schemathesis-standin-host"
# Longer than any run; the real host's sweep takes only leases that ended.
LEASE_SECONDS = 3600
# How often pairing requests are looked for (the API looks for the answer every 200 ms) and how
# often the fixtures' state is checked.
ANSWER_INTERVAL = 0.1
KEEP_INTERVAL = 1.0
# WhatsApp shows the first code for 60 s and each next for 20 s: 60 codes last about 20 minutes.
QR_CODES = 60


def main() -> None:
    endpoint, table, outbox, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    fixtures, paired = args, []
    if "--paired" in args:
        at = args.index("--paired")
        fixtures, paired = args[:at], args[at + 1:]
    db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    for fixture in fixtures:
        keep(db, table, fixture)
    for fixture in paired:
        keep_paired(db, table, fixture)
    print(f"standin_host.py: holding {', '.join(fixtures + paired)} as {OWNER}", file=sys.stderr, flush=True)
    kept = time.monotonic()
    while True:
        try:
            answer_pending(db, table)
            for fixture in paired:
                send_pending(db, outbox, fixture)
            if time.monotonic() - kept >= KEEP_INTERVAL:
                kept = time.monotonic()
                for fixture in fixtures:
                    keep(db, table, fixture)
                for fixture in paired:
                    keep_paired(db, table, fixture)
        except Exception as err:  # a failed call is tried again at the next tick
            print(f"standin_host.py: {err}", file=sys.stderr, flush=True)
        time.sleep(ANSWER_INTERVAL)


def keep(db, table: str, instance_id: str) -> None:
    """Hold the instance's lease and record it waiting to be paired, unless it already is."""
    item = db.get_item(TableName=table, Key={"instanceId": {"S": instance_id}}, ConsistentRead=True,
                       ProjectionExpression="leaseOwner, #s", ExpressionAttributeNames={"#s": "status"}).get("Item")
    if item is None:
        return  # deleted: it stays so until the run creates it again
    if item.get("leaseOwner", {}).get("S") == OWNER and item.get("status", {}).get("S") == "qr":
        return
    now = datetime.datetime.now(datetime.timezone.utc)
    expires = int(now.timestamp() * 1000) + LEASE_SECONDS * 1000
    try:
        db.update_item(
            TableName=table, Key={"instanceId": {"S": instance_id}},
            UpdateExpression="SET leaseOwner = :owner, leaseExpiresAt = :expires, #s = :s, "
                             "qrCodes = :codes, qrIssuedAt = :issued REMOVE deviceJid",
            ConditionExpression="attribute_exists(instanceId)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":owner": {"S": OWNER}, ":expires": {"N": str(expires)}, ":s": {"S": "qr"},
                ":issued": {"S": now.isoformat()},
                ":codes": {"L": [{"S": f"2@schemathesis,{instance_id},{n}"} for n in range(QR_CODES)]},
            },
        )
    except db.exceptions.ConditionalCheckFailedException:
        pass  # deleted meanwhile


def keep_paired(db, table: str, instance_id: str) -> None:
    """Hold the instance's lease and record it paired and connected."""
    expires = int(time.time() * 1000) + LEASE_SECONDS * 1000
    try:
        db.update_item(
            TableName=table, Key={"instanceId": {"S": instance_id}},
            UpdateExpression="SET leaseOwner = :owner, leaseExpiresAt = :expires, #s = :s, deviceJid = :device "
                             "REMOVE qrCodes, qrIssuedAt",
            ConditionExpression="attribute_exists(instanceId)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":owner": {"S": OWNER}, ":expires": {"N": str(expires)}, ":s": {"S": "connected"},
                ":device": {"S": "6289999999999.0:7@s.whatsapp.net"},
            },
        )
    except db.exceptions.ConditionalCheckFailedException:
        pass  # deleted: it stays so until the run creates it again


def send_pending(db, outbox: str, instance_id: str) -> None:
    """Move the instance's pending outbox records to sent, as a host does on WhatsApp's ack."""
    keys = db.query(TableName=outbox, IndexName="byPending", KeyConditionExpression="pendingI = :i",
                    ExpressionAttributeValues={":i": {"S": instance_id}})["Items"]
    for key in keys:
        item = db.get_item(TableName=outbox, Key={"pk": key["pk"], "sk": key["sk"]}, ConsistentRead=True).get("Item")
        if item is None or "pendingI" not in item:
            continue
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        values = {
            ":sent": {"S": "sent"}, ":is": {"S": instance_id + "#sent"},
            ":ics": {"S": item["gsiIC"]["S"] + "#sent"}, ":now": {"S": now},
            ":one": {"N": "1"}, ":v": item["version"],
        }
        update = ("SET #s = :sent, gsiIS = :is, gsiICS = :ics, sentAt = :now, updatedAt = :now, "
                  "attempts = attempts + :one, version = version + :one")
        if item.get("type", {}).get("S") == "call":
            # A call (contacts, groups) is answered on its record, as the host does.
            update += ", #r = :r"
            values[":r"] = {"B": call_result(item["message"]["B"])}
        try:
            db.update_item(
                TableName=outbox, Key={"pk": key["pk"], "sk": key["sk"]},
                UpdateExpression=update + " REMOVE pendingI",
                ConditionExpression="version = :v",
                ExpressionAttributeNames={"#s": "status", **({"#r": "result"} if ":r" in values else {})},
                ExpressionAttributeValues=values,
            )
        except db.exceptions.ConditionalCheckFailedException:
            pass  # changed meanwhile; looked at again at the next tick


def call_result(message: bytes) -> bytes:
    """The answer of a call record (shared/outbox/call.go's CallResult), as WhatsApp would give
    it for accounts that all exist."""
    call = json.loads(message)["call"]
    if call["op"] == "contacts.check":
        data = [{"phone": p, "onWhatsApp": True, "jid": p + "@s.whatsapp.net", "isBusiness": False}
                for p in call["phones"]]
    elif call["op"] == "contacts.info":
        data = {"jid": call["jid"], "pushName": None, "businessName": None, "about": None,
                "pictureUrl": None, "pictureId": None}
    elif call["op"] == "groups.list":
        data = {"groups": []}
    elif call["op"] in ("groups.create", "groups.info", "groups.update"):
        g = call.get("group") or {}
        data = {"groupId": g.get("jid") or "120363025246125486@g.us", "name": g.get("name") or "Group",
                "description": g.get("description") or "", "owner": None, "announce": bool(g.get("announce")),
                "locked": bool(g.get("locked")), "createdAt": None, "size": 0, "participants": []}
        if call["op"] == "groups.create":
            # WhatsApp answers a creation per participant (session-host/calls' createdGroup).
            data["participantResults"] = [{"jid": p, "status": "ok"} for p in g.get("participants") or []]
    elif call["op"] == "groups.participants":
        data = [{"jid": p, "status": "ok"} for p in call["group"]["participants"]]
    elif call["op"] == "groups.invite":
        data = {"groupId": call["group"]["jid"], "link": "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv"}
    elif call["op"] == "groups.leave":
        data = {"groupId": call["group"]["jid"], "left": True}
    else:
        return json.dumps({"error": {"code": "invalid_request", "message": "op: unknown"}}).encode()
    return json.dumps({"data": data}).encode()


def answer_pending(db, table: str) -> None:
    """Answer every pairing request addressed to OWNER with a code."""
    pages = db.get_paginator("query").paginate(
        TableName=table, IndexName="byPairHost", KeyConditionExpression="pairHost = :host",
        ExpressionAttributeValues={":host": {"S": OWNER}})
    for page in pages:
        for item in page["Items"]:
            request_id, phone = item["pairRequestId"]["S"], item["pairPhone"]["S"]
            try:
                db.update_item(
                    TableName=table, Key={"instanceId": item["instanceId"]},
                    UpdateExpression="SET pairAnswerId = :rid, pairCode = :code REMOVE pairHost, pairPhone, pairRequestId",
                    ConditionExpression="pairRequestId = :rid",
                    ExpressionAttributeValues={":rid": {"S": request_id}, ":code": {"S": f"WGTE-{phone[-4:]}"}},
                )
            except db.exceptions.ConditionalCheckFailedException:
                pass  # replaced by a newer request, or the instance is gone


if __name__ == "__main__":
    main()
