"""Background jobs for infra/schemathesis/run.sh, so that GET /api/webhook/jobs/{jobId} reaches
a real job and not only 404s.

A real job needs a clear or recover of more than 5,000 logs (what one request does itself),
which would take the emulator a minute to load and clear. This writes two jobs' progress as
the API's functions write it instead (see shared/store/jobs.go for the item's attributes): a
clear of instance xxx still running, and a recover of every instance that completed. Run with
the moto virtualenv's python (it has boto3); it prints the two job ids, one a line:

    job_fixture.py ENDPOINT STATS_TABLE
"""

from __future__ import annotations

import datetime
import secrets
import sys
import time

import boto3

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def job_id(ms: int) -> str:
    """`job_` and a ULID in capitals, as webhook.NewJobID makes them."""
    n = (ms << 80) | secrets.randbits(80)
    return "job_" + "".join(_CROCKFORD[(n >> (5 * i)) & 31] for i in reversed(range(26)))


def stamp(ms: int) -> str:
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def main() -> None:
    endpoint, table = sys.argv[1], sys.argv[2]
    db = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    now = int(time.time() * 1000)
    jobs = [
        ("clear", "xxx", "running", 5000, now - 60_000),
        ("recover", None, "complete", 12000, now - 3_600_000),
    ]
    for kind, instance, status, count, created in jobs:
        jid = job_id(created)
        item = {
            "pk": {"S": "j#" + jid}, "sk": {"S": "progress"},
            "kind": {"S": kind}, "status": {"S": status}, "count": {"N": str(count)},
            "createdAt": {"S": stamp(created)}, "updatedAt": {"S": stamp(now)},
            "runs": {"SS": ["request"]}, "expiresAt": {"N": str(now // 1000 + 86400)},
        }
        if instance is not None:
            item["instanceId"] = {"S": instance}
        db.put_item(TableName=table, Item=item)
        print(jid)


if __name__ == "__main__":
    main()
