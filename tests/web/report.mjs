// Opens an HTML report of `sufler eval` in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core) and checks that it reads as a report: the title, the metrics table, at
// least MIN_PLOTS plots each drawn (an <svg> with marks), the word diff of a worst case, and
// not one network request (the page must be self-contained).
//
//   node tests/web/report.mjs REPORT.html MIN_PLOTS ARTIFACTS_DIR
//
// Writes ARTIFACTS_DIR/<REPORT's name>.png (full page). Exits 1 with a message on any failed check.
// CHROMIUM overrides the browser path.

import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import process from 'node:process';

const [reportArg, minPlotsArg, artifactsArg] = process.argv.slice(2);
if (!reportArg || !minPlotsArg || !artifactsArg) {
  console.error('usage: node tests/web/report.mjs REPORT.html MIN_PLOTS ARTIFACTS_DIR');
  process.exit(2);
}
const report = resolve(reportArg);
const minPlots = Number(minPlotsArg);
const artifacts = resolve(artifactsArg);
mkdirSync(artifacts, { recursive: true });
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`report test: Chromium is missing at ${executablePath}: run ./setup`);
  process.exit(1);
}
const { chromium } = await import('playwright-core');

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--disable-background-networking', '--disable-component-update', '--disable-gpu', '--no-first-run'],
});
const failures = [];
const check = (condition, message) => { if (!condition) failures.push(message); };
try {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 }, locale: 'ru-RU' })).newPage();
  const reportUrl = pathToFileURL(report).href;
  const requests = [];
  page.on('request', (request) => { if (request.url() !== reportUrl) requests.push(request.url()); });
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(reportUrl, { waitUntil: 'load' });

  const title = (await page.locator('h1').textContent()) || '';
  check(/[а-яё]/i.test(title), `the title is not Russian text: «${title}»`);
  check(await page.locator('table').first().isVisible(), 'no metrics table');
  const plots = await page.locator('section.plot').evaluateAll((sections) => sections.map((s) => ({
    title: s.querySelector('h2')?.textContent || '',
    svg: !!s.querySelector('svg'),
    marks: s.querySelectorAll('svg rect, svg path, svg polyline, svg circle').length,
    width: s.querySelector('svg')?.getBoundingClientRect().width || 0,
  })));
  const drawn = plots.filter((p) => p.svg && p.marks > 2 && p.width > 200);
  check(drawn.length >= minPlots, `${drawn.length} drawn plots, expected at least ${minPlots}: ${JSON.stringify(plots)}`);
  check((await page.locator('.case ins, .case del').count()) > 0, 'no word diff in the worst cases');
  check(requests.length === 0, `the page made network requests: ${requests.join(', ')}`);
  check(errors.length === 0, `page errors: ${errors.join('; ')}`);
  await page.screenshot({ path: join(artifacts, `${basename(report, '.html')}.png`), fullPage: true });
  console.log(`report test: «${title}», ${drawn.length} plots: ${drawn.map((p) => p.title).join(' | ')}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.error(`report test failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
