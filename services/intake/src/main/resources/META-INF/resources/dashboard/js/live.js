// The live view of one job: its workflow diagram lit from the SSE stream, the loops the debug loop took, and every
// status event.
import { apiJson, streamEvents } from './api.js';
import { errorBox, fmtPct, fmtTime, h, stateBadge } from './dom.js';
import { deriveWorkflow, renderWorkflow } from './workflow.js';

const RECONNECT_MS = 2000;

export function renderLive(view, jobId) {
  const title = h('h1', {}, 'Job');
  const badge = h('span', { id: 'live-state' });
  const meta = h('p', { class: 'muted mono' }, jobId);
  const actions = h('div', { class: 'actions', id: 'live-actions' });
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.id = 'workflow';
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'workflow of the job');
  const now = h('p', { class: 'now', id: 'live-message' });
  const loops = h('ol', { class: 'loops', id: 'live-loops' });
  const result = h('div', { id: 'live-result' });
  const problems = h('div', { id: 'live-error' });
  const rows = h('tbody', { id: 'events-body' });
  const root = h('section', { class: 'live', id: 'live', 'data-job': jobId },
    h('div', { class: 'title-row' }, h('div', {}, h('div', { class: 'title-line' }, title, badge), meta), actions),
    problems,
    h('div', { class: 'diagram' }, svg), now, result,
    h('h2', {}, 'Loops back'), loops,
    h('h2', {}, 'Status events'),
    h('div', { class: 'events-scroll' }, h('table', { class: 'events', id: 'events-table' },
      h('thead', {}, h('tr', {}, ['Time', 'Stage', 'State', 'Attempt', 'Progress', 'Message'].map((t) => h('th', {}, t)))), rows)));
  view.append(root);

  let events = [];
  let method = '';
  let drawnLoops = 0;
  let stopped = false;
  let frame = 0;
  const controller = new AbortController();
  let timer = null;
  let firstArrival = null;

  const draw = () => {
    frame = 0;
    const model = deriveWorkflow(events, method);
    renderWorkflow(svg, model, drawnLoops);
    drawnLoops = model.loops.length;
    const last = events[events.length - 1];
    const state = model.terminal || (last ? last.jobState : 'ACCEPTED');
    badge.replaceChildren(stateBadge(state));
    root.dataset.state = state;
    root.dataset.events = String(events.length);
    now.textContent = last ? `${last.stage} · attempt ${last.attempt}: ${last.message}` : 'waiting for the first event…';
    loops.replaceChildren(...model.loops.map((l) => h('li', { 'data-kind': l.kind, 'data-to': l.to },
      h('strong', {}, `attempt ${l.attempt}: `),
      l.kind === 'switch' ? `method switched to ${l.method}, back to ${l.to}` : `back to ${l.to}`,
      h('div', { class: 'muted' }, l.reason || ''))));
    if (model.loops.length === 0) {
      loops.append(h('li', { class: 'muted none' }, 'none: every stage ran once'));
    }
    rows.replaceChildren(...events.slice().reverse().map((e) => h('tr', { class: `ev-${e.state.toLowerCase()}` },
      h('td', { class: 'mono' }, fmtTime(e.at)), h('td', {}, e.stage), h('td', {}, stateBadge(e.state)),
      h('td', { class: 'num' }, e.attempt), h('td', { class: 'num' }, `${Math.round(e.progress * 100)} %`),
      h('td', {}, e.message))));
  };
  const schedule = () => {
    if (!frame) {
      frame = requestAnimationFrame(draw);
    }
  };

  const finished = async () => {
    try {
      const job = await apiJson(`/api/jobs/${encodeURIComponent(jobId)}`);
      showJob(job);
      const r = job.result || {};
      const report = `#/jobs/${encodeURIComponent(jobId)}/report`;
      if (job.state === 'READY' || r.bestEffort) {
        actions.append(h('a', { class: 'button primary', href: report, id: 'open-report' }, 'Open the report'));
      }
      if (job.state === 'READY') {
        result.replaceChildren(h('div', { class: 'ok' }, h('strong', {}, 'Model ready. '),
          r.fp32Accuracy !== null && r.fp32Accuracy !== undefined
            ? `top-1 ${fmtPct(r.fp32Accuracy)} → ${fmtPct(r.quantizedAccuracy)}; ` : '',
          r.fp32SizeBytes ? `size ${(r.fp32SizeBytes / 1e6).toFixed(2)} MB → ${(r.quantizedSizeBytes / 1e6).toFixed(2)} MB` : ''));
      } else if (r.reasonCode) {
        result.replaceChildren(errorBox({ code: r.reasonCode, reason: `${r.failedStage ? `(${r.failedStage}) ` : ''}${r.reason}` }));
      }
    } catch (e) {
      problems.replaceChildren(errorBox(e));
    }
  };

  const showJob = (job) => {
    title.textContent = job.name || '(unnamed job)';
    meta.textContent = `${job.jobId} · method ${job.method || '?'} · submitted ${fmtTime(job.createdAt)}`;
    method = method || job.method || '';
  };

  const connect = async () => {
    const batch = [];
    try {
      await streamEvents(`/api/jobs/${encodeURIComponent(jobId)}/events`, (e) => {
        batch.push(e);
        // when the events came: a finished job's history arrives at once, a running job's over its run
        const t = performance.now();
        firstArrival = firstArrival ?? t;
        root.dataset.spanMs = String(Math.round(t - firstArrival));
        // the stream starts with the history so far: take it over from the previous connection
        if (batch.length >= events.length) {
          events = batch.slice();
        }
        schedule();
      }, controller.signal);
      problems.replaceChildren();
    } catch (e) {
      if (stopped || e.name === 'AbortError') {
        return;
      }
      problems.replaceChildren(errorBox(e));
      if (e.status >= 400 && e.status < 500) {
        return; // unknown job, or a token intake refuses: retrying would not help
      }
    }
    if (stopped) {
      return;
    }
    const last = events[events.length - 1];
    if (last && (last.state === 'READY' || last.state === 'FAILED')) {
      draw();
      finished();
    } else {
      timer = setTimeout(connect, RECONNECT_MS);
    }
  };

  actions.append(h('a', { class: 'button', href: '#/jobs' }, '← Jobs'));
  apiJson(`/api/jobs/${encodeURIComponent(jobId)}`).then(showJob).catch((e) => problems.replaceChildren(errorBox(e)));
  draw();
  connect();
  return () => {
    stopped = true;
    controller.abort();
    clearTimeout(timer);
    if (frame) {
      cancelAnimationFrame(frame);
    }
  };
}
