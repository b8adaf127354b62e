// `convtrace ui` and `report --html` end to end: the real program on a demo
// store, `convtrace collect` writing into the same store, and (with --browser)
// Debian's Chromium driven headless by playwright-core.
//
//   node ui_browser_test.js --http|--browser CONVTRACE SCREENSHOT_DIR
//
// Exit status: 0 passed, 1 failed, 77 skipped (no Chromium or no
// tests/node/node_modules/playwright-core; in CI, where tools/install-deps.sh
// installs both, their absence fails instead).
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const http = require('http');

const [mode, convtrace, screenshotDir] = process.argv.slice(2);
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const SKIP = 77;
const children = [];
let failures = 0;
let checks = 0;

function check(ok, what, detail) {
  checks++;
  if (!ok) {
    failures++;
    console.log('FAIL: ' + what + (detail !== undefined ? '\n  ' + String(detail).slice(0, 2000) : ''));
  } else {
    console.log('ok: ' + what);
  }
}

function skip(why) {
  // The servers started so far must not outlive the test.
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  if (inCi) {
    console.log('FAIL: ' + why + ' (CI installs it: tools/install-deps.sh)');
    process.exit(1);
  }
  console.log('SKIP: ' + why);
  process.exit(SKIP);
}

function cli(...args) {
  return execFileSync(convtrace, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// Starts `convtrace ARGS` and resolves with the first stdout line matching `pattern`.
function start(args, pattern) {
  return new Promise((resolve, reject) => {
    const child = spawn(convtrace, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error('no "' + pattern + '" from ' + args.join(' ') + ': ' + err)), 30000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => reject(new Error(args.join(' ') + ' exited ' + code + ': ' + err)));
  });
}

function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// pico-USD (digits) as the exact decimal USD text the CLI prints.
function picoToUsd(pico) {
  const v = BigInt(pico);
  const whole = v / 1000000000000n;
  let frac = (v % 1000000000000n).toString().padStart(12, '0').replace(/0+$/, '');
  return whole.toString() + (frac ? '.' + frac : '');
}

let spanCounter = 0;
function hex(n, width) { return n.toString(16).padStart(width, '0'); }

// One priced model call of `conversation` as OTLP/JSON, sent to collect.
async function sendSpan(collectUrl, conversation, user, input, output) {
  spanCounter++;
  const now = BigInt(Date.now()) * 1000000n;
  const attr = (key, value) => ({ key, value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value } });
  const body = JSON.stringify({ resourceSpans: [{
    resource: { attributes: [attr('service.name', 'ui-test')] },
    scopeSpans: [{ scope: { name: 'ui-test' }, spans: [{
      traceId: hex(0xabc000 + spanCounter, 32), spanId: hex(0xdef000 + spanCounter, 16), name: 'chat gpt-4o', kind: 3,
      startTimeUnixNano: String(now), endTimeUnixNano: String(now + 2500000n),
      attributes: [attr('gen_ai.conversation.id', conversation), attr('user.id', user),
                   attr('gen_ai.operation.name', 'chat'), attr('gen_ai.request.model', 'gpt-4o'),
                   attr('gen_ai.usage.input_tokens', 12), attr('gen_ai.usage.output_tokens', 7),
                   attr('gen_ai.input.messages', input), attr('gen_ai.output.messages', output)],
      status: {} }] }] }] });
  const res = await request(collectUrl + '/v1/traces', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
  if (res.status !== 200) throw new Error('collect answered ' + res.status + ': ' + res.body);
}

const XSS_SCRIPT = '<script>window.__xss = 1</script>';
const XSS_IMG = '"><img src=x onerror="window.__xss = 2">';

async function httpChecks(uiUrl, db) {
  const page = await request(uiUrl);
  check(page.status === 200 && page.body.includes('app.js'), 'GET / serves the page');
  const csp = page.headers['content-security-policy'] || '';
  check(csp.includes("default-src 'none'") && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'),
        'a Content-Security-Policy without inline scripts', csp);
  check(page.headers['x-content-type-options'] === 'nosniff', 'nosniff');
  const js = await request(uiUrl + 'app.js');
  check(js.status === 200 && /javascript/.test(js.headers['content-type']) && !js.body.includes('innerHTML ='),
        'app.js is served and never assigns innerHTML');
  const uplot = await request(uiUrl + 'uplot.js');
  check(uplot.status === 200, 'the charting library is served from the program');
  for (const id of ['support_789', 'support_790']) {
    const api = await request(uiUrl + 'api/conversation?id=' + id);
    check(api.body + '\n' === cli('conversation', id, '--json', '--db', db), '/api/conversation equals conversation --json for ' + id);
  }
  const rows = JSON.parse((await request(uiUrl + 'api/conversations?sort=cost')).body).rows;
  check(JSON.stringify(rows) === JSON.stringify(JSON.parse(cli('conversations', '--sort', 'cost', '--json', '--db', db))),
        '/api/conversations equals conversations --json');
  const missing = await request(uiUrl + 'api/conversation?id=nope');
  check(missing.status === 404 && JSON.parse(missing.body).error, 'an unknown conversation is a JSON 404');

  const [, tokenUrl] = await start(['ui', '--db', db, '--listen', '127.0.0.1:0', '--token', 's3cret'], /convtrace ui: (\S+)\n/);
  check(tokenUrl.endsWith('?token=s3cret'), 'the printed URL carries the token', tokenUrl);
  const base = tokenUrl.replace(/\?.*$/, '');
  check((await request(base + 'api/live')).status === 401, 'the API refuses a request without the token');
  check((await request(base + 'api/live', { headers: { Authorization: 'Bearer wrong' } })).status === 401, 'and with a wrong one');
  check((await request(base + 'api/live', { headers: { Authorization: 'Bearer s3cret' } })).status === 200, 'and answers with it');
}

async function browserChecks(uiUrl, collectUrl, db, work) {
  const chromiumPath = process.env.CONVTRACE_CHROMIUM || '/usr/bin/chromium';
  let playwright;
  try {
    playwright = require(path.join(__dirname, '..', 'node', 'node_modules', 'playwright-core'));
  } catch (e) {
    skip('tests/node/node_modules/playwright-core is missing (npm ci --prefix tests/node)');
  }
  if (!fs.existsSync(chromiumPath)) skip(chromiumPath + ' is missing (apt-get install chromium)');
  fs.mkdirSync(screenshotDir, { recursive: true });
  const browser = await playwright.chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(m.type() + ': ' + m.text()); });
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    const ready = async () => {
      await page.waitForFunction(() => document.querySelector('main[data-ready]'), null, { timeout: 20000 });
      await page.waitForTimeout(150);  // a chart draws on the next frame
    };
    const visit = async (base, hash, name) => {
      problems.length = 0;
      await page.goto(base + '#' + hash);
      await ready();
      const error = await page.$('[data-testid=page-error]');
      check(!error, name + ': loads', error ? await error.textContent() : '');
      check(problems.length === 0, name + ': no console errors', problems.join('\n'));
      await page.screenshot({ path: path.join(screenshotDir, name + '.png'), fullPage: true });
    };

    // Every page, with no console errors.
    for (const [hash, name] of [['/overview', 'overview'], ['/conversations', 'conversations'],
                                ['/conversation?id=support_790', 'conversation'], ['/workflows', 'workflows'],
                                ['/workflow?type=agent_v1', 'workflow-runs'], ['/users', 'users'], ['/models', 'models']]) {
      await visit(uiUrl, hash, name);
    }
    const runs = JSON.parse(cli('workflows', '--runs', '--type', 'agent_v1', '--json', '--db', db));
    await visit(uiUrl, '/run?id=' + encodeURIComponent(runs[0].workflow_id) + '&trace=' + runs[0].trace_id, 'workflow-run');
    check((await page.textContent('[data-testid=run-cost]')) === '$' + runs[0].cost_usd_exact, 'the run costs what workflows --runs --json says');

    // The figures equal --json.
    const byUser = JSON.parse(cli('report', '--by', 'user', '--json', '--db', db));
    const total = byUser.reduce((s, r) => s + BigInt(r.cost_pico_usd), 0n);
    await visit(uiUrl, '/overview', 'overview');
    check((await page.textContent('[data-testid=total-cost]')) === '$' + picoToUsd(total), 'overview cost = report --json total',
          await page.textContent('[data-testid=total-cost]') + ' vs ' + picoToUsd(total));
    // The spend chart by provider, then per hour: the choices go into the URL.
    await page.selectOption('[data-testid=spend-stack]', 'provider');
    await page.waitForSelector('[data-testid=spend-chart][data-stack=provider]', { timeout: 20000 });
    check(page.url().includes('stack=provider'), 'the stack is kept in the URL', page.url());
    check((await page.$$('[data-testid=spend-chart] canvas')).length > 0, 'the chart by provider is drawn');
    await page.selectOption('[data-testid=spend-bucket]', 'hour');
    await page.waitForSelector('[data-testid=spend-chart][data-bucket=hour], [data-testid=page-error]', { timeout: 20000 });
    check(!(await page.$('[data-testid=page-error]')), 'per hour without a range: the last two days', '');
    check(problems.length === 0, 'the spend chart: no console errors', problems.join('\n'));
    await page.screenshot({ path: path.join(screenshotDir, 'overview-hourly-by-provider.png'), fullPage: true });
    await visit(uiUrl, '/conversations', 'conversations');
    const listed = JSON.parse(cli('conversations', '--json', '--db', db));
    const cells = await page.$$eval('[data-testid=conversations] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    check(cells.length === listed.length, 'one row per conversation', cells.length + ' vs ' + listed.length);
    for (const c of listed) {
      const row = cells.find((r) => r[0] === c.conversation_id);
      check(row && row[8] === '$' + c.cost_usd_exact && row[5] === String(c.turns) && row[7] === String(c.errors),
            'conversations row ' + c.conversation_id + ' = --json', JSON.stringify(row));
    }
    const conv = JSON.parse(cli('conversation', 'support_789', '--json', '--db', db));
    await visit(uiUrl, '/conversation?id=support_789', 'conversation-789');
    const turnCosts = await page.$$eval('[data-testid=turn-cost]', (n) => n.map((x) => x.textContent));
    check(JSON.stringify(turnCosts) === JSON.stringify(conv.turns.map((t) => '$' + t.cost_usd_exact)), 'turn costs = conversation --json', turnCosts);
    check((await page.textContent('[data-testid=conversation-cost]')) === '$' + conv.cost_usd_exact, 'conversation cost = --json');

    // demo → conversation → turn → span, in three clicks.
    await visit(uiUrl, '/overview', 'overview');
    await page.click('[data-testid=top-conversations] a:text-is("support_790")');
    await ready();
    const turn2 = page.locator('[data-testid=turn][data-turn="2"]');
    check((await turn2.locator('.badge').textContent()) === 'recovered', 'turn 2 of support_790 is shown as recovered');
    check((await turn2.locator('[data-testid=turn-error]').textContent()).includes('upstream timeout after 30s'),
          'its error message is on the page');
    await turn2.locator('[data-testid=turn-head]').click();  // collapse …
    await turn2.locator('[data-testid=turn-head]').click();  // … and open it again
    await turn2.locator('[data-testid=span-row]', { hasText: 'upstream timeout' }).click();
    await page.waitForSelector('[data-testid=span-attributes]', { timeout: 20000 });
    const attrs = await page.textContent('[data-testid=span-attributes]');
    check(attrs.includes('error.type') && attrs.includes('std::runtime_error'), 'the span shows its attributes on click');
    await page.screenshot({ path: path.join(screenshotDir, 'span-details.png'), fullPage: true });

    // Hostile content stays text.
    await visit(uiUrl, '/conversation?id=xss_1', 'xss');
    check(await page.evaluate(() => window.__xss === undefined), 'no injected script ran');
    check((await page.$$('main img')).length === 0, 'no injected element exists');
    const bubbles = await page.$$eval('.bubble', (n) => n.map((x) => x.textContent).join('\n'));
    check(bubbles.includes(XSS_SCRIPT) && bubbles.includes(XSS_IMG), 'the prompts show as the characters they are', bubbles);
    await visit(uiUrl, '/conversations', 'conversations');
    check(await page.evaluate(() => window.__xss === undefined), 'a hostile user id is inert in the list too');

    // Live: a span stored after the page loaded appears without a reload.
    await visit(uiUrl, '/conversations', 'conversations');
    const marker = 'live_after_load';
    check(!(await page.textContent('main')).includes(marker), 'the new conversation is not there yet');
    await sendSpan(collectUrl, marker, 'live_user', 'hello', 'hi');
    await page.waitForFunction((m) => document.querySelector('main').textContent.includes(m), marker, { timeout: 20000 })
      .then(() => check(true, 'a span written after the page loaded appears'),
            (e) => check(false, 'a span written after the page loaded appears', e.message));
    await page.screenshot({ path: path.join(screenshotDir, 'live.png'), fullPage: true });

    // report --html: the same pages from file://, with no network request.
    const file = path.join(work, 'report.html');
    cli('report', '--html', file, '--db', db);
    const reportPage = await context.newPage();
    const requests = [];
    const reportProblems = [];
    reportPage.on('request', (r) => requests.push(r.url()));
    reportPage.on('console', (m) => { if (m.type() === 'error') reportProblems.push(m.text()); });
    reportPage.on('pageerror', (e) => reportProblems.push(e.message));
    const fileUrl = 'file://' + file;
    for (const hash of ['/overview', '/conversations', '/conversation?id=support_790', '/workflows', '/workflow?type=agent_v1', '/users', '/models']) {
      await reportPage.goto(fileUrl + '#' + hash);
      await reportPage.waitForFunction(() => document.querySelector('main[data-ready]'), null, { timeout: 20000 });
      check(!(await reportPage.$('[data-testid=page-error]')), 'report ' + hash + ' renders');
    }
    await reportPage.goto(fileUrl + '#/overview');
    await reportPage.waitForFunction(() => document.querySelector('main[data-ready]'), null, { timeout: 20000 });
    // The store as the report read it: with the span the live check added (collect prices it).
    const reported = JSON.parse(cli('report', '--by', 'user', '--json', '--db', db)).reduce((s, r) => s + BigInt(r.cost_pico_usd), 0n);
    check((await reportPage.textContent('[data-testid=total-cost]')) === '$' + picoToUsd(reported), 'the report shows the same total',
          (await reportPage.textContent('[data-testid=total-cost]')) + ' vs ' + picoToUsd(reported));
    await reportPage.screenshot({ path: path.join(screenshotDir, 'report.png'), fullPage: true });
    const foreign = requests.filter((u) => !u.startsWith(fileUrl) && !u.startsWith('data:'));
    check(foreign.length === 0, 'the report made no network request', foreign.join('\n'));
    check(reportProblems.length === 0, 'the report has no console errors', reportProblems.join('\n'));
  } finally {
    await browser.close();
  }
}

async function main() {
  if (mode !== '--http' && mode !== '--browser') {
    console.log('usage: node ui_browser_test.js --http|--browser CONVTRACE SCREENSHOT_DIR');
    process.exit(2);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'convtrace-ui-'));
  const db = path.join(work, 'demo.db');
  try {
    cli('demo', '--db', db);
    const [, collectPort] = await start(['collect', '--db', db, '--listen', '127.0.0.1:0'], /listening on http:\/\/127\.0\.0\.1:(\d+)/);
    const collectUrl = 'http://127.0.0.1:' + collectPort;
    await sendSpan(collectUrl, 'xss_1', XSS_IMG, XSS_SCRIPT, XSS_IMG);
    const [, uiUrl] = await start(['ui', '--db', db, '--listen', '127.0.0.1:0'], /convtrace ui: (\S+)\n/);
    if (mode === '--http') await httpChecks(uiUrl, db);
    else await browserChecks(uiUrl, collectUrl, db, work);
  } finally {
    for (const c of children) {
      if (c.exitCode === null) c.kill('SIGTERM');
    }
    await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.on('exit', r)))));
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log((checks - failures) + ' passed, ' + failures + ' failed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.log('FAIL: ' + (e.stack || e));
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  process.exit(1);
});
