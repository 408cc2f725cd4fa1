// An example endpoint for wagate's webhooks, with Node's built-in modules only: it verifies
// each delivery's Standard Webhooks signature, drops duplicates, answers at once and logs the
// event.
//
//   WEBHOOK_SECRET=whsec_... node receiver.js
//
// It listens on port 3001 (PORT overrides; 0 picks a free one) and accepts POST /webhook.
import { createServer } from "node:http";
import { createHmac, timingSafeEqual } from "node:crypto";

const secret = process.env.WEBHOOK_SECRET ?? "";
if (!secret.startsWith("whsec_")) {
  console.error("set WEBHOOK_SECRET to the instance's whsec_... secret");
  process.exit(2);
}
// The HMAC key is the base64-decoded part after "whsec_", not the string itself.
const key = Buffer.from(secret.slice("whsec_".length), "base64");
// Older or newer timestamps are refused, so a captured request cannot be replayed later.
const toleranceSeconds = 5 * 60;
// Bounds what an unverified caller can make us buffer; wagate's envelopes are far smaller.
const maxBody = 1 << 20;

// Webhook ids already accepted. In memory it forgets everything on restart and is not shared
// between replicas; a real receiver records the id in its database (a unique key), in the same
// transaction as the work the event causes, so a redelivery after a crash is still recognised.
const seen = new Set();

// verify returns why the request is not a genuine wagate webhook, or null when it is.
function verify(headers, body) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !timestamp || !signatures) return "missing webhook-id, webhook-timestamp or webhook-signature";
  if (!/^\d+$/.test(timestamp)) return "webhook-timestamp is not unix seconds";
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return "timestamp outside the 5 minute tolerance";

  // Signed content: "{id}.{timestamp}.{body}", over the raw body bytes (never a re-encoding).
  const expected = Buffer.from(
    createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest("base64"),
  );
  // During a secret rotation wagate sends one "v1,<base64>" per secret, space-separated:
  // any one of them matching is enough.
  for (const versioned of signatures.split(" ")) {
    const [version, signature = ""] = versioned.split(",");
    if (version !== "v1") continue;
    const candidate = Buffer.from(signature);
    // timingSafeEqual so the time taken tells nothing about how much of a guess was right;
    // it throws on different lengths, and a length is no secret.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return null;
  }
  return "no matching signature";
}

function answer(res, status, body) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify(body));
}

// handle is the slow part, run after the answer: wagate counts an answer later than its
// timeout (10 s) as a failure and retries. Here, it logs the event.
function handle(event) {
  console.log(`webhook id=${event.webhookId} event=${event.event} instance=${event.instanceId} data=${JSON.stringify(event.data)}`);
}

const server = createServer((req, res) => {
  if (req.method !== "POST" || req.url !== "/webhook") return answer(res, 404, { error: "not found" });
  const chunks = [];
  let size = 0;
  req.on("data", (chunk) => {
    size += chunk.length;
    if (size > maxBody) {
      answer(res, 413, { error: "body too large" });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (size > maxBody) return;
    const body = Buffer.concat(chunks);
    const why = verify(req.headers, body);
    if (why) {
      console.log(`rejected webhook: ${why}`);
      return answer(res, 401, { error: "invalid signature" });
    }
    let event;
    try {
      event = JSON.parse(body);
    } catch {
      return answer(res, 400, { error: "body is not a wagate envelope" });
    }
    // Duplicates are checked only after the signature, so forged requests cannot mark a real
    // id as seen. The id is the signed header, the same on every attempt.
    const id = req.headers["webhook-id"];
    if (seen.has(id)) {
      // Still a 2xx: anything else would make wagate send it yet again.
      console.log(`duplicate webhook dropped id=${id} attempt=${req.headers["x-webhook-attempt"]}`);
      return answer(res, 200, { received: true, duplicate: true });
    }
    seen.add(id);
    answer(res, 200, { received: true });
    setImmediate(handle, event);
  });
});

server.listen(Number(process.env.PORT ?? 3001), () => {
  console.log(`listening on :${server.address().port}/webhook`);
});
