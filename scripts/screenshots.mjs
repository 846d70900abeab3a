// The Airflow pages of docs/img/, taken in headless Chromium at 1280x900 with playwright-core
// (see scripts/screenshots.sh, which starts the API server this reads from).
//   node scripts/screenshots.mjs http://127.0.0.1:PORT RUN_ID OUT_DIR
import { chromium } from "playwright-core";

const [base, runId, out] = process.argv.slice(2);
const dag = `${base}/dags/insiders_monthly`;
const run = `${dag}/runs/${encodeURIComponent(runId)}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

async function shot(url, name, prepare) {
  await page.goto(url, { waitUntil: "networkidle" });
  await page.waitForTimeout(1500);
  if (prepare) await prepare();
  await page.waitForTimeout(1000);
  await page.screenshot({ path: `${out}/${name}` });
  console.log(`screenshot ${name}: ${url}`);
}

await shot(run, "airflow-grid.png");
await shot(run, "airflow-graph.png", async () => {
  await page.getByRole("button", { name: /graph/i }).first().click();
  await page.waitForTimeout(2500);
});
await shot(`${run}/tasks/select`, "airflow-task-log.png", async () => {
  await page.waitForTimeout(2000);
});
await shot(dag, "airflow-trigger.png", async () => {
  await page.getByTestId("trigger-dag-button").first().click();
  await page.waitForTimeout(2500);
});
await shot(`${base}/plugin/insiders`, "airflow-plugin.png", async () => {
  await page.waitForTimeout(2500);
});
await browser.close();
