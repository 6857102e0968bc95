// End-to-end test of the operator page in headless Chromium (Debian's /usr/bin/chromium driven
// by playwright-core): loading state, an API error in the status area, suggestions with the
// order number filled in and gaps highlighted, live checks with wavy underlines and Russian
// messages, code-point offsets with an emoji, and the polite rewrite with its diff and reasons.
//
//   node tests/web/page.mjs http://127.0.0.1:PORT ARTIFACTS_DIR
//
// The server must be running and ready. Writes ARTIFACTS_DIR/page.png at the end (and
// ARTIFACTS_DIR/failure.png when a check fails). Exits 1 with a message on any failed check.
// CHROMIUM overrides the browser path.

import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import process from 'node:process';

const [url, artifactsArg] = process.argv.slice(2);
if (!url || !artifactsArg) {
  console.error('usage: node tests/web/page.mjs SERVER_URL ARTIFACTS_DIR');
  process.exit(2);
}
const artifacts = resolve(artifactsArg);
mkdirSync(artifacts, { recursive: true });
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(executablePath)) {
  console.error(`web test: Chromium is missing at ${executablePath}: run ./setup (it installs Debian's chromium)`);
  process.exit(1);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (error) {
  console.error(`web test: playwright-core is missing (${error.message}): run ./setup (npm ci --prefix tests/web)`);
  process.exit(1);
}

const CLIENT_NAME = 'Анна';
const CLIENT_MESSAGE = 'где мой заказ 48213??? уже неделю жду';
const RUDE_DRAFT = 'привет, щас гляну твой заказ, подожди';
const EMOJI_DRAFT = 'привет 🙂🙂 щас гляну, подожди';
const TOKEN = 'operator-token-for-the-page-test';

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

const started = Date.now();
function step(text) {
  console.log(`web test [${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
}

// The machine's network is closed except for loopback: keep Chromium's background services
// (updates, safe browsing, metrics) from reaching out; host names other than the local ones do
// not resolve.
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: [
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-domain-reliability',
    '--disable-client-side-phishing-detection',
    '--disable-sync',
    '--disable-quic',
    '--disable-gpu',
    '--no-first-run',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ru-RU' });
const page = await context.newPage();
page.setDefaultTimeout(30_000);
const pageErrors = [];
page.on('pageerror', (error) => pageErrors.push(String(error)));
page.on('console', (message) => {
  // Failed resource loads (the 503s of /readyz while loading, the faked 401) are expected.
  if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) pageErrors.push(message.text());
});

const byTestId = (id) => page.locator(`[data-testid="${id}"]`);

async function statusText() {
  return (await byTestId('status').textContent().catch(() => '')) || '';
}

/** Waits for `locator` to have at least one element; on timeout fails with the status area's text. */
async function waitFor(locator, what, timeout = 30_000) {
  try {
    await locator.first().waitFor({ state: 'attached', timeout });
  } catch (_) {
    throw new CheckFailed(`${what} did not appear within ${timeout / 1000} s; status area: «${await statusText()}»`);
  }
}

let exitCode = 0;
try {
  // 1. Loading: the first two /readyz answers are a faked 503, then the real server answers.
  let fakedLoading = 2;
  await page.route('**/readyz', async (route) => {
    if (fakedLoading > 0) {
      fakedLoading -= 1;
      await route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'not_ready', message: 'модель ещё загружается, повторите, пожалуйста, запрос' } }),
      });
    } else {
      await route.continue();
    }
  });
  step(`opening ${url}`);
  const response = await page.goto(url, { waitUntil: 'load' });
  check(response && response.ok(), `GET ${url} answered ${response && response.status()}`);
  check((await page.title()).includes('Суфлёр'), `unexpected page title «${await page.title()}»`);
  await page.waitForFunction(() => document.querySelector('[data-testid="status"]').textContent.includes('Модель загружается'),
    null, { timeout: 10_000 }).catch(() => {
    throw new CheckFailed('the status area never said «Модель загружается…» while /readyz was 503');
  });
  check(await byTestId('suggest-button').isDisabled(), '«Подобрать ответ» is enabled while the model is loading');
  step('saw «Модель загружается…»; waiting for ready');
  await page.locator('[data-testid="ready-indicator"][data-state="ready"]').waitFor({ timeout: 120_000 });
  await page.unroute('**/readyz');
  check(await byTestId('suggest-button').isEnabled(), '«Подобрать ответ» is still disabled once ready');

  // 2. An API error (a faked 401 with the server's own message) is shown in the status area and
  // opens the token field; the token saved there survives a reload and is sent as a bearer token
  // (the --dev server ignores it).
  const unauthorized = 'нужен токен доступа: передайте его, пожалуйста, в заголовке Authorization: Bearer …';
  await page.route('**/v1/suggest', (route) =>
    route.fulfill({
      status: 401,
      contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'unauthorized', message: unauthorized } }),
    }), { times: 1 });
  await byTestId('client-message').fill(CLIENT_MESSAGE);
  await byTestId('suggest-button').click();
  await page.locator('[data-testid="status"][data-kind="error"]').waitFor({ timeout: 10_000 });
  const errorText = await statusText();
  check(errorText.includes('Нужен токен доступа: передайте его'), `the 401 message is not in the status area: «${errorText}»`);
  check(await page.locator('#access').evaluate((d) => d.open), 'the access settings did not open on 401');
  check(await byTestId('token-input').evaluate((input) => input === document.activeElement), 'the token field is not focused on 401');
  await page.unroute('**/v1/suggest');
  await byTestId('token-input').fill(TOKEN);
  await byTestId('token-save').click();
  await page.reload({ waitUntil: 'load' });
  await page.locator('[data-testid="ready-indicator"][data-state="ready"]').waitFor({ timeout: 30_000 });
  check((await byTestId('token-input').inputValue()) === TOKEN, 'the token is not kept in localStorage across a reload');
  step('a 401 is shown in the status area; the token is saved');

  // 3. Suggestions for the rude client message.
  await byTestId('client-name').fill(CLIENT_NAME);
  await byTestId('client-message').fill(CLIENT_MESSAGE);
  const suggestRequest = page.waitForRequest((r) => r.url().endsWith('/v1/suggest'));
  await byTestId('suggest-button').click();
  const authorization = (await suggestRequest).headers().authorization;
  check(authorization === `Bearer ${TOKEN}`, `the saved token is not sent as a bearer token (Authorization: ${authorization})`);
  await waitFor(byTestId('suggestion'), 'a suggestion');
  const count = await byTestId('suggestion').count();
  const suggestionText = (await byTestId('suggestion-text').first().textContent()) || '';
  const title = (await byTestId('suggestion-title').first().textContent()) || '';
  step(`${count} suggestion(s); the first: «${title}»: ${suggestionText}`);
  check(suggestionText.includes('48213'), `the first suggestion does not hold the order number 48213: «${suggestionText}»`);
  check((await byTestId('suggestion-score').first().textContent()).match(/\d/), 'the first suggestion shows no score');

  // 4. Choosing it puts its text into the draft, highlights the gaps and sends feedback.
  const feedback = page.waitForResponse((r) => r.url().endsWith('/v1/feedback') && r.request().method() === 'POST');
  await byTestId('suggestion').first().click();
  const feedbackResponse = await feedback;
  check(feedbackResponse.status() === 201, `feedback answered ${feedbackResponse.status()}: ${await feedbackResponse.text()}`);
  const sent = feedbackResponse.request().postDataJSON();
  check(sent.message === CLIENT_MESSAGE && sent.chosen && sent.suggestion_id, `unexpected feedback body ${JSON.stringify(sent)}`);
  const draft = byTestId('draft');
  const draftValue = await draft.inputValue();
  check(draftValue === suggestionText, `the draft does not hold the suggestion's text:\n  draft: «${draftValue}»\n  suggestion: «${suggestionText}»`);
  check(draftValue.includes('48213'), `the draft does not hold the order number 48213: «${draftValue}»`);
  const gapCount = (draftValue.match(/\[[^\]\n]+\]/g) || []).length;
  const gaps = byTestId('draft-gap');
  check((await gaps.count()) === gapCount, `the draft has ${gapCount} gap(s) but ${await gaps.count()} are highlighted`);
  if (gapCount) {
    const gap = await gaps.first().evaluate((node) => ({ text: node.textContent, background: getComputedStyle(node).backgroundColor }));
    check(/^\[.+\]$/.test(gap.text), `the highlighted gap is «${gap.text}», not a bracketed gap`);
    check(gap.background !== 'rgba(0, 0, 0, 0)', 'the gap has no background colour');
    check(await byTestId('gap-hint').isVisible(), 'the gap hint is not shown');
  }
  await expectMirrorsMatch();
  step(`the draft holds the template, ${gapCount} gap(s) highlighted, feedback recorded`);

  // 4b. Choosing a template over the operator's own text offers to bring that text back.
  if (count > 1) {
    const own = 'Мой собственный черновик';
    await draft.fill(own);
    await byTestId('suggestion').nth(1).click();
    check((await draft.inputValue()) !== own, 'the second suggestion did not replace the draft');
    await byTestId('restore-draft').click();
    check((await draft.inputValue()) === own, '«Вернуть прежний черновик» did not restore the draft');
    step('the own draft is restored after choosing a template over it');
  }

  // 5. Code-point offsets: an emoji before the issues must not shift the underlines.
  await draft.fill(EMOJI_DRAFT);
  await byTestId('check-button').click();
  await waitFor(byTestId('draft-issue'), 'an underlined issue in the emoji draft');
  const api = await (await page.request.post(`${url}/v1/check`, {
    data: { text: EMOJI_DRAFT, dialogue: [{ role: 'client', text: CLIENT_MESSAGE }], client: { name: CLIENT_NAME }, profile: 'chat' },
  })).json();
  const chars = Array.from(EMOJI_DRAFT);
  const expected = api.issues.filter((i) => i.end > i.start).map((i) => chars.slice(i.start, i.end).join(''));
  const underlined = await byTestId('draft-issue').allTextContents();
  for (const fragment of expected) {
    check(underlined.some((u) => fragment.includes(u) || u.includes(fragment)),
      `the issue «${fragment}» (code points) is not underlined; underlined: ${JSON.stringify(underlined)}`);
  }
  check(underlined.every((u) => !/[\uD800-\uDFFF]/.test(u.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))),
    `an underline cuts an emoji in half: ${JSON.stringify(underlined)}`);
  await expectMirrorsMatch();
  step(`emoji draft: underlined ${JSON.stringify(underlined)}`);

  // 6. The rude draft, typed key by key: one debounced check once typing stops, issues
  // underlined (wavy, coloured by severity) and listed in Russian.
  let checksWhileTyping = 0;
  const countChecks = (request) => {
    if (request.url().endsWith('/v1/check')) checksWhileTyping += 1;
  };
  await draft.fill('');
  page.on('request', countChecks);
  await draft.pressSequentially(RUDE_DRAFT, { delay: 25 });
  await page.waitForFunction(
    (text) => {
      const items = document.querySelectorAll('[data-testid="draft-issue"]');
      const layer = document.querySelector('[data-testid="draft-mirror"]').textContent.replace(/\u200b$/, '');
      return items.length > 0 && layer === text && !document.querySelector('#issues-block.is-stale');
    },
    RUDE_DRAFT,
    { timeout: 30_000 },
  ).catch(async () => {
    throw new CheckFailed(`the rude draft got no underlined issue from the live check; status area: «${await statusText()}»`);
  });
  page.off('request', countChecks);
  check(checksWhileTyping >= 1 && checksWhileTyping <= 2,
    `typing ${Array.from(RUDE_DRAFT).length} characters sent ${checksWhileTyping} checks (the check is not debounced)`);
  const underline = await byTestId('draft-issue').first().evaluate((node) => {
    const style = getComputedStyle(node);
    return { style: style.textDecorationStyle, line: style.textDecorationLine, color: style.textDecorationColor };
  });
  check(underline.line.includes('underline') && underline.style === 'wavy', `the issue is not a wavy underline: ${JSON.stringify(underline)}`);
  const messages = await byTestId('issue-message').allTextContents();
  check(messages.length > 0, 'no issue messages are listed');
  check(messages.every((m) => /[А-Яа-яЁё]/.test(m)), `an issue message is not in Russian: ${JSON.stringify(messages)}`);
  check(messages.some((m) => m.includes('«Вы»')), `no issue message mentions «Вы»: ${JSON.stringify(messages)}`);
  check((await byTestId('issue-count').textContent()) === String(messages.length), 'the issue count does not match the list');
  await expectMirrorsMatch();
  step(`${messages.length} issue(s) after ${checksWhileTyping} debounced check(s): ${messages.join(' | ')}`);

  // 7. Applying a replacement changes the draft and checks again.
  const replacement = byTestId('issue-replacement').first();
  if (await replacement.count()) {
    const before = await draft.inputValue();
    await replacement.click();
    await page.waitForFunction((text) => document.querySelector('[data-testid="draft"]').value !== text, before, { timeout: 5000 })
      .catch(() => {
        throw new CheckFailed('clicking a replacement did not change the draft');
      });
    step(`a replacement applied: «${await draft.inputValue()}»`);
    await draft.fill(RUDE_DRAFT);
    await page.waitForFunction(() => !document.querySelector('#issues-block.is-stale')
      && document.querySelectorAll('[data-testid="draft-issue"]').length > 0, null, { timeout: 30_000 });
  }

  // 8. The polite rewrite: text, word-level diff and the reasons.
  await byTestId('rewrite-button').click();
  await byTestId('rewrite-panel').waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
    throw new CheckFailed(`the rewrite did not appear; status area: «${await statusText()}»`);
  });
  const rewrite = (await byTestId('rewrite-text').textContent()) || '';
  step(`rewrite: «${rewrite}»`);
  check(rewrite.includes('Здравствуйте'), `the rewrite has no «Здравствуйте»: «${rewrite}»`);
  check(/(^|[^А-Яа-яЁё])(Вы|Ваш[А-Яа-яЁё]*|Вас|Вам)([^А-Яа-яЁё]|$)/.test(rewrite), `the rewrite has no «Вы» or «Ваш»: «${rewrite}»`);
  check(/подождите/i.test(rewrite), `the rewrite has no «подождите»: «${rewrite}»`);
  check(!rewrite.includes('щас'), `the rewrite still says «щас»: «${rewrite}»`);
  check((await byTestId('diff-del').count()) > 0, 'the diff shows no deletion');
  check((await byTestId('diff-ins').count()) > 0, 'the diff shows no insertion');
  const deleted = (await byTestId('diff-del').allTextContents()).join(' ');
  check(deleted.includes('щас'), `the diff does not strike «щас» through: ${deleted}`);
  const strike = await byTestId('diff-del').first().evaluate((n) => getComputedStyle(n).textDecorationLine);
  check(strike.includes('line-through'), `deletions are not struck through (${strike})`);
  const reasons = await byTestId('rewrite-reason').allTextContents();
  check(reasons.length > 0 && reasons.every((r) => /[А-Яа-яЁё]/.test(r)), `the edits have no Russian reasons: ${JSON.stringify(reasons)}`);
  step(`${reasons.length} edit(s): ${reasons.join(' | ')}`);

  check(pageErrors.length === 0, `the page reported errors: ${pageErrors.join('; ')}`);
  await page.screenshot({ path: join(artifacts, 'page.png'), fullPage: true });

  // 9. Taking the rewrite into the draft.
  await byTestId('rewrite-accept').click();
  check((await draft.inputValue()) === rewrite, '«Взять в черновик» did not put the rewrite into the draft');
  check(await byTestId('rewrite-panel').isHidden(), 'the rewrite panel stays open after taking it');

  // 10. Sending the reply (copying it) moves the dialogue on: the next draft is a later message,
  // so no greeting is asked for, and the name already used is counted.
  check(await byTestId('first-message').isChecked(), 'a new dialogue does not start as the first message');
  await byTestId('copy-button').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="first-message"]').checked, null, { timeout: 5000 })
    .catch(() => { throw new CheckFailed('copying the reply did not mark the dialogue as started'); });
  const state = (await byTestId('dialogue-state').textContent()) || '';
  check(!rewrite.includes(CLIENT_NAME) || /уже звучало/.test(state), `the name use is not counted: «${state}»`);
  const laterCheck = page.waitForRequest((r) => r.url().endsWith('/v1/check'));
  await draft.fill('Заказ 48213 передан курьеру.');
  const laterBody = (await laterCheck).postDataJSON();
  check(laterBody.first_message === false, `a later draft is sent as first_message=${laterBody.first_message}`);
  step(`after sending: first_message=false, ${state.trim()}`);
  step(`all checks passed; screenshot: ${join(artifacts, 'page.png')}`);
} catch (error) {
  exitCode = 1;
  const message = error instanceof CheckFailed ? error.message : String(error && error.stack ? error.stack : error);
  console.error(`web test FAILED: ${message}`);
  if (pageErrors.length) console.error(`page errors: ${pageErrors.join('; ')}`);
  try {
    await page.screenshot({ path: join(artifacts, 'failure.png'), fullPage: true });
    console.error(`screenshot: ${join(artifacts, 'failure.png')}`);
  } catch (_) {
    // The page may be gone.
  }
} finally {
  await browser.close();
}
process.exit(exitCode);

/** The two layers under the textarea hold exactly the draft's text (the highlights line up). */
async function expectMirrorsMatch() {
  const state = await page.evaluate(() => {
    const strip = (id) => document.querySelector(`[data-testid="${id}"]`).textContent.replace(/\u200b$/, '');
    const area = document.querySelector('[data-testid="draft"]');
    const layer = document.querySelector('[data-testid="draft-mirror"]');
    return {
      value: area.value,
      gaps: strip('draft-gaps'),
      issues: strip('draft-mirror'),
      areaHeight: area.getBoundingClientRect().height,
      layerHeight: layer.getBoundingClientRect().height,
      scrollHeight: layer.scrollHeight,
    };
  });
  check(state.gaps === state.value && state.issues === state.value, 'the highlight layers do not hold the draft text');
  check(Math.abs(state.areaHeight - state.layerHeight) < 1, `the layers are not the textarea's size (${state.layerHeight} vs ${state.areaHeight})`);
  check(state.scrollHeight <= state.layerHeight + 1, `the highlight layer overflows the textarea (${state.scrollHeight} > ${state.layerHeight})`);
}
