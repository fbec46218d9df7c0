// Drives CryoProtect's web interface in real headless Chromium (Debian's package) with
// playwright-core, against a server started by run.sh. Seeds data through the public API, then
// does what a researcher does: sign in, search molecules, read a model's charts, train a new
// version and watch it finish, promote and roll back, edit a mixture (a new version), compare two
// and optimise one, verify a measurement,
// look at the system page. Writes screenshots of the main pages to SCREENSHOT_DIR.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const BASE = process.env.BASE_URL;
const SHOTS = process.env.SCREENSHOT_DIR;
const ROWS = 40; // FreeSolv molecules seeded as measurements
const PASSWORD = 'correct horse battery';
assert.ok(BASE && SHOTS && process.env.DATASET, 'BASE_URL, SCREENSHOT_DIR and DATASET are set by run.sh');
mkdirSync(SHOTS, { recursive: true });

// ---- seeding through the public API -------------------------------------------------------
async function call(token, method, path, body) {
  const res = await fetch(BASE + '/api/v1' + path, {
    method, headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function csvRows(file) {
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  const split = (line) => {
    const out = []; let cur = ''; let quoted = false;
    for (const ch of line) {
      if (ch === '"') quoted = !quoted;
      else if (ch === ',' && !quoted) { out.push(cur); cur = ''; } else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const cols = split(header);
  return lines.map((l) => Object.fromEntries(split(l).map((v, i) => [cols[i], v])));
}

const step = (name) => console.log(`browser test: ${name}`);

step('seeding through the API');
const ada = await call(null, 'POST', '/auth/register', { email: 'ada@lab.test', password: PASSWORD, display_name: 'Ada' });
const bob = await call(null, 'POST', '/auth/register', { email: 'bob@lab.test', password: PASSWORD, display_name: 'Bob' });
const seen = new Set();
for (const row of csvRows(process.env.DATASET).slice(0, ROWS)) {
  const m = await call(ada.access_token, 'POST', '/molecules', { smiles: row.smiles, name: row.iupac.slice(0, 120) });
  seen.add(m.molecule.id);
  await call(ada.access_token, 'POST', '/experiments', { molecule_id: m.molecule.id, property: 'Hydration Free Energy', value: Number(row.expt), unit: 'kcal/mol' });
  // A yes/no measurement too, for a classifier: the strongly hydrated (polar) molecules.
  await call(ada.access_token, 'POST', '/experiments', { molecule_id: m.molecule.id, property: 'Vitrified', value: Number(row.expt) < -4 });
}
async function finished(job) {
  for (let i = 0; i < 600 && !['succeeded', 'failed', 'cancelled'].includes(job.state); i++) {
    await new Promise((r) => setTimeout(r, 500));
    job = await call(ada.access_token, 'GET', `/models/jobs/${job.id}`);
  }
  return job;
}
const model = await call(ada.access_token, 'POST', '/models', { name: 'Hydration free energy (FreeSolv)', property: 'Hydration Free Energy' });
let job = await finished(await call(ada.access_token, 'POST', `/models/${model.id}/train`, { algorithm: 'gradient_boosting', features: 'rdkit', folds: 5 }));
assert.equal(job.state, 'succeeded', `seed training: ${job.error}`);
const classifier = await call(ada.access_token, 'POST', '/models', { name: 'Vitrifies on cooling', property: 'Vitrified' });
const classJob = await finished(await call(ada.access_token, 'POST', `/models/${classifier.id}/train`, { algorithm: 'logistic', features: 'cryo20' }));
assert.equal(classJob.state, 'succeeded', `classifier training: ${classJob.error}`);
await call(ada.access_token, 'POST', `/models/${classifier.id}/promote`, { version: 1, stage: 'production' });
const classValidation = await call(ada.access_token, 'GET', `/models/${classifier.id}/versions/1/validation`);
assert.equal(classValidation.task, 'classification');
await call(ada.access_token, 'POST', `/models/${model.id}/promote`, { version: 1, stage: 'production' });
const validation = await call(ada.access_token, 'GET', `/models/${model.id}/versions/1/validation`);
const expectedPoints = validation.predictions.length;
assert.equal(expectedPoints, seen.size, 'one held-out prediction per seeded molecule');

const team = await call(ada.access_token, 'POST', '/teams', { name: 'Cryo lab' });
await call(ada.access_token, 'PUT', `/teams/${team.id}/members/${bob.user.id}`, { role: 'editor' });
// Membership is an invitation: Bob accepts it.
const invitation = (await call(bob.access_token, 'GET', '/invitations')).find((i) => i.team_id === team.id);
await call(bob.access_token, 'POST', `/invitations/${invitation.id}/accept`);
const glycerol = (await call(bob.access_token, 'GET', '/molecules?q=glycerol'))[0];
const bobsMeasurement = await call(bob.access_token, 'POST', '/experiments', { molecule_id: glycerol.id, property: 'Glass Transition Temperature', value: -93, unit: '°C' });
// Not shared: naming a team-mate as verifier is what lets her read it.
await call(bob.access_token, 'POST', `/experiments/${bobsMeasurement.id}/verification`, { verifier_id: ada.user.id, comments: 'DSC run 3' });

// ---- the browser ------------------------------------------------------------------------
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } }); // a laptop
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.on('dialog', (d) => d.accept());
const rankedUrls = [];
page.on('request', (r) => { if (r.url().includes('/molecules/ranked')) rankedUrls.push(r.url().replace(/^.*ranked/, '')); });
const shot = (name) => page.screenshot({ path: join(SHOTS, name), fullPage: true });
const fitsTheWidth = async (what) => {
  const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= inner, `${what}: the page is ${scroll} px wide in a ${inner} px window`);
};

async function signIn(email) {
  await page.goto(BASE + '/');
  await page.waitForSelector('form input[name=email]');
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('form button[type=submit]');
  await page.waitForSelector('#molecule-results table');
}

try {
  step('sign-in refuses a wrong password visibly, then signs in');
  await page.goto(BASE + '/');
  await page.waitForSelector('form input[name=email]');
  assert.match(page.url(), /#\/signin$/);
  assert.equal(await page.isVisible('input[name=display_name]'), false, 'the name is asked only to create an account');
  await page.fill('input[name=email]', 'ada@lab.test');
  await page.fill('input[name=password]', 'not the password');
  await page.click('form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#signin-error').textContent.length > 0);
  await shot('00-signin.png');
  await signIn('ada@lab.test');
  await fitsTheWidth('molecules');
  await shot('01-molecules.png');
  // The list is ranked on the server: a column's first click ranks the whole library by it
  // (highest score first), the second reverses; the total stays.
  const total = (await call(ada.access_token, 'GET', '/molecules/ranked?limit=1')).total;
  const scoreColumn = async () => (await page.locator('#molecule-results th').allTextContents()).findIndex((t) => t.startsWith('Score')) + 1;
  const scoresShown = async () => (await page.locator(`#molecule-results tbody tr td:nth-child(${await scoreColumn()})`).allTextContents()).map(Number);
  await page.click('#molecule-results th:text-is("Score")');
  await page.waitForSelector('#molecule-results th[aria-sort=descending]:text-is("Score")');
  const scores = await scoresShown();
  assert.ok(scores.length > 20 && scores.every(Number.isFinite), `scores: ${scores}`);
  assert.deepEqual(scores, [...scores].sort((a, b) => b - a), 'sorted by score, descending');
  const bestScore = (await call(ada.access_token, 'GET', '/molecules/ranked?sort=score&limit=1')).items[0].score;
  assert.equal(scores[0], bestScore, 'the first row is the best score of the whole library');
  assert.equal(await page.locator('#molecule-range').textContent(), `Molecules 1–${Math.min(100, total)} of ${total}`);
  await page.click('#molecule-results th:text-is("Score")');
  await page.waitForSelector('#molecule-results th[aria-sort=ascending]:text-is("Score")');
  const lowest = await scoresShown();
  assert.deepEqual(lowest, [...lowest].sort((a, b) => a - b), 'then ascending');
  // Filters re-query: a logP window keeps only molecules inside it, and the count says how many.
  await page.click('details.filters summary');
  await page.fill('input[name=min_logp]', '0');
  await page.fill('input[name=max_logp]', '2');
  await page.locator('input[name=max_logp]').dispatchEvent('change');
  const inWindow = (await call(ada.access_token, 'GET', '/molecules/ranked?min_logp=0&max_logp=2&limit=1')).total;
  await page.waitForFunction((n) => document.getElementById('molecule-range')?.textContent.endsWith(` of ${n}`), inWindow);
  const logpColumn = (await page.locator('#molecule-results th').allTextContents()).findIndex((t) => t === 'logP') + 1;
  const logps = (await page.locator(`#molecule-results tbody tr td:nth-child(${logpColumn})`).allTextContents()).map(Number);
  assert.ok(logps.length > 0 && logps.every((v) => v >= 0 && v <= 2), `logP window: ${logps}`);
  await shot('01b-molecules-ranked.png');
  // Export all: the whole filtered ranking as a file, one line per molecule under a header.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-ranked')]);
  assert.equal(download.suggestedFilename(), 'molecules.csv');
  const exported = readFileSync(await download.path(), 'utf8').trim().split('\n');
  assert.equal(exported.length, inWindow + 1, `exported ${exported.length - 1} of ${inWindow}`);
  assert.match(exported[0], /^id,name,smiles,/);
  await page.fill('input[name=min_logp]', '');
  await page.fill('input[name=max_logp]', '');
  await page.locator('input[name=max_logp]').dispatchEvent('change');
  await page.waitForFunction((n) => document.getElementById('molecule-range')?.textContent.endsWith(` of ${n}`), total);
  // Pages of 25 by cursor: the next page starts at 26 with other molecules; back again.
  const range = () => page.locator('#molecule-range').textContent();
  await page.selectOption('select[name=page_size]', '25');
  await page.waitForFunction(() => document.getElementById('molecule-range')?.textContent.startsWith('Molecules 1–25 of'));
  const first = await page.locator('#molecule-results tbody tr td:first-child').allTextContents();
  await page.click('button:text-is("Next ›")');
  await page.waitForFunction(() => document.getElementById('molecule-range')?.textContent.startsWith('Molecules 26–'));
  const second = await page.locator('#molecule-results tbody tr td:first-child').allTextContents();
  assert.equal(second.filter((n) => first.includes(n)).length, 0, `pages overlap: ${await range()} ${rankedUrls.slice(-4).join(' | ')}`);
  await page.click('button:text-is("‹ Previous")');
  await page.waitForFunction(() => document.getElementById('molecule-range')?.textContent.startsWith('Molecules 1–25 of'));
  assert.deepEqual(await page.locator('#molecule-results tbody tr td:first-child').allTextContents(), first, 'back to the same first page');

  // Alert-free only: every listed molecule has 0 stored structural alerts.
  await page.check('input[name=alert_free]');
  await page.waitForFunction(() => {
    const head = [...document.querySelectorAll('#molecule-results th')].map((t) => t.textContent);
    const col = head.findIndex((t) => t.startsWith('Alerts')) + 1;
    const cells = [...document.querySelectorAll(`#molecule-results tbody tr td:nth-child(${col})`)];
    return col > 0 && cells.length > 0 && cells.every((c) => c.textContent === '0');
  });
  await page.uncheck('input[name=alert_free]');
  await page.waitForFunction(() => document.getElementById('molecule-range')?.textContent.startsWith('Molecules 1–'));
  step('molecule search by name, similarity and substructure');
  await page.selectOption('select[name=mode]', 'name');
  await page.fill('input[name=q]', 'glycerol');
  await page.click('form[role=search] button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('#molecule-results tbody tr')].every((r) => /glycerol/i.test(r.textContent)));
  const names = await page.locator('#molecule-results tbody tr td:first-child').allTextContents();
  assert.ok(names.includes('Glycerol'), `name search found ${names}`);
  await page.selectOption('select[name=mode]', 'similarity');
  await page.fill('input[name=q]', 'OCC(O)CO');
  await page.click('form[role=search] button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#molecule-results th')?.textContent === 'Name' && document.querySelectorAll('#molecule-results th')[1]?.textContent === 'Tanimoto');
  const best = await page.locator('#molecule-results tbody tr').first().locator('td').nth(1).textContent();
  assert.equal(best, '1', 'glycerol is most similar to itself');
  await page.selectOption('select[name=mode]', 'substructure');
  assert.equal(await page.isVisible('input[name=threshold]'), false, 'the threshold is for similarity only');
  await page.fill('input[name=q]', '[C');
  await page.click('form[role=search] button[type=submit]');
  await page.waitForSelector('input[name=q][aria-invalid=true]');
  assert.ok((await page.locator('form[role=search] .error').textContent()).length > 0, 'a bad SMARTS is explained');
  await page.fill('input[name=q]', '[OX2H]');
  await page.click('form[role=search] button[type=submit]');
  await page.waitForSelector('#molecule-results tbody tr');
  await page.click('#molecule-results a:text-is("Glycerol")');
  await page.waitForSelector('figure[data-chart=radar]');
  await page.waitForFunction(() => document.querySelector('img.depiction')?.naturalWidth > 0);
  assert.equal(await page.locator('figure[data-chart=descriptors] rect.bar').count(), 7);
  // The toxicity panel: QED, no structural alert for glycerol, and a unified score that says
  // it was computed without toxicity data (none imported here).
  await page.waitForSelector('[data-testid=toxicity] [data-testid=unified] .badge');
  assert.match(await page.locator('[data-testid=toxicity] h2').textContent(), /QED 0\.\d+/);
  assert.match(await page.locator('[data-testid=toxicity]').textContent(), /No structural alert in any family/);
  assert.match(await page.locator('[data-testid=unified]').textContent(), /without toxicity/);
  await fitsTheWidth('molecule detail');
  await shot('02-molecule.png');
  await page.click('#nav a:text-is("Molecules")');
  await page.click('summary:text-is("Register a molecule")');
  await page.fill('input[name=smiles]', 'C1CC');
  await page.click('button:text-is("Register")');
  await page.waitForSelector('input[name=smiles][aria-invalid=true]');
  await page.fill('input[name=smiles]', 'OCCCCO');
  await page.fill('input[name=name]', 'Butane-1,4-diol');
  await page.click('button:text-is("Register")');
  await page.waitForFunction(() => /registered/.test(document.getElementById('flash').textContent));
  await page.waitForSelector('h1:has-text("Butane-1,4-diol")');
  await page.waitForSelector('figure[data-chart=radar]');

  step("a model's page draws every held-out prediction");
  await page.click('#nav a:text-is("Models")');
  await page.click(`a:text-is("${model.name}")`);
  await page.waitForSelector('figure[data-chart=parity]');
  const parity = page.locator('figure[data-chart=parity]');
  assert.equal(await parity.locator('circle.point').count(), expectedPoints, 'one point per held-out prediction');
  assert.equal(await parity.locator('line.errorbar').count(), expectedPoints, 'each with its interval');
  assert.equal(await page.locator('figure[data-chart=residuals] circle.point').count(), expectedPoints);
  assert.equal(await page.locator('figure[data-chart=calibration] circle.point').count(), 6);
  assert.equal(await page.locator('figure[data-chart=folds] rect.bar').count(), 10);
  assert.equal(await page.locator('figure[data-chart=learning-curve] circle.point').count(), 10);
  assert.ok(await page.locator('figure[data-chart=importance] rect.bar').count() > 0);
  // Validated by a shuffled split, the error on new scaffolds is measured beside it.
  assert.match(await page.locator('#version-metrics').textContent(), /on new scaffolds: RMSE [\d.]+, [\d.]+ % inside/);
  // Adaptive intervals by default, their quality scored beyond coverage.
  assert.match(await page.locator('#uncertainty').textContent(),
    /Intervals widened (by the ensemble spread|where a residual model expects larger errors) · NLL [-\d.e+]+ · miscalibration area [\d.e+-]+ · ENCE [\d.e+-]+ · width–error Spearman [-\d.e+]+ \(\d+ held-out rows\)/);
  await fitsTheWidth('model');
  await page.fill('input[name=predict_smiles]', 'OCC(O)CO');
  await page.click('form:has(input[name=predict_smiles]) button[type=submit]');
  await page.waitForFunction(() => /90 % interval .* version 1/.test(document.getElementById('prediction').textContent));
  // The answer says where glycerol stands in the model's training domain.
  const flag = await page.locator('#prediction-domain [data-flag]').getAttribute('data-flag');
  assert.ok(['in', 'edge', 'out'].includes(flag), `domain flag ${flag}`);
  assert.match(await page.locator('#prediction-domain').textContent(), /nearest training molecule .* \(Tanimoto (0?\.\d+|1(\.0+)?)\)/);
  assert.match(await page.locator('#prediction-leverage').textContent(), /descriptor leverage [\d.e+-]+/);
  // Its interval was recalibrated for its domain bin, and the bins' held-out coverage is shown.
  assert.match(await page.locator('#interval-factor').textContent(), /interval ×\d+(\.\d+)? for this domain bin/);
  assert.match(await page.locator('#domain-bins').textContent(), /in \d+ % → \d+ % \(×[\d.]+, \d+ rows\)/);
  await page.fill('input[name=predict_smiles]', 'C1CC');
  await page.click('form:has(input[name=predict_smiles]) button[type=submit]');
  await page.waitForSelector('input[name=predict_smiles][aria-invalid=true]');
  await page.fill('input[name=predict_smiles]', 'OCC(O)CO');
  await page.click('form:has(input[name=predict_smiles]) button[type=submit]');
  await page.waitForFunction(() => /kcal\/mol/.test(document.getElementById('prediction').textContent));
  await shot('03-model.png');

  step('train a new version and watch it finish');
  await page.selectOption('select[name=algorithm]', 'ridge');
  assert.equal(await page.locator('select[name=interval_scale]').inputValue(), 'auto');
  await page.click('form:has(select[name=algorithm]) button[type=submit]');
  await page.waitForSelector('#job-status:not([hidden])');
  const progress = [];
  for (let i = 0; i < 1200; i++) {
    progress.push(Number(await page.locator('#job-progress').getAttribute('aria-valuenow')));
    if (['succeeded', 'failed', 'cancelled'].includes(await page.locator('#job-status').getAttribute('data-state'))) break;
    await page.waitForTimeout(100);
  }
  assert.equal(await page.locator('#job-status').getAttribute('data-state'), 'succeeded', await page.locator('#job-state').textContent());
  assert.equal(await page.locator('#job-progress').getAttribute('aria-valuenow'), '100');
  assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]), `progress only grows: ${progress}`);
  await page.waitForSelector('button:text("Show version 2")');
  await page.waitForTimeout(400); // the bar's width transition
  await shot('04-training.png');
  await page.click('button:text("Show version 2")');
  await page.waitForSelector('#version-charts figure[data-chart=parity]');

  step('a training job that cannot run fails visibly (and raises an alert)');
  await page.selectOption('select[name=split]', 'time');
  await page.click('form:has(select[name=algorithm]) button[type=submit]');
  await page.waitForSelector('#job-status[data-state=failed]', { timeout: 120000 });
  assert.match(await page.locator('#job-state').textContent(), /date/);
  await page.selectOption('select[name=split]', 'random');

  step('a queued job is cancelled from the page');
  // One worker: while a long job (found through the API) runs, the page's job waits its turn.
  const blocker = await call(ada.access_token, 'POST', `/models/${model.id}/train`, { algorithm: 'random_forest', params: { n_trees: 3000 }, search: 'grid', folds: 5 });
  for (let i = 0; i < 200 && (await call(ada.access_token, 'GET', `/models/jobs/${blocker.id}`)).state !== 'running'; i++) await page.waitForTimeout(100);
  await page.selectOption('select[name=algorithm]', 'ridge');
  await page.click('form:has(select[name=algorithm]) button[type=submit]');
  await page.waitForSelector('#job-status[data-state=queued]');
  await page.click('#job-status button:text-is("Cancel")');
  await page.waitForSelector('#job-status[data-state=cancelled]');
  await page.waitForSelector('#job-status button:text-is("Cancel")', { state: 'detached' }); // nothing left to cancel
  await call(ada.access_token, 'POST', `/models/jobs/${blocker.id}/cancel`, {});
  let stopped = null;
  for (let i = 0; i < 600 && !['cancelled', 'succeeded', 'failed'].includes((stopped = await call(ada.access_token, 'GET', `/models/jobs/${blocker.id}`)).state); i++) await page.waitForTimeout(100);
  assert.equal(stopped.state, 'cancelled', 'the running job stops at its next fit');

  step('promote version 2, then roll back to version 1');
  await page.click('tr:has(a:text-is("v2")) button:text-is("Promote to production")');
  await page.waitForSelector('tr:has(a:text-is("v2")) .badge.production');
  assert.equal(await page.locator('tr:has(a:text-is("v1")) .badge').textContent(), 'archived');
  await page.click('button:text-is("Roll back production")');
  await page.waitForSelector('tr:has(a:text-is("v1")) .badge.production');
  await page.waitForSelector('tr:has(a:text-is("v2")) .badge.archived');

  step('name a version with an alias; delete an archived one');
  await page.fill('tr:has(a:text-is("v1")) input[name=alias]', 'champion');
  await page.click('tr:has(a:text-is("v1")) button:text-is("Set alias")');
  await page.waitForSelector('tr:has(a:text-is("v1")) td:text-is("champion")');
  await page.fill('tr:has(a:text-is("v1")) input[name=alias]', 'not an alias!');
  await page.click('tr:has(a:text-is("v1")) button:text-is("Set alias")');
  await page.waitForSelector('tr:has(a:text-is("v1")) input[name=alias][aria-invalid=true]');
  assert.match(await page.locator('#flash').textContent(), /alias/);
  await page.click('tr:has(a:text-is("v2")) button:text-is("Delete")');
  await page.waitForFunction(() => /Version 2 deleted/.test(document.getElementById('flash').textContent));
  await page.waitForSelector('tr:has(a:text-is("v2"))', { state: 'detached' });
  await page.waitForFunction(() => [...document.querySelectorAll('tbody tr')].some((r) => /model\.rolled_back/.test(r.textContent)));

  step("a classifier's page draws its reliability, ROC and precision–recall, and answers with a class");
  await page.click('#nav a:text-is("Models")');
  await page.click(`a:text-is("${classifier.name}")`);
  await page.waitForSelector('figure[data-chart=reliability]');
  assert.equal(await page.locator('figure[data-chart=roc] circle.point').count(), classValidation.roc[0].length, 'one point per ROC threshold');
  assert.equal(await page.locator('figure[data-chart=precision-recall] circle.point').count(), classValidation.pr[0].length);
  assert.equal(await page.locator('figure[data-chart=reliability] circle.point').count(), classValidation.reliability.length);
  assert.match(await page.locator('#version-metrics').textContent(), /ROC-AUC [\d.]+ · balanced accuracy [\d.]+ · Brier [\d.]+ · log loss [\d.]+ · ECE [\d.]+/);
  assert.match(await page.locator('#class-sets').textContent(), /Classes: false \d+, true \d+\. 90 % prediction sets \(class conditional\): held-out coverage [\d.]+ %/);
  // The train form offers classifiers and their options, not a regressor's.
  const offered = await page.locator('select[name=algorithm] option').evaluateAll((os) => os.map((o) => o.value));
  assert.ok(offered.includes('logistic') && !offered.includes('ridge'), `${offered}`);
  assert.equal(await page.locator('select[name=interval_scale]').count(), 0);
  assert.equal(await page.locator('select[name=calibration]').inputValue(), 'platt');
  await page.fill('input[name=predict_smiles]', 'OCC(O)CO');
  await page.click('form:has(input[name=predict_smiles]) button[type=submit]');
  await page.waitForSelector('#predicted-class');
  assert.match(await page.locator('#predicted-class').textContent(), /^(true|false)$/);
  assert.match(await page.locator('#prediction-set').textContent(), /90 % prediction set \{(true|false)?(, (true|false))?\}/);
  assert.match(await page.locator('#prediction-domain').textContent(), /nearest training molecule/);
  await fitsTheWidth('classifier');
  await shot('03b-classifier.png');

  step('mixture editor: a bad concentration is refused in place, then saved and scored');
  await page.click('#nav a:text-is("Mixtures")');
  await page.click('button:text-is("New mixture")');
  await page.fill('input[name=name]', 'Glycerol + DMSO');
  const rows = page.locator('#components .component-row');
  await rows.nth(0).locator('input[name=molecule]').fill('Glycerol');
  await rows.nth(0).locator('input[name=concentration]').fill('-5');
  await rows.nth(1).locator('input[name=molecule]').fill('Dimethyl sulfoxide');
  await rows.nth(1).locator('input[name=concentration]').fill('5');
  await rows.nth(1).locator('select[name=unit]').selectOption('percent_v_v');
  await page.click('button:text-is("Save mixture")');
  await page.waitForSelector('#components input[name=concentration][aria-invalid=true]');
  assert.match(await rows.nth(0).locator('.error').textContent(), /positive number/);
  await rows.nth(0).locator('input[name=concentration]').fill('10');
  await page.click('button:text-is("Save mixture")');
  await page.waitForSelector('h1:text-is("Glycerol + DMSO")');
  assert.match(await page.locator('.card:has(h2:text-is("Score")) .badge').textContent(), /\/ 100/);
  // Predictions with intervals from the production model, and Tg from the reference table.
  await page.waitForSelector('#mixture-predictions table');
  const predictions = await page.locator('#mixture-predictions').textContent();
  assert.match(predictions, /Hydration Free Energy.*\(90 %\)kcal\/molmodel v1/, predictions);
  assert.match(predictions, /Glass Transition Temperature.*reference table/, predictions);
  assert.doesNotMatch(await page.locator('main').textContent(), /\bnull\b|undefined|NaN/);
  await page.waitForSelector('figure[data-chart=molar-shares]');
  // The mixture's toxicity: its two components listed, no measurements yet, a unified score.
  await page.waitForSelector('[data-testid=toxicity] [data-testid=unified] .badge');
  assert.equal(await page.locator('[data-testid=toxicity] tbody tr').count(), 2);
  assert.match(await page.locator('[data-testid=toxicity]').textContent(), /No component has assay measurements/);
  await shot('05-mixture.png');

  step('mixture design: physical properties, an edit makes version 2, compare two, optimise and save a proposal');
  await page.waitForSelector('#mixture-physics table');
  assert.match(await page.locator('#mixture-physics').textContent(), /Osmolality [\d.]+ osmol\/kg ideal.*Tg [-−]?[\d.]+ °C/);
  assert.equal(await page.locator('#mixture-physics .table-wrap').first().locator('tbody tr').count(), 2);
  await page.waitForSelector('figure[data-chart=mass-fractions]');
  // Your own constant replaces the table's, and the answer says so.
  await page.click('summary:text-is("Use your own constants")');
  await page.fill('input[aria-label="Tg °C of Dimethyl sulfoxide"]', '-120');
  await page.click('#constants-button');
  await page.waitForFunction(() => /Tg: your override/.test(document.getElementById('mixture-physics').textContent));
  assert.match(await page.locator('#mixture-physics tbody tr:has-text("Dimethyl sulfoxide")').first().textContent(), /-120/);
  await page.click('summary:text-is("The original’s property models")');
  await page.selectOption('select[name=property_model]', 'quadratic');
  await page.click('#property-model-button');
  await page.waitForFunction(() => /Tanimoto/.test(document.getElementById('property-model-result').textContent));
  const mixtureUrl = page.url();
  await page.click('button:text-is("Edit composition")');
  await page.waitForSelector('h1:has-text("Edit Glycerol + DMSO (version 1)")');
  assert.equal(await rows.count(), 2, 'the editor opens with the current components');
  await rows.nth(0).locator('input[name=concentration]').fill('15');
  await page.fill('input[name=note]', 'more glycerol');
  await page.click('button:text-is("Save new version")');
  await page.waitForSelector('h2:text-is("Composition · version 2")');
  await page.waitForSelector('#mixture-history tbody tr');
  assert.equal(await page.locator('#mixture-history tbody tr').count(), 2);
  assert.match(await page.locator('#mixture-history').textContent(), /more glycerol/);
  await page.locator('#mixture-history tbody tr').nth(1).locator('button:text-is("Show")').click();
  await page.waitForSelector('#version-components h3:text-is("Version 1")');
  assert.match(await page.locator('#version-components').textContent(), /Glycerol10/);
  await page.click('button:text-is("Copy")');
  await page.waitForSelector('h1:text-is("Glycerol + DMSO (copy)")');
  await page.click('#nav a:text-is("Mixtures")');
  await page.check('input[aria-label="Compare Glycerol + DMSO"]');
  await page.check('input[aria-label="Compare Glycerol + DMSO (copy)"]');
  await page.click('#compare-button');
  await page.waitForSelector('figure[data-chart=composition]');
  assert.equal(await page.locator('#comparison thead th').count(), 3, 'a label column and one per mixture');
  assert.match(await page.locator('#comparison').textContent(), /Osmolality \(ideal\)/);
  await fitsTheWidth('comparison');
  await shot('05b-mixture-compare.png');
  await page.goto(mixtureUrl);
  await page.waitForSelector('[data-testid=optimise] form');
  await page.selectOption('[data-testid=optimise] select[name=quantity]', 'tg');
  await page.fill('[data-testid=optimise] input[name=max_osmolality]', '3');
  await page.click('#optimise-button');
  await page.waitForSelector('#optimise-results table');
  assert.match(await page.locator('#optimise-results').textContent(), /maximise the Gordon–Taylor Tg/);
  await page.waitForSelector('figure[data-chart=proposals]');
  const osmolalities = await page.locator('#optimise-results tbody tr td:nth-child(7)').allTextContents();
  assert.ok(osmolalities.slice(1).every((v) => Number(v) <= 3.0001), `osmolality ceiling kept: ${osmolalities}`);
  await shot('05c-mixture-optimise.png');
  // A recommended component is one click from the editor, added to the current ones.
  await page.click('#recommend-button');
  await page.waitForSelector('#recommendations table');
  assert.ok(await page.locator('#recommendations tbody tr').count() > 0);
  await page.locator('#optimise-results button:text-is("Save as mixture")').first().click();
  await page.waitForSelector('h1:text-is("Glycerol + DMSO (optimised #1)")');
  assert.doesNotMatch(await page.locator('main').textContent(), /\bnull\b|undefined|NaN/);
  const before = await page.locator('.card:has(h2:has-text("Composition ·")) tbody tr').count();
  await page.click('#recommend-button');
  await page.waitForSelector('#recommendations button:text-is("Add…")');
  await page.locator('#recommendations button:text-is("Add…")').first().click();
  await page.waitForSelector('button:text-is("Save new version")');
  assert.equal(await rows.count(), before + 1, 'the editor opens with the recommended component added');

  step('protocol designer: limits checked in place, every designer charted, edited steps simulated, kept and compared');
  await page.click('#nav a:text-is("Protocols")');
  await page.click('button:text-is("Design a protocol")');
  await page.fill('input[name=min_volume]', '1.2');
  await page.click('#design-button');
  await page.waitForSelector('input[name=min_volume][aria-invalid=true]');
  assert.match(await page.locator('#design-error').textContent(), /limits/);
  await page.fill('input[name=min_volume]', '0.7');
  await page.click('#design-button');
  await page.waitForSelector('#design-results tr[data-designer=toxicity_optimal]', { timeout: 60000 });
  // The original's equal steps break the cell line's limits; the optimal design keeps them.
  assert.match(await page.locator('tr[data-designer=stepwise]').textContent(), /breaks the limits/);
  assert.match(await page.locator('tr[data-designer=toxicity_optimal]').textContent(), /within the limits/);
  assert.equal(await page.locator('figure[data-chart=protocol-volume] polyline.curve').count(), 4);
  await page.waitForSelector('figure[data-chart=protocol-volume] rect.band');
  await page.waitForSelector('figure[data-chart=protocol-concentration]');
  // One jump to 2 M in the first step: simulated again and shown outside the band.
  await page.fill('#step-editor input[name=permeant-0] >> nth=0', '2');
  await page.click('button:text-is("Simulate edited steps")');
  await page.waitForFunction(() => /OUTSIDE the limits/.test(document.getElementById('edited-verdict').textContent));
  assert.equal(await page.locator('figure[data-chart=protocol-volume] polyline.curve').count(), 5);
  await fitsTheWidth('protocol designer');
  await shot('09-protocol-designer.png');
  // Back to the optimal steps as designed, and kept with the mixture.
  await page.selectOption('select[name=chosen]', 'fewest_steps');
  await page.selectOption('select[name=chosen]', 'toxicity_optimal');
  await page.selectOption('select[name=mixture]', { label: 'Glycerol + DMSO' });
  await page.fill('input[name=protocol_name]', 'Optimal DMSO loading');
  await page.click('button:text-is("Save protocol")');
  await page.waitForSelector('h1:text-is("Optimal DMSO loading")');
  assert.match(await page.locator('main').textContent(), /Toxicity-optimal: \d+ steps/);
  await page.waitForSelector('main .badge.production:text-is("within the limits")');
  await page.waitForSelector('figure[data-chart=protocol-volume]');
  assert.ok(await page.locator('#protocol-steps tbody tr').count() >= 2);
  // A measurement taken after following it is recorded from its page and listed there.
  await page.click('button:text-is("Record")');
  await page.waitForSelector('input[name=followed_value][aria-invalid=true]');
  await page.selectOption('select[name=followed_property]', 'Glass Transition Temperature');
  await page.fill('input[name=followed_value]', '-118');
  await page.click('button:text-is("Record")');
  await page.waitForSelector('#protocol-experiments tbody tr:has-text("Glass Transition Temperature")');
  assert.doesNotMatch(await page.locator('main').textContent(), /\bnull\b|undefined|NaN/);
  await shot('10-protocol.png');
  // A second one (the stepwise design, which breaks the limits), then both compared.
  await page.click('#nav a:text-is("Protocols")');
  await page.click('button:text-is("Design a protocol")');
  await page.click('#design-button');
  await page.waitForSelector('#design-results tr[data-designer=stepwise]', { timeout: 60000 });
  await page.selectOption('select[name=chosen]', 'stepwise');
  await page.selectOption('select[name=mixture]', { label: 'Glycerol + DMSO' });
  await page.fill('input[name=protocol_name]', 'Stepwise DMSO loading');
  await page.click('button:text-is("Save protocol")');
  await page.waitForSelector('h1:text-is("Stepwise DMSO loading")');
  await page.waitForSelector('main .badge.failed');
  await page.click('#nav a:text-is("Protocols")');
  await page.check('input[aria-label="Select Optimal DMSO loading"]');
  await page.check('input[aria-label="Select Stepwise DMSO loading"]');
  await page.click('button:text-is("Compare selected")');
  await page.waitForSelector('h1:text-is("Protocols compared")');
  assert.equal(await page.locator('figure[data-chart=protocol-volume] polyline.curve').count(), 2);
  await shot('11-protocols-compared.png');

  step('screening: two production models over an upload, live progress, ranked rows, charts, export');
  await page.click('#nav a:text-is("Screening")');
  await page.waitForSelector('#new-screening');
  await page.fill('#new-screening input[name=name]', 'Upload screen');
  await page.check(`#new-screening input[name=model][value="${model.id}"]`);
  await page.check(`#new-screening input[name=model][value="${classifier.id}"]`);
  await page.selectOption('#new-screening select[name=source]', 'upload');
  await page.fill('#new-screening textarea[name=content]',
    'OCC(O)CO glycerol\nCS(C)=O DMSO\nOCCO ethylene glycol\nnot_a_smiles broken\nCC(O)CO propylene glycol\n' + 'C'.repeat(5000) + ' huge\n');
  await page.click('#new-screening button[type=submit]');
  await page.waitForSelector('#screening-status[data-state=succeeded]', { timeout: 120_000 });
  assert.match(await page.locator('#flash').textContent(), /line 6/, 'the over-long line is reported with its number');
  assert.match(await page.locator('#screening-progress').textContent(), /5 rows · 1 rows failed/);
  const histogramRows = await page.getAttribute('figure[data-chart=screening-histogram]', 'data-points', { timeout: 30_000 });
  assert.equal(histogramRows, '4', 'every answered row is in the histogram');
  await page.waitForSelector('figure[data-chart=screening-scatter] circle');
  await page.waitForSelector('#screening-range:text-matches("of 4")');
  const ranked = await page.$$eval('#screening-results tbody tr', (rows) => rows.map((r) => Number(r.children[5].textContent.replace('−', '-'))));
  assert.equal(ranked.length, 4);
  for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i] <= ranked[i - 1], `ranked highest first: ${ranked}`);
  await page.selectOption('#screening-filters select[name=sort]', 'row');
  await page.waitForSelector('#screening-range:text-matches("of 5")');
  const [screened] = await Promise.all([page.waitForEvent('download'), page.click('#export-screening')]);
  assert.equal(screened.suggestedFilename(), 'screening.csv');
  const screenedLines = readFileSync(await screened.path(), 'utf8').trim().split('\n');
  assert.equal(screenedLines.length, 6, 'a header and the five screened rows');
  await shot('12-screening.png');
  await fitsTheWidth('the screening page');

  step('experiments and the verification queue');
  await page.click('#nav a:text-is("Experiments")');
  await page.waitForSelector('h2:has-text("Measurements")');
  assert.ok(await page.locator('tbody tr').count() >= ROWS);
  await page.fill('input[name=subject]', 'no such mixture');
  await page.click('button:text-is("Record")');
  await page.waitForSelector('input[name=subject][aria-invalid=true]');
  await page.fill('input[name=subject]', 'Glycerol + DMSO');
  await page.selectOption('select[name=property]', 'Glass Transition Temperature');
  await page.fill('input[name=value]', 'cold');
  await page.click('button:text-is("Record")');
  await page.waitForSelector('input[name=value][aria-invalid=true]');
  await page.fill('input[name=value]', '-112');
  await page.click('button:text-is("Record")');
  await page.waitForFunction(() => /Measurement recorded/.test(document.getElementById('flash').textContent));
  await page.waitForSelector('a:text-is("mixture: Glycerol + DMSO")');
  await shot('06-experiments.png');
  await page.click('#nav a:text-is("Verification queue")');
  await page.waitForSelector('button:text-is("Verify")');
  assert.match(await page.locator('main tbody tr').first().textContent(), /Glass Transition Temperature: -93 °C/);
  await shot('07-verifications.png');
  await page.fill('input[aria-label=Comments]', 'matches our DSC');
  await page.click('button:text-is("Verify")');
  await page.waitForFunction(() => /Marked verified/.test(document.getElementById('flash').textContent));
  await page.waitForSelector('p.empty');

  step('an expired access token is refreshed without signing out');
  await page.evaluate(() => {
    const key = 'cryoprotect.session';
    const session = JSON.parse(sessionStorage.getItem(key));
    session.access_token = 'expired.or.revoked';
    sessionStorage.setItem(key, JSON.stringify(session));
  });
  await page.click('#nav a:text-is("Mixtures")');
  await page.waitForSelector('a:text-is("Glycerol + DMSO")');
  assert.notEqual(await page.evaluate(() => JSON.parse(sessionStorage.getItem('cryoprotect.session')).access_token), 'expired.or.revoked');

  step('system page: admin panels refuse a user, show an administrator the checks');
  await page.click('#nav a:text-is("System")');
  await page.waitForSelector('[data-panel="Database health"] .error');
  assert.match(await page.locator('[data-panel="Database health"] .error').textContent(), /Administrators only/);
  // As an operator makes the first admin.
  execFileSync(process.env.CRYOPROTECT_BIN, ['users', 'role', 'ada@lab.test', 'admin'], { env: { ...process.env, DATABASE_URL: process.env.ADMIN_DB_URL }, stdio: ['ignore', 'ignore', 'inherit'] });
  await page.click('button:text-is("Sign out")');
  await page.waitForSelector('form input[name=email]');
  await signIn('ada@lab.test');
  await page.click('#nav a:text-is("System")');
  await page.waitForSelector('figure[data-chart=health-checks]');
  await page.waitForSelector('[data-panel=Backups] button:text-is("Back up now")');
  await page.waitForSelector(`[data-panel=Alerts] tr[data-fingerprint="training_failed:${model.id}"] .badge.firing`);
  await fitsTheWidth('system');
  await shot('08-system.png');

  assert.deepEqual(pageErrors, [], 'no script errors');
  console.log(`browser test: passed; screenshots in ${SHOTS}`);
} catch (err) {
  await page.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`browser test: FAILED at ${page.url()}: ${err.stack || err}`);
  if (pageErrors.length) console.error('page errors:', pageErrors);
  process.exitCode = 1;
} finally {
  await browser.close();
}
