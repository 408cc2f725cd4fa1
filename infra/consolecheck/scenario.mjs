// The console's browser test: the issue's scenario, step by step, in headless Chromium driven by
// playwright-core, against a local stack (started by console_test.go, which passes it in the
// environment). Every request the page makes is recorded; each screen gets an axe-core check
// and a screenshot. Exits non-zero on the first failure, naming the step.
import { chromium } from "playwright-core";
import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { createHash } from "node:crypto";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (console_test.go sets it)`);
  return v;
};
const BASE = env("CONSOLE_BASE"); // http://127.0.0.1:port
const KEY = env("CONSOLE_KEY");
const RECEIVER = env("CONSOLE_RECEIVER"); // http://127.0.0.1:port
const SHOTS = env("CONSOLE_SHOTS");
const CHROMIUM = env("CONSOLE_CHROMIUM");
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
mkdirSync(SHOTS, { recursive: true });

const started = Date.now();
const log = (...a) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s]`, ...a);
let step = "start";
const fail = (msg) => {
  throw new Error(`${step}: ${msg}`);
};

// The test's own calls (the simulated phone, the receiver's mode): not the page's.
async function dev(method, path, body) {
  const r = await fetch(BASE + path, {
    method,
    headers: { "X-API-Key": KEY, "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json();
  if (!j.success) fail(`${method} ${path}: ${r.status} ${JSON.stringify(j)}`);
  return j.data;
}
const receiverMode = (down) => fetch(`${RECEIVER}/mode?down=${down ? 1 : 0}`).then((r) => r.text());

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: "reduce" });
const page = await context.newPage();
page.setDefaultTimeout(20000);

// Every request of every tab of the browser, and every error a page reports.
const requests = [];
context.on("request", (r) => requests.push({ url: r.url(), method: r.method(), key: r.headers()["x-api-key"] ?? null, step }));
const problems = [];
const watchErrors = (p) => {
  p.on("console", (m) => {
    if (m.type() === "error" && !/the server responded with a status of (400|403|404|409|503)/.test(m.text())) problems.push(`${step}: console error: ${m.text()}`);
  });
  p.on("pageerror", (e) => problems.push(`${step}: page error: ${e.message}`));
};
watchErrors(page);

const axeResults = {};
async function check(name, p = page, { shot = true } = {}) {
  await p.evaluate(axeSource);
  const res = await p.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  axeResults[name] = { violations: res.violations.map((v) => `${v.id} (${v.impact})`) };
  if (bad.length) fail(`axe on ${name}: ${bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`).join("; ")}`);
  if (shot) await p.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  log(`screen ${name}: axe ${res.violations.length ? res.violations.map((v) => v.id + "/" + v.impact).join(",") : "clean"}${shot ? ", screenshot saved" : ""}`);
}

// waitStatus polls a locator's data-status until it is want, recording every value seen.
async function watch(locator, attr, want, seen, ms = 60000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await locator.getAttribute(attr).catch(() => null);
    if (v && seen[seen.length - 1] !== v) seen.push(v);
    if (v === want) return;
    await page.waitForTimeout(200);
  }
  fail(`waited ${ms / 1000}s for ${want}; saw ${seen.join(" → ") || "nothing"}`);
}

try {
  step = "wrong key";
  await page.goto(`${BASE}/console`);
  await page.getByLabel("API key").fill("not-the-key");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "refused the key" }).waitFor();
  if ((await page.locator("table").count()) !== 0 || (await page.getByRole("navigation", { name: "Screens" }).count()) !== 0) fail("data shown with a wrong key");
  if (await page.evaluate(() => sessionStorage.length)) fail("a refused key was kept");
  await check("sign-in-wrong-key");

  step = "sign in";
  // By keyboard: the key typed into the labelled field, Enter submits.
  await page.getByLabel("API key").fill("");
  await page.getByLabel("API key").focus();
  await page.keyboard.type(KEY);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Instances", level: 1 }).waitFor();

  step = "create an instance";
  await page.getByLabel("Name (optional)").fill("Support desk");
  await page.getByRole("button", { name: "Create instance" }).click();
  const created = page.locator(".notice");
  await created.waitFor();
  const id = (await created.locator("a").first().textContent()).trim();
  if (!/^inst_/.test(id)) fail(`created ${id}`);
  await page.locator(`tr[data-instance="${id}"]`).waitFor();
  log(`created ${id}`);
  await check("instances");

  step = "pair by QR";
  await page.getByRole("link", { name: `Pair ${id} with a phone` }).click();
  await page.getByRole("heading", { name: `Instance ${id}` }).waitFor();
  const qrImage = page.getByRole("img", { name: /QR code that pairs/ });
  await qrImage.waitFor({ timeout: 30000 });
  const qrText = page.getByTestId("qr-text");
  const first = { text: (await qrText.textContent()).trim(), src: await qrImage.getAttribute("src"), until: await page.locator("figcaption").textContent() };
  await check("pairing");

  step = "pair by code";
  // In a second tab, while the first keeps showing the QR code: a second instance, paired with
  // a code the page asks for; the simulated phone types it in 3 s after it was asked for, as a
  // person would. A new tab has its own session storage, so it signs in again.
  const tab = await context.newPage();
  watchErrors(tab);
  await tab.goto(`${BASE}/console#/instances`);
  await tab.getByLabel("API key").fill(KEY);
  await tab.getByRole("button", { name: "Sign in" }).click();
  await tab.getByLabel("Name (optional)").fill("Sales");
  await tab.getByLabel("Instance id (optional)").fill(`${id}-sales`);
  await tab.getByRole("button", { name: "Create instance" }).click();
  await tab.getByRole("link", { name: `Pair ${id}-sales with a phone` }).click();
  await tab.getByRole("img", { name: /QR code that pairs/ }).waitFor({ timeout: 30000 });
  await tab.getByLabel("Phone number (international)").fill("+6281200000001");
  await tab.getByRole("button", { name: "Get a pairing code" }).click();
  const code = (await tab.locator("strong.code").textContent({ timeout: 25000 })).trim();
  if (!/^[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(code)) fail(`pairing code ${code}`);
  await check("pairing-code", tab);
  await tab.getByRole("status").filter({ hasText: "Status: connected" }).waitFor({ timeout: 30000 });
  if (!(await tab.getByText("phone 6281200000001").count())) fail("the paired phone's number is not shown");
  log(`${id}-sales paired with code ${code}`);

  step = "log paging";
  // More logs than a page: 25 test webhooks of the second instance, read 10 to a page, forward
  // to the end and back, each page's rows as they were, none repeated or missing.
  const sales = `${id}-sales`;
  // Test webhooks (sent whatever the subscription) and group changes, of which its phone
  // makes none: its session events (a reconnect under load) would add logs after the page
  // deletes them.
  await dev("PUT", `/api/instance/${sales}`, { webhookUrl: `${RECEIVER}/webhook`, webhookEvents: ["group.updated"] });
  const made = [];
  for (let i = 0; i < 25; i++) made.push((await dev("POST", "/api/webhook/test", { instanceId: sales })).webhookId);
  await tab.goto(`${BASE}/console#/logs?instanceId=${sales}&event=webhook.test`);
  await tab.getByRole("heading", { name: "Webhook logs", level: 1 }).waitFor();
  await tab.getByLabel("Rows per page").selectOption("10");
  const pageRows = async (n, count) => {
    await tab.waitForFunction(([n, count]) => document.querySelector(`table.logs[data-page="${n}"]`)?.tBodies[0].rows.length === count, [n, count]);
    return tab.locator("table.logs tbody tr").evaluateAll((rows) => rows.map((r) => r.dataset.webhook));
  };
  const nextPage = tab.getByRole("button", { name: "Next page" });
  const previousPage = tab.getByRole("button", { name: "Previous page" });
  const p1 = await pageRows(1, 10);
  // By keyboard: the Next page button, Enter.
  await nextPage.focus();
  await tab.keyboard.press("Enter");
  const p2 = await pageRows(2, 10);
  await check("logs-paged", tab);
  await nextPage.click();
  const p3 = await pageRows(3, 5);
  if (!(await nextPage.isDisabled())) fail("Next page is enabled on the last page");
  await previousPage.click();
  const back2 = await pageRows(2, 10);
  await previousPage.click();
  const back1 = await pageRows(1, 10);
  if (back2.join() !== p2.join() || back1.join() !== p1.join()) fail(`paging back read other rows: ${back2} / ${p2}; ${back1} / ${p1}`);
  const all = [...p1, ...p2, ...p3];
  if (new Set(all).size !== all.length || all.slice().sort().join() !== made.slice().sort().join())
    fail(`the pages hold ${all.length} rows (${new Set(all).size} distinct), want the 25 test webhooks sent`);
  if (all.join() !== made.slice().reverse().join()) fail("the rows are not newest first");
  log(`25 logs paged 10 + 10 + 5 and back, none repeated or missing`);

  step = "no request was sent";
  // A deleted instance's failed webhooks, written by the test (console_test.go) while the
  // scenario started: none of them made a request.
  const seeded = await fetch(`${RECEIVER}/seeded`);
  if (!seeded.ok) fail(`seeding the logs failed: ${await seeded.text()}`);
  const gone = await seeded.json();
  await tab.goto(`${BASE}/console#/logs?instanceId=${gone.instanceId}&status=failed`);
  const goneRow = tab.locator("table.logs tbody tr").first();
  await goneRow.waitFor();
  await goneRow.getByRole("button", { name: /^Open / }).click();
  await tab.getByTestId("log-detail").getByText("No request was sent.").waitFor();

  step = "recover as a job";
  // More than one request queues: the rest goes on as a job, which the tab follows while the
  // scenario goes on in the first tab.
  await tab.getByRole("button", { name: "Recover", exact: true }).click();
  const recovering = tab.getByRole("status").filter({ hasText: /This request queued [0-9]+ webhooks/ });
  await recovering.waitFor();
  const recoverText = (await recovering.textContent()).trim();
  if (!/the rest of the window goes on in the background as job job_/.test(recoverText))
    fail(`${recoverText}: the recover of ${gone.failed} webhooks finished within its request; seed more logs (console_test.go) so that it goes on as a job`);
  const job = tab.getByTestId("job");
  // The job as the tab first read it (running, with the request's share), then as it goes.
  await tab.locator("[data-testid=job][data-count]").waitFor();
  const jobSeen = [`${await job.getAttribute("data-status")} ${await job.getAttribute("data-count")}`];
  log(`${recoverText} The page shows it ${jobSeen[0]}`);

  step = "QR code rotation";
  // WhatsApp's first code of a connection lasts 60 s, each next one 20 s (the simulated
  // WhatsApp keeps those times, as the API does). The page, left open, shows the next code.
  const rotationEnd = Date.now() + 90000;
  while ((await qrText.textContent()).trim() === first.text) {
    if (Date.now() > rotationEnd) fail(`the page still shows the first QR code, ${first.until}`);
    await page.waitForTimeout(500);
  }
  const next = { text: (await qrText.textContent()).trim(), src: await qrImage.getAttribute("src"), until: await page.locator("figcaption").textContent() };
  if (next.src === first.src || next.until === first.until) fail(`the code's text changed, but not its image or validity (${next.until})`);
  log(`the page shows the next QR code (${first.until} → ${next.until})`);
  await check("pairing-rotated");
  // The first code no longer links a phone; the one the page shows now does.
  const stale = await fetch(`${BASE}/api/dev/phone/${id}/link`, { method: "POST", headers: { "X-API-Key": KEY, "Content-Type": "application/json" }, body: JSON.stringify({ qr: first.text }) });
  if (stale.status !== 409) fail(`the first code, scanned after it rotated, answered ${stale.status}, want 409`);
  const linked = await dev("POST", `/api/dev/phone/${id}/link`, { qr: next.text });
  log(`phone ${linked.phone} scanned the page's second QR code`);
  await page.getByRole("status").filter({ hasText: "Status: connected" }).waitFor({ timeout: 30000 });
  if (await qrImage.count()) fail("the QR code is still shown once connected");

  step = "webhook URL";
  await page.getByLabel("Webhook URL").fill(`${RECEIVER}/webhook`);
  await page.getByRole("button", { name: "Save webhook settings" }).click();
  await page.getByText(/Saved at .*webhooks go to/).waitFor();
  await check("instance");

  step = "statistics before";
  await page.goto(`${BASE}/console#/stats?instanceId=${id}`);
  await page.getByTestId("success").waitFor();
  const successBefore = Number(await page.getByTestId("success").textContent());

  step = "incoming message";
  // The delivery function reads an instance's settings through a 5 s cache.
  await page.waitForTimeout(5500);
  const incoming = await dev("POST", `/api/dev/phone/${id}/incoming`, { from: "6281234567890", pushName: "Alice", body: "Are you open today?" });
  log(`Alice wrote ${incoming.messageId}`);
  await page.goto(`${BASE}/console#/logs?instanceId=${id}&event=message.received`);
  const row = page.locator("tr[data-event='message.received']").first();
  await row.waitFor({ timeout: 30000 });
  const seen = [];
  await watch(row, "data-status", "success", seen);
  if (seen[0] !== "retrying") fail(`the log went ${seen.join(" → ")}, want retrying → success`);
  log(`log went ${seen.join(" → ")}`);
  await check("logs");

  step = "open the payload";
  const webhookId = await row.getAttribute("data-webhook");
  await row.getByRole("button", { name: `Open ${webhookId}` }).click();
  const detail = page.getByTestId("log-detail");
  await detail.getByLabel("Payload").filter({ hasText: "Are you open today?" }).waitFor();
  // The headers of the last attempt, as the delivery function sent them.
  const headers = detail.getByRole("table", { name: "Headers of the last request sent" });
  await headers.getByRole("row", { name: `webhook-id ${webhookId}` }).waitFor();
  await headers.getByRole("row", { name: "X-Webhook-Event message.received" }).waitFor();
  await headers.getByRole("row", { name: /webhook-signature v1,/ }).waitFor();
  await check("log-detail");

  step = "force a failure";
  await receiverMode(true);
  await page.goto(`${BASE}/console#/instance/${id}`);
  await page.getByRole("button", { name: "Send a test webhook" }).click();
  const answer = page.getByTestId("test-answer");
  await answer.filter({ hasText: "not delivered, HTTP 503" }).waitFor();
  const testId = (await answer.textContent()).match(/wh_[0-9A-Z]+/)[0];
  await receiverMode(false);

  step = "retry from the page";
  await page.goto(`${BASE}/console#/logs?instanceId=${id}&event=webhook.test`);
  const failedRow = page.locator(`tr[data-webhook='${testId}']`);
  await failedRow.waitFor();
  if ((await failedRow.getAttribute("data-status")) !== "failed") fail(`the test webhook is ${await failedRow.getAttribute("data-status")}`);
  await failedRow.getByRole("button", { name: `Open ${testId}` }).click();
  await page.getByTestId("log-detail").getByRole("button", { name: "Retry now" }).click();
  await page.getByTestId("log-detail").locator(".badge-success").waitFor();
  await watch(failedRow, "data-status", "success", []);

  step = "recover a window";
  await receiverMode(true);
  await page.goto(`${BASE}/console#/instance/${id}`);
  await page.getByRole("button", { name: "Send a test webhook" }).click();
  await page.getByTestId("test-answer").filter({ hasText: "not delivered, HTTP 503" }).waitFor();
  const lostId = (await page.getByTestId("test-answer").textContent()).match(/wh_[0-9A-Z]+/)[0];
  await receiverMode(false);
  await page.goto(`${BASE}/console#/logs?instanceId=${id}`);
  const lostRow = page.locator(`tr[data-webhook='${lostId}']`);
  await lostRow.waitFor();
  await page.getByRole("button", { name: "Recover", exact: true }).click();
  await page.getByRole("status").filter({ hasText: /This request queued [1-9][0-9]* webhooks/ }).waitFor();
  const recovered = [];
  await watch(lostRow, "data-status", "success", recovered);
  log(`recovered ${lostId}: ${recovered.join(" → ")}`);

  step = "statistics after";
  await page.goto(`${BASE}/console#/stats?instanceId=${id}`);
  const end = Date.now() + 30000;
  let successAfter = successBefore;
  while (Date.now() < end) {
    await page.getByRole("button", { name: "Show" }).click();
    await page.waitForTimeout(1000);
    successAfter = Number(await page.getByTestId("success").textContent());
    if (successAfter >= successBefore + 3) break;
  }
  if (successAfter < successBefore + 3) fail(`success went ${successBefore} → ${successAfter}, want at least 3 more`);
  log(`statistics: success ${successBefore} → ${successAfter}`);
  await check("statistics");

  step = "statistics per day";
  await page.getByLabel("Period").selectOption({ label: "90 days" });
  await page.getByRole("button", { name: "Show" }).click();
  const chart = page.getByRole("img", { name: /Webhooks per day \(UTC\), last 90 days/ });
  await chart.waitFor();
  if ((await page.locator("svg.daily g.day").count()) !== 90) fail(`the chart has ${await page.locator("svg.daily g.day").count()} days`);
  await check("statistics-daily");
  await page.getByText("The numbers per day, as a table").click();
  const perDay = await page.getByTestId("daily-table").locator("tbody tr").evaluateAll((rows) =>
    rows.map((r) => ({ date: r.dataset.date, delivered: Number(r.cells[2].textContent), failed: Number(r.cells[3].textContent) })),
  );
  if (perDay.length !== 90) fail(`the table has ${perDay.length} days, want 90`);
  for (let i = 1; i < perDay.length; i++)
    if (Date.parse(perDay[i].date) - Date.parse(perDay[i - 1].date) !== 86400000) fail(`${perDay[i - 1].date} is followed by ${perDay[i].date}`);
  const delivered = perDay.reduce((a, d) => a + d.delivered, 0);
  const success90 = Number(await page.getByTestId("success").textContent());
  if (delivered !== success90 || delivered < successAfter) fail(`the days add up to ${delivered} delivered; the 90 days' total is ${success90}, 7 days' ${successAfter}`);
  log(`per day over 90 days, ${perDay[0].date} to ${perDay[89].date}: ${delivered} delivered, as the total`);
  await check("statistics-daily-table", page, { shot: false });

  step = "send from the composer";
  await page.goto(`${BASE}/console#/instance/${id}`);
  await page.getByLabel("To (international number or JID)").fill("6281234567890");
  await page.getByLabel("Message text").fill("Yes, until 9 pm.");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  const outbox = page.getByTestId("outbox");
  await outbox.locator(".badge-read").waitFor({ timeout: 30000 });
  const steps = await outbox.locator("ol li").allTextContents();
  if (steps[0] !== "queued" || steps[steps.length - 1] !== "read") fail(`the outbox went ${steps.join(" → ")}`);
  log(`outbox went ${steps.join(" → ")}`);
  await check("composer");

  step = "refuse a file too large";
  // A file over the API's inline limit (128 KiB decoded) is refused by the page: no request.
  const posts = () => requests.filter((r) => r.method === "POST" && r.url.includes("/messages")).length;
  const postsBefore = posts();
  await page.getByLabel("Image", { exact: true }).check();
  await page.getByLabel("Image (JPEG or PNG)").setInputFiles({ name: "brochure.png", mimeType: "image/png", buffer: Buffer.alloc(200 * 1024, 7) });
  await page.getByRole("alert").filter({ hasText: "brochure.png is 200 KiB, larger than the 128 KiB the console can send; it was not sent" }).waitFor();
  if (!(await page.getByRole("button", { name: "Send", exact: true }).isDisabled())) fail("Send is enabled for a file over the limit");
  await check("composer-too-large");
  if (posts() !== postsBefore) fail("the page sent a file over the limit");

  step = "an error the API answers";
  // WhatsApp takes JPEG and PNG images only: the API refuses a GIF, and the page says why.
  await page.getByLabel("Image (JPEG or PNG)").setInputFiles({ name: "wave.gif", mimeType: "image/gif", buffer: Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1") });
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: /image\.mimetype.*\(400 / }).waitFor();
  log(`the API's answer shown: ${(await page.getByRole("alert").filter({ hasText: "image.mimetype" }).textContent()).trim()}`);

  step = "send an image from the composer";
  // A real PNG: a corner of the page itself.
  const png = await page.screenshot({ clip: { x: 0, y: 0, width: 160, height: 48 } });
  await page.getByLabel("Image (JPEG or PNG)").setInputFiles({ name: "menu.png", mimeType: "image/png", buffer: png });
  await page.getByLabel("Caption (optional)").fill("Today's menu");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await outbox.filter({ hasText: "(image)" }).locator(".badge-read").waitFor({ timeout: 30000 });
  const imageSteps = await outbox.locator("ol li").allTextContents();
  if (imageSteps[0] !== "queued" || imageSteps[imageSteps.length - 1] !== "read") fail(`the image went ${imageSteps.join(" → ")}`);
  const imageId = (await outbox.textContent()).match(/Message (\S+) \(image\)/)[1];
  await check("composer-media");
  // What the simulated phone received: the same bytes, with the caption.
  const got = (id_, messageId) => dev("GET", `/api/dev/phone/${id_}/sent`).then((all) => all.find((m) => m.messageId === messageId));
  const image = await got(id, imageId);
  if (!image || image.data.type !== "image") fail(`the phone got ${JSON.stringify(image)}`);
  const sha = createHash("sha256").update(png).digest("base64");
  if (image.data.media.fileLength !== png.length || image.data.media.sha256 !== sha || image.data.media.caption !== "Today's menu")
    fail(`the phone got ${JSON.stringify(image.data.media)}, want ${png.length} bytes, sha256 ${sha}, the caption`);
  log(`image ${imageId} went ${imageSteps.join(" → ")}; the phone got its ${png.length} bytes and caption`);

  step = "send a document from the composer";
  await page.getByLabel("Document", { exact: true }).check();
  await page.getByLabel("File", { exact: true }).setInputFiles({ name: "prices.txt", mimeType: "text/plain", buffer: Buffer.from("coffee 3.50\ntea 2.80\n") });
  if ((await page.getByLabel("File name shown to the recipient").inputValue()) !== "prices.txt") fail("the file name is not the file's");
  await page.getByLabel("File name shown to the recipient").fill("prices-december.txt");
  await page.getByLabel("Caption (optional)").fill("December prices");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await outbox.filter({ hasText: "(document)" }).locator(".badge-read").waitFor({ timeout: 30000 });
  const docId = (await outbox.textContent()).match(/Message (\S+) \(document\)/)[1];
  const doc = await got(id, docId);
  if (doc?.data.media?.fileName !== "prices-december.txt" || doc.data.media.caption !== "December prices") fail(`the phone got ${JSON.stringify(doc)}`);
  log(`document ${docId} reached read; the phone got ${doc.data.media.fileName}`);

  step = "rotate the secret";
  await page.getByRole("button", { name: "Rotate the secret" }).click();
  await page.getByRole("button", { name: "Yes, rotate the secret" }).click();
  await page.getByTestId("secrets").filter({ hasText: "Previous, still signing until" }).waitFor();
  await check("secret-rotated");

  step = "clear logs by age";
  // Every log is younger than a day: deleting the first instance's logs older than one day
  // deletes none of them, and its rows stay.
  await page.goto(`${BASE}/console#/logs?instanceId=${id}`);
  const rows = page.locator("table.logs tbody tr");
  await rows.first().waitFor();
  const shown = await rows.count();
  await page.getByLabel("Older than, in days (empty: any age)").fill("1");
  await page.getByRole("button", { name: "Delete logs…" }).click();
  await page.getByRole("group", { name: "Confirm deleting logs" }).filter({ hasText: `Delete the logs of ${id} older than 1 day?` }).waitFor();
  await page.getByRole("button", { name: "Yes, delete them" }).click();
  await page.getByRole("status").filter({ hasText: "This request deleted 0 logs; done." }).waitFor();
  await rows.nth(shown - 1).waitFor();
  log(`clear by age: none of the ${shown} logs shown was older than a day`);

  step = "clear logs";
  // The second instance's logs deleted from the page, after a confirmation.
  await page.goto(`${BASE}/console#/logs?instanceId=${sales}`);
  await page.locator("table.logs tbody tr").first().waitFor();
  if ((await page.getByLabel("Instance (empty: all)").inputValue()) !== sales) fail("the deletion is not for the filtered instance");
  await page.getByRole("button", { name: "Delete logs…" }).click();
  await page.getByRole("group", { name: "Confirm deleting logs" }).filter({ hasText: `Delete the logs of ${sales}?` }).waitFor();
  await check("clear-confirmation");
  await page.getByRole("button", { name: "Yes, delete them" }).click();
  const cleared = await page.getByRole("status").filter({ hasText: /This request deleted [0-9]+ logs/ }).textContent();
  if (/job/.test(cleared)) await page.locator("[data-testid=job][data-status=complete]").waitFor();
  await page.getByText("No webhook matches.").waitFor();
  log(`clear: ${cleared.trim()}`);

  step = "delete the instance";
  await page.goto(`${BASE}/console#/instances`);
  // By keyboard: the Delete button, Enter, and the confirmation takes the focus; Enter again.
  await page.getByRole("button", { name: `Delete ${id}`, exact: true }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: `Yes, delete ${id}`, exact: true }).waitFor();
  await check("delete-confirmation");
  const focused = await page.evaluate(() => document.activeElement?.textContent?.trim());
  if (focused !== `Yes, delete ${id}`) fail(`the focus is on ${JSON.stringify(focused)}, not the confirmation`);
  await page.keyboard.press("Enter");
  await page.getByText(`Instance ${id} was deleted.`).waitFor();
  await page.locator(`tr[data-instance="${id}"]`).waitFor({ state: "detached" });

  step = "recover as a job, complete";
  // The recover started in the second tab has gone on as a job meanwhile; the tab, left open,
  // follows it until it is complete.
  await watch(job, "data-status", "complete", jobSeen, 180000);
  const jobCount = Number(await job.getAttribute("data-count"));
  if (jobCount !== gone.failed) fail(`the job queued ${jobCount} in all, want ${gone.failed}`);
  await job.getByRole("progressbar", { name: "Recover progress" }).waitFor();
  log(`the job went ${jobSeen.join(" → ")}: ${jobCount} webhooks queued in all`);
  await check("recover-progress", tab);
  await tab.close();

  step = "requests";
  const origin = new URL(BASE).origin;
  const asset = (u) => u.pathname === "/console" || u.pathname.startsWith("/console/");
  let withKey = 0;
  for (const r of requests) {
    const u = new URL(r.url);
    if (u.origin !== origin) fail(`${r.method} ${r.url} (during ${r.step}) is not the page's origin`);
    if (asset(u)) continue;
    if (!u.pathname.startsWith("/api/")) fail(`${r.method} ${r.url} (during ${r.step}) is neither an asset nor the API`);
    if (!r.key) fail(`${r.method} ${r.url} (during ${r.step}) went without the API key`);
    withKey++;
  }
  if (problems.length) fail(problems.join("\n"));
  log(`${requests.length} requests, all to ${origin}; ${withKey} API calls, each with the key; ${requests.length - withKey} assets`);
  console.log(JSON.stringify({ ok: true, requests: requests.length, apiCalls: withKey, axe: axeResults }));
} catch (e) {
  await page.screenshot({ path: `${SHOTS}/failure.tmp.png`, fullPage: true }).catch(() => {});
  console.error(`FAIL at step "${step}": ${e.message}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
