// The dashboard: every run of every target, live over server-sent events, with the
// operator's actions. No build step and no framework: the server ships these files
// as they are. Every value from the server is set as text, never as HTML, because a
// playbook name or an error message is whatever a file or a database put in it.

import { bar, el, formatEta, formatRate, ratePoints } from './render.js';

const PHASES = ['expand', 'dual_write', 'backfill', 'verify', 'gate', 'contract', 'done'];
const $ = (id) => document.getElementById(id);

const state = {
  session: { writable: false, targets: [] },
  runs: [],
  selected: null, // { target, id }
};

const token = () => sessionStorage.getItem('bellows-token') ?? '';

async function api(path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (token()) headers.authorization = `Bearer ${token()}`;
  if (init.body) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/${path}`, { ...init, headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

const runPath = (run) => `targets/${encodeURIComponent(run.target)}/runs/${encodeURIComponent(run.id)}`;
const sameRun = (a, b) => a && b && a.target === b.target && a.id === b.id;
const selectedRun = () => state.runs.find((r) => sameRun(r, state.selected)) ?? null;

// --- the run list ---

function renderRuns() {
  const body = $('runs').tBodies[0];
  body.replaceChildren(
    ...state.runs.map((run) => {
      const total = run.tasks.reduce((n, t) => n + t.rowsTotal, 0);
      const done = run.tasks.reduce((n, t) => n + t.rowsDone, 0);
      const row = el('tr', { dataset: { target: run.target, run: run.id } }, [
        el('td', {}, run.target),
        el('td', {}, run.id),
        el('td', {}, run.playbook),
        el('td', {}, run.phase),
        el('td', { className: 'run-state' }, run.state),
        el('td', {}, total > 0 ? bar(done, total) : '—'),
      ]);
      if (sameRun(run, state.selected)) row.classList.add('selected');
      row.addEventListener('click', () => select(run));
      return row;
    }),
  );
  $('no-runs').hidden = state.runs.length > 0;
}

function select(run) {
  state.selected = { target: run.target, id: run.id };
  $('tune').reset();
  renderRuns();
  renderRun();
  loadPlan(run);
  refreshSelected();
}

/** The event log and the rate chart are not in the stream (they are larger); they are fetched every few seconds. */
function refreshSelected() {
  const run = selectedRun();
  if (!run) return;
  loadEvents(run);
  loadRates(run);
}

// --- the selected run ---

function renderRun() {
  const run = selectedRun();
  $('run-pane').hidden = !run;
  if (!run) return;
  $('run-title').textContent = `Run ${run.id} · ${run.playbook} · ${run.target}`;
  const current = run.phase === 'rollback' ? -1 : PHASES.indexOf(run.phase);
  $('phases').replaceChildren(
    ...PHASES.map((phase, i) => el('li', { className: i < current ? 'done' : i === current ? 'current' : '' }, phase)),
    ...(run.phase === 'rollback' ? [el('li', { className: 'current' }, 'rollback')] : []),
  );
  const s = run.settings;
  $('run-state').textContent =
    `${run.state} · executor ${run.executor} · driver ${run.driver}${run.driverName ? ` (${run.driverName})` : ''}` +
    ` · parallelism ${s.parallelism} · max rows/s ${s.maxRowsPerSec || 'no cap'} · batch time ${s.batchTimeMs} ms`;
  $('stalled').hidden = !run.stalled;
  $('stalled').textContent = run.stalled?.message ?? '';
  const wait = run.lockWait;
  $('lock-wait').hidden = !wait;
  $('lock-wait').textContent = wait
    ? `waiting for a lock: ${wait.action}, retry ${wait.retry} of ${wait.retries}, each waiting up to ${wait.lockTimeoutMs} ms (see deploy/runbooks/stuck-lock.md)`
    : '';
  $('run-error').hidden = !run.error;
  $('run-error').textContent = run.error ?? '';
  renderTasks(run);
  renderActions(run);
}

function renderTasks(run) {
  $('tasks').replaceChildren(
    ...run.tasks.map((task) =>
      el('div', { className: 'task', dataset: { table: task.table, task: task.task } }, [
        el('strong', {}, `${task.task} ${task.table}`),
        bar(task.rowsDone, task.rowsTotal),
        el('div', { className: 'figures' }, figures(task)),
        el(
          'div',
          { className: 'ranges' },
          task.ranges.map((range) =>
            el('div', { className: 'range' }, [
              el('div', { className: 'figures' }, `range ${range.range} [${range.from}, ${range.to}) · ${figures(range)}`),
              bar(range.rowsDone, range.rowsTotal),
            ]),
          ),
        ),
      ]),
    ),
  );
}

function figures(p) {
  const parts = [
    `${p.rowsDone.toLocaleString()} / ${p.rowsTotal.toLocaleString()} rows`,
    formatRate(p.rowsPerSec),
    formatEta(p.etaSeconds),
  ];
  if (p.batchSize) parts.push(`batch ${p.batchSize}`);
  if (p.throttle) parts.push(`throttled: ${p.throttle}`);
  if (p.error) parts.push(`error: ${p.error}`);
  return parts.filter(Boolean).join(' · ');
}

const FINISHED = ['completed', 'rolled_back'];

function renderActions(run) {
  const finished = FINISHED.includes(run.status);
  const why = !state.session.writable ? 'read-only server: started without BELLOWS_TOKEN' : finished ? `run is ${run.status}` : '';
  for (const button of document.querySelectorAll('#actions button, #tune button')) {
    button.disabled = Boolean(why);
    button.title = why;
  }
}

async function loadEvents(run) {
  try {
    const events = await api(`${runPath(run)}/events`);
    if (!sameRun(run, state.selected)) return;
    $('events').replaceChildren(
      ...events
        .slice(-100)
        .reverse()
        .map((e) => el('li', {}, `${new Date(e.at).toLocaleTimeString()} ${e.kind} by ${e.actor} ${detailText(e.detail)}`)),
    );
  } catch (err) {
    $('events').replaceChildren(el('li', { className: 'error' }, String(err.message)));
  }
}

function detailText(detail) {
  const entries = Object.entries(detail ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ') : '';
}

async function loadRates(run) {
  try {
    const samples = await api(`${runPath(run)}/rates`);
    if (!sameRun(run, state.selected)) return;
    const { points, max } = ratePoints(samples, 600, 120);
    $('rate-chart').replaceChildren(el('polyline', { svg: true, attrs: { points } }));
    $('rate-caption').textContent = samples.length
      ? `last ${Math.round((Date.parse(samples.at(-1).at) - Date.parse(samples[0].at)) / 1000)} s · peak ${formatRate(max)}`
      : 'no rate yet';
  } catch (err) {
    $('rate-caption').textContent = String(err.message);
  }
}

async function loadPlan(run) {
  try {
    const plan = await api(`${runPath(run)}/plan`);
    $('playbook').textContent = JSON.stringify(plan.document, null, 2);
    $('plan').replaceChildren(
      ...plan.phases.map((section) =>
        el('details', {}, [
          el('summary', {}, `${section.phase} (${section.statements.length} statements)`),
          ...section.statements.map((s) => el('pre', {}, `-- ${s.note}; lock: ${s.lock}\n${s.sql};`)),
        ]),
      ),
    );
  } catch (err) {
    $('plan').replaceChildren(el('p', { className: 'error' }, String(err.message)));
  }
}

// --- actions ---

function confirmed(text) {
  return new Promise((resolve) => {
    const dialog = $('confirm');
    $('confirm-text').textContent = text;
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
  });
}

async function act(action, body) {
  const run = selectedRun();
  if (!run) return;
  const result = $('action-result');
  try {
    const answer = await api(`${runPath(run)}/${action}`, { method: 'POST', body: body ? JSON.stringify(body) : undefined });
    result.className = '';
    result.textContent = answer.message;
    if (answer.run) mergeRun({ target: run.target, ...answer.run });
  } catch (err) {
    result.className = 'error';
    result.textContent = `${action} refused: ${err.message}`;
  }
}

for (const button of document.querySelectorAll('#actions button')) {
  button.addEventListener('click', async () => {
    if (button.dataset.confirm && !(await confirmed(button.dataset.confirm))) return;
    await act(button.dataset.action);
  });
}

$('tune').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const tuning = Object.fromEntries([...form].filter(([, v]) => v !== '').map(([k, v]) => [k, Number(v)]));
  if (Object.keys(tuning).length === 0) {
    $('action-result').textContent = 'tune: give at least one setting';
    return;
  }
  await act('tune', tuning);
});

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem('bellows-token', $('token').value);
  $('token').value = '';
  $('action-result').textContent = 'token set for this tab';
});

function mergeRun(run) {
  state.runs = state.runs.map((r) => (sameRun(r, run) ? run : r));
  renderRuns();
  renderRun();
}

// --- live updates ---

function listen() {
  const stream = new EventSource('/api/stream');
  stream.addEventListener('open', () => ($('connection').textContent = 'live'));
  stream.addEventListener('error', () => ($('connection').textContent = 'reconnecting…'));
  stream.addEventListener('runs', (event) => {
    state.runs = JSON.parse(event.data);
    renderRuns();
    renderRun();
  });
}

async function boot() {
  state.session = await api('session');
  $('read-only').hidden = state.session.writable;
  $('token-form').hidden = !state.session.writable;
  listen();
  setInterval(refreshSelected, 3000);
}

boot().catch((err) => ($('connection').textContent = `cannot reach the server: ${err.message}`));
