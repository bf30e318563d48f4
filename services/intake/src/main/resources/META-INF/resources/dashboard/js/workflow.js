// A job's workflow diagram, derived from its status events (the SSE stream of GET /api/jobs/{id}/events) and drawn
// as SVG: the stages light up as events arrive; a loop back (validation → calibration or → quantize, a new attempt)
// or a method switch is drawn when the next attempt's first event shows where the debug loop sent the job.

export const STAGES = ['intake', 'calibration', 'quantize', 'validation', 'export'];
const LABELS = { intake: 'Intake', calibration: 'Calibration', quantize: 'Quantize', validation: 'Validation', export: 'Export', ready: 'READY', failed: 'FAILED' };

/**
 * The diagram's state after the given events, in order.
 *
 * @returns {{nodes: Object, edges: Object[], loops: Object[], method: string, attempt: number, terminal: string|null}}
 *   nodes: stage → {status: pending|active|done|retry|failed, attempt, progress, message, visits};
 *   edges: {from, to, kind: forward|bypass|loop|switch|end, count}; loops: one per new attempt, in order.
 */
export function deriveWorkflow(events, initialMethod = '') {
  const nodes = {};
  for (const s of STAGES.concat(['ready', 'failed'])) {
    nodes[s] = { status: 'pending', attempt: 0, progress: 0, message: '', visits: 0 };
  }
  const edges = new Map();
  const loops = [];
  let method = initialMethod;
  let current = null;
  let retry = null;
  let attempt = 1;
  let terminal = null;

  const edge = (from, to, kind) => {
    const key = `${from}>${to}>${kind}`;
    const e = edges.get(key) || { from, to, kind, count: 0 };
    e.count += 1;
    edges.set(key, e);
  };

  for (const ev of events) {
    const stage = STAGES.includes(ev.stage) ? ev.stage : (current || 'intake');
    attempt = Math.max(attempt, ev.attempt || 1);
    if (ev.state === 'ACCEPTED') {
      const m = /^accepted: method (\S+)/.exec(ev.message || '');
      if (m) {
        method = m[1];
      }
    }
    if (current && stage !== current) {
      if (retry && (ev.attempt || 0) > retry.attempt) {
        const kind = retry.switchTo ? 'switch' : 'loop';
        edge(retry.stage, stage, kind);
        loops.push({ attempt: ev.attempt, from: retry.stage, to: stage, kind, method: retry.switchTo || method, reason: retry.reason });
        if (retry.switchTo) {
          method = retry.switchTo;
        }
        // the stages after the loop's target run again for the new attempt
        for (const s of STAGES.slice(STAGES.indexOf(stage))) {
          nodes[s].status = 'pending';
          nodes[s].progress = 0;
        }
        retry = null;
      } else {
        edge(current, stage, current === 'intake' && stage === 'quantize' ? 'bypass' : 'forward');
        if (nodes[current].status === 'active') {
          nodes[current].status = 'done';
        }
      }
    }
    const n = nodes[stage];
    if (stage !== current || n.attempt !== ev.attempt) {
      n.visits += 1;
    }
    n.attempt = ev.attempt;
    n.progress = ev.progress;
    n.message = ev.message;
    switch (ev.state) {
      case 'ACCEPTED':
        n.status = 'done';
        break;
      case 'RETRYING': {
        n.status = 'retry';
        const sw = /switching to (\w+)/.exec(ev.message || '');
        const semi = (ev.message || '').indexOf('; ');
        retry = { stage, attempt: ev.attempt, switchTo: sw ? sw[1] : null, reason: semi >= 0 ? ev.message.slice(semi + 2) : ev.message };
        break;
      }
      case 'READY':
        n.status = 'done';
        nodes.ready.status = 'done';
        edge(stage, 'ready', 'end');
        terminal = 'READY';
        break;
      case 'FAILED':
        n.status = 'failed';
        nodes.failed.status = 'failed';
        nodes.failed.message = ev.message;
        edge(stage, 'failed', 'end');
        terminal = 'FAILED';
        break;
      default:
        n.status = ev.progress >= 1 ? 'done' : 'active';
    }
    current = stage;
  }
  return { nodes, edges: [...edges.values()], loops, method, attempt, terminal };
}

// Layout (SVG user units)
const W = 130;
const H = 60;
const CY = 120;
const X = { intake: 80, calibration: 250, quantize: 420, validation: 590, export: 760, ready: 930, failed: 930 };
const Y = { ready: CY, failed: 30 };
const SVG_NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs = {}, text = null) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) {
      e.setAttribute(k, String(v));
    }
  }
  if (text !== null) {
    e.textContent = text;
  }
  return e;
}

function cy(s) {
  return Y[s] ?? CY;
}

/** The path of an edge, and where its label goes. */
function geometry(e, index) {
  const { from, to, kind } = e;
  const x1 = X[from];
  const x2 = X[to];
  if (kind === 'loop' || kind === 'switch') {
    // under the row, back from right to left; deeper for calibration, switches below loops
    const depth = (to === 'calibration' || to === 'intake' ? 120 : 70) + (kind === 'switch' ? 34 : 0) + index * 4;
    const y = CY + H / 2;
    const dx = kind === 'switch' ? 12 : -12;
    const path = `M${x1 + dx},${y} C${x1 + dx},${y + depth} ${x2 - dx},${y + depth} ${x2 - dx},${y}`;
    // the short arc (back to quantize) is labelled inside, the long one (back to calibration) below
    return { path, lx: (x1 + x2) / 2, ly: to === 'quantize' ? y + depth * 0.75 - 14 : y + depth * 0.75 + 16 };
  }
  if (kind === 'bypass') {
    const y = CY - H / 2;
    return { path: `M${x1},${y} C${x1},${y - 70} ${x2},${y - 70} ${x2},${y}`, lx: (x1 + x2) / 2, ly: y - 56 };
  }
  if (to === 'failed') {
    const y = CY - H / 2;
    return { path: `M${x1 + 20},${y} C${x1 + 20},${Y.failed} ${X.failed - W / 2 - 60},${Y.failed} ${X.failed - W / 2},${Y.failed}`, lx: 0, ly: 0 };
  }
  return { path: `M${x1 + W / 2},${cy(from)} L${x2 - W / 2 - 4},${cy(to)}`, lx: 0, ly: 0 };
}

/**
 * Draws the diagram into the given <svg>. Nodes are <g class="node" data-stage data-status>, edges
 * <path class="edge" data-from data-to data-kind data-count>; loop edges drawn for the first time animate.
 */
export function renderWorkflow(svg, model, previous = 0) {
  svg.replaceChildren();
  // as tall as what is drawn: the row, plus the arcs above (no calibration, FAILED) and the loops below
  const above = model.edges.some((e) => e.kind === 'bypass' || e.to === 'failed');
  const loopCount = model.edges.filter((e) => e.kind === 'loop' || e.kind === 'switch').length;
  const deepest = Math.max(0, ...model.edges.filter((e) => e.kind === 'loop' || e.kind === 'switch')
    .map((e) => (e.to === 'calibration' || e.to === 'intake' ? 120 : 70) + (e.kind === 'switch' ? 34 : 0) + loopCount * 4));
  const top = above ? 0 : CY - H / 2 - 20;
  const bottom = loopCount ? CY + H / 2 + deepest * 0.75 + 30 : CY + H / 2 + 20;
  svg.setAttribute('viewBox', `0 ${top} 1010 ${bottom - top}`);
  const defs = el('defs');
  for (const [id, cls] of [['arrow', 'arrow'], ['arrow-lit', 'arrow lit'], ['arrow-loop', 'arrow loop'], ['arrow-switch', 'arrow switch'], ['arrow-fail', 'arrow fail']]) {
    const m = el('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    m.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
    defs.append(m);
  }
  svg.append(defs);

  // the fixed chain, grey until traversed
  const traversed = new Set(model.edges.map((e) => `${e.from}>${e.to}`));
  const chain = [['intake', 'calibration'], ['calibration', 'quantize'], ['quantize', 'validation'], ['validation', 'export'], ['export', 'ready']];
  for (const [from, to] of chain) {
    const lit = traversed.has(`${from}>${to}`);
    const g = geometry({ from, to, kind: 'forward' }, 0);
    svg.append(el('path', { d: g.path, class: `edge forward${lit ? ' lit' : ''}`, 'data-from': from, 'data-to': to, 'data-kind': 'forward', 'marker-end': `url(#${lit ? 'arrow-lit' : 'arrow'})` }));
  }
  const extra = model.edges.filter((e) => e.kind !== 'forward' && !(e.kind === 'end' && e.to === 'ready'));
  let loopIndex = 0;
  extra.forEach((e) => {
    const g = geometry(e, e.kind === 'loop' || e.kind === 'switch' ? loopIndex++ : 0);
    const marker = e.kind === 'switch' ? 'arrow-switch' : e.kind === 'loop' ? 'arrow-loop' : e.to === 'failed' ? 'arrow-fail' : 'arrow-lit';
    const newest = model.loops[model.loops.length - 1];
    const fresh = model.loops.length > previous && newest && newest.from === e.from && newest.to === e.to && newest.kind === e.kind;
    svg.append(el('path', { d: g.path, class: `edge ${e.kind}${e.to === 'failed' ? ' fail' : ' lit'}${fresh ? ' fresh' : ''}`,
      'data-from': e.from, 'data-to': e.to, 'data-kind': e.kind, 'data-count': e.count, 'marker-end': `url(#${marker})` }));
    if (e.kind === 'loop' || e.kind === 'switch') {
      const last = [...model.loops].reverse().find((l) => l.from === e.from && l.to === e.to && l.kind === e.kind);
      const label = e.kind === 'switch' ? `method → ${last ? last.method : '?'}` : `back to ${e.to}`;
      svg.append(el('text', { x: g.lx, y: g.ly, class: `edge-label ${e.kind}`, 'text-anchor': 'middle' },
        `${label}${e.count > 1 ? ` ×${e.count}` : ''}`));
    }
    if (e.kind === 'bypass') {
      svg.append(el('text', { x: g.lx, y: g.ly, class: 'edge-label', 'text-anchor': 'middle' }, 'no calibration'));
    }
  });

  for (const s of STAGES.concat(['ready', 'failed'])) {
    const n = model.nodes[s];
    if (s === 'failed' && n.status === 'pending') {
      continue;
    }
    const g = el('g', { class: `node ${n.status}${s === 'ready' || s === 'failed' ? ' end' : ''}`, 'data-stage': s, 'data-status': n.status, transform: `translate(${X[s] - W / 2},${cy(s) - H / 2})` });
    g.append(el('rect', { width: W, height: H, rx: 10, ry: 10 }));
    if (n.status === 'active' && n.progress > 0) {
      g.append(el('rect', { class: 'progress', x: 0, y: H - 6, width: Math.min(1, n.progress) * W, height: 6, rx: 3 }));
    }
    g.append(el('text', { x: W / 2, y: 25, 'text-anchor': 'middle', class: 'node-title' }, LABELS[s]));
    let sub = '';
    if (n.status === 'active') {
      sub = `${Math.round(n.progress * 100)} %`;
    } else if (n.status === 'retry') {
      sub = 'misses target';
    } else if (n.status === 'done' && s !== 'ready') {
      sub = 'done';
    } else if (n.status === 'failed') {
      const code = /^([A-Z][A-Z_]+):/.exec(n.message || '');
      sub = s === 'failed' && code ? code[1] : 'failed';
    }
    if (s === 'quantize' && model.method) {
      // the method instead of "done" (the colour says it), beside the progress while it runs
      sub = n.status === 'active' || n.status === 'failed' ? `${model.method} · ${sub}` : model.method;
    }
    if (n.status !== 'pending' && (n.visits > 1 || (s !== 'intake' && n.attempt > 1 && STAGES.includes(s)))) {
      sub += `${sub ? ' · ' : ''}attempt ${n.attempt}`;
    }
    g.append(el('text', { x: W / 2, y: 45, 'text-anchor': 'middle', class: 'node-sub' }, sub));
    const title = el('title', {}, `${LABELS[s]}: ${n.status}${n.message ? ` — ${n.message}` : ''}`);
    g.append(title);
    svg.append(g);
  }
}
