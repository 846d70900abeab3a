// The Airflow pages of docs/img/, taken in headless Chromium at 1280x900 with playwright-core
// (see scripts/screenshots.sh, which starts the API server this reads from, or points it at the
// compose stack's). With AIRFLOW_USER and AIRFLOW_PASSWORD set, it first signs in through the
// UI's login form (the compose stack's simple auth manager), as a user would.
//   node scripts/screenshots.mjs http://127.0.0.1:PORT RUN_ID OUT_DIR
import { chromium } from "playwright-core";

const [base, runId, out] = process.argv.slice(2);
const dag = `${base}/dags/insiders_monthly`;
const run = `${dag}/runs/${encodeURIComponent(runId)}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
// one browser context: the login's token cookie is shared by both pages below
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
if (process.env.AIRFLOW_USER) {
  await page.goto(`${base}/`, { waitUntil: "networkidle" });
  await page.waitForURL(/\/auth\/login/, { timeout: 30000 });
  await page.locator('input[name="username"]').fill(process.env.AIRFLOW_USER);
  await page.locator('input[name="password"]').fill(process.env.AIRFLOW_PASSWORD || "");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/auth/"), { timeout: 30000 });
  await page.waitForLoadState("networkidle");
  console.log(`signed in as ${process.env.AIRFLOW_USER}`);
}

async function shot(url, name, prepare) {
  await page.goto(url, { waitUntil: "networkidle" });
  await page.waitForTimeout(1500);
  if (prepare) await prepare();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${out}/${name}` });
  console.log(`screenshot ${name}: ${url}`);
}

await shot(run, "airflow-grid.png", async () => {
  await page.getByRole("button", { name: "Show Grid (Press g)" }).click();
});
await shot(`${run}/tasks/tier`, "airflow-task-log.png", async () => {
  await page.getByRole("button", { name: "Press f for fullscreen" }).click();
  await page.waitForTimeout(1500);
});
// the graph's chain of ten tasks is small at 1280 px: twice the pixels, cropped to the graph
const sharpContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 2,
  storageState: await context.storageState() });
const sharp = await sharpContext.newPage();
await sharp.goto(run, { waitUntil: "networkidle" });
await sharp.getByRole("button", { name: "Show Graph (Press g)" }).click();
await sharp.waitForTimeout(3000);
const boxes = await sharp.$$eval(".react-flow__node", (nodes) =>
  nodes.map((n) => n.getBoundingClientRect()).map((r) => [r.left, r.top, r.right, r.bottom]));
const [x0, y0] = [Math.min(...boxes.map((b) => b[0])), Math.min(...boxes.map((b) => b[1]))];
const [x1, y1] = [Math.max(...boxes.map((b) => b[2])), Math.max(...boxes.map((b) => b[3]))];
await sharp.screenshot({ path: `${out}/airflow-graph.png`,
  clip: { x: x0 - 12, y: y0 - 12, width: x1 - x0 + 24, height: y1 - y0 + 24 } });
console.log("screenshot airflow-graph.png");
// the form is taller than the window: a taller window, the Run section open
await page.setViewportSize({ width: 1280, height: 1250 });
await shot(dag, "airflow-trigger.png", async () => {
  await page.getByTestId("trigger-dag-button").first().click();
  await page.waitForTimeout(2000);
  await page.getByRole("button", { name: /^Run$/ }).first().click();
  await page.waitForTimeout(1000);
});
await shot(`${base}/plugin/insiders`, "airflow-plugin.png", async () => {
  await page.waitForTimeout(2500);
});
await browser.close();
