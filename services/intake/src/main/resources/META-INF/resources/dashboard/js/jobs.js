// The job list: every job intake knows (GET /api/jobs, refreshed every few seconds), with filters.
import { apiJson } from './api.js';
import { errorBox, fmtDuration, fmtPct, fmtTime, h, stateBadge } from './dom.js';

const STATES = ['ACCEPTED', 'RUNNING', 'READY', 'FAILED']; // a job's states (RETRYING is a stage's)
const REFRESH_MS = 3000;

// Kept while the page lives, so coming back to the list keeps the filters.
const filters = { state: '', method: '', text: '' };

export function renderJobs(view) {
  const status = h('p', { class: 'muted', id: 'jobs-status' }, 'Loading…');
  const chips = h('div', { class: 'chips', id: 'state-filter', role: 'group', 'aria-label': 'state' });
  const method = h('select', { id: 'method-filter', 'aria-label': 'method' });
  const text = h('input', { id: 'text-filter', type: 'search', placeholder: 'name or job id', value: filters.text });
  const body = h('tbody', { id: 'jobs-body' });
  const table = h('table', { class: 'jobs', id: 'jobs-table' },
    h('thead', {}, h('tr', {}, ['Job', 'Method', 'State', 'Stage', 'Attempt', 'Submitted', 'Took', 'Result', '']
      .map((t) => h('th', {}, t)))),
    body);
  view.append(
    h('div', { class: 'title-row' }, h('h1', {}, 'Jobs'), h('a', { class: 'button primary', href: '#/submit' }, 'Submit a job')),
    h('div', { class: 'filters' }, chips, h('label', {}, 'Method ', method), h('label', {}, 'Search ', text)),
    status, table);

  let jobs = [];
  let timer = null;
  let stopped = false;

  const draw = () => {
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    jobs.forEach((j) => {
      counts[j.state] = (counts[j.state] || 0) + 1;
    });
    chips.replaceChildren(...[''].concat(STATES).map((s) => h('button', {
      type: 'button', class: `chip${filters.state === s ? ' on' : ''}`, 'data-state': s || 'ALL',
      onclick: () => {
        filters.state = s;
        draw();
      },
    }, s ? `${s} ${counts[s] || 0}` : `All ${jobs.length}`)));

    const methods = [...new Set(jobs.map((j) => j.method).filter(Boolean))].sort();
    if (filters.method && !methods.includes(filters.method)) {
      methods.push(filters.method);
    }
    method.replaceChildren(h('option', { value: '' }, 'any'),
      ...methods.map((m) => h('option', { value: m, selected: m === filters.method }, m)));

    const q = filters.text.trim().toLowerCase();
    const shown = jobs
      .filter((j) => !filters.state || j.state === filters.state)
      .filter((j) => !filters.method || j.method === filters.method)
      .filter((j) => !q || (j.name || '').toLowerCase().includes(q) || j.jobId.toLowerCase().includes(q))
      .sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    body.replaceChildren(...shown.map(row));
    if (shown.length === 0) {
      body.append(h('tr', {}, h('td', { colspan: 9, class: 'muted' },
        jobs.length ? 'No job matches the filters.' : 'No jobs yet: submit one.')));
    }
    status.textContent = `${shown.length} of ${jobs.length} job(s), refreshed ${new Date().toLocaleTimeString()}`;
  };

  method.addEventListener('change', () => {
    filters.method = method.value;
    draw();
  });
  text.addEventListener('input', () => {
    filters.text = text.value;
    draw();
  });

  const load = async () => {
    try {
      jobs = await apiJson('/api/jobs');
      draw();
    } catch (e) {
      status.replaceChildren(errorBox(e));
    }
    if (!stopped) {
      timer = setTimeout(load, REFRESH_MS);
    }
  };
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function row(j) {
  const live = `#/jobs/${encodeURIComponent(j.jobId)}`;
  return h('tr', { 'data-job': j.jobId, 'data-state': j.state },
    h('td', {}, h('a', { href: live, class: 'job-link' }, j.name || '(unnamed)'), h('div', { class: 'muted mono' }, j.jobId)),
    h('td', {}, j.method || '–'),
    h('td', {}, stateBadge(j.state)),
    h('td', {}, j.stage || '–'),
    h('td', { class: 'num' }, j.attempt),
    h('td', {}, fmtTime(j.createdAt)),
    h('td', {}, fmtDuration(j.createdAt, j.updatedAt)),
    h('td', {}, result(j)),
    h('td', { class: 'row-actions' },
      h('a', { href: live }, 'Live'),
      j.state === 'READY' || (j.result && j.result.bestEffort)
        ? h('a', { href: `${live}/report` }, 'Report') : null));
}

function result(j) {
  const r = j.result;
  if (!r) {
    return j.message ? h('span', { class: 'muted clip', title: j.message }, j.message) : '–';
  }
  if (r.reasonCode) {
    return h('span', { class: 'fail clip', title: r.reason || '' }, `${r.reasonCode}${r.bestEffort ? ' (best effort)' : ''}`);
  }
  const parts = [];
  if (r.fp32Accuracy !== null && r.fp32Accuracy !== undefined) {
    parts.push(`top-1 ${fmtPct(r.fp32Accuracy, 1)} → ${fmtPct(r.quantizedAccuracy, 1)}`);
  }
  if (r.fp32SizeBytes && r.quantizedSizeBytes) {
    parts.push(`size ×${(r.quantizedSizeBytes / r.fp32SizeBytes).toFixed(2)}`);
  }
  return parts.join(', ') || (r.meetsTarget ? 'meets target' : '');
}
