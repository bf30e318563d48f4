// Small DOM and formatting helpers (no framework).

/** Creates an element: h('a', {href: '#', class: 'x'}, 'text', child, …). Attributes starting with 'on' are listeners. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) {
      continue;
    }
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) {
      continue;
    }
    if (Array.isArray(c)) {
      append(el, c);
    } else {
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
}

/** An error box with intake's code and reason. */
export function errorBox(e) {
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, e.code || 'ERROR'), ' ', e.reason || e.message || String(e));
}

export function fmtBytes(n) {
  if (n === null || n === undefined) {
    return '–';
  }
  if (n < 1000) {
    return `${n} B`;
  }
  if (n < 1e6) {
    return `${(n / 1e3).toFixed(1)} kB`;
  }
  return `${(n / 1e6).toFixed(2)} MB`;
}

export function fmtNum(x, digits = 4) {
  return x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(digits);
}

export function fmtPct(x, digits = 2) {
  return x === null || x === undefined ? '–' : `${(x * 100).toFixed(digits)} %`;
}

export function fmtTime(iso) {
  if (!iso) {
    return '–';
  }
  const d = new Date(iso);
  // local time as 2026-12-08 03:18:24 (the sv-SE format is ISO-like)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('sv-SE');
}

/** Seconds between two ISO instants, as "12.3 s" / "4 min 5 s". */
export function fmtDuration(fromIso, toIso) {
  if (!fromIso || !toIso) {
    return '–';
  }
  const s = (new Date(toIso) - new Date(fromIso)) / 1000;
  if (s < 60) {
    return `${s.toFixed(1)} s`;
  }
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function stateBadge(state) {
  return h('span', { class: `badge state-${(state || 'unknown').toLowerCase()}` }, state || '?');
}
