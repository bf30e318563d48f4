// A finished job's report (GET /api/jobs/{id}/report) with charts, and its artifacts (GET …/artifacts).
// Charts: Apache ECharts from its WebJar (org.webjars.npm:echarts, served by intake under /webjars/).
import * as echarts from '/webjars/echarts/5.3.1/dist/echarts.esm.min.js';
import { api, apiJson, errorOf } from './api.js';
import { errorBox, fmtBytes, fmtNum, fmtPct, fmtTime, h, stateBadge } from './dom.js';

const FP32 = '#7a8699';
const QUANT = '#2f6fdf';
const MB = 1e6;

export function renderReport(view, jobId) {
  const charts = [];
  const root = h('section', { class: 'report', id: 'report', 'data-job': jobId }, h('p', { class: 'muted' }, 'Loading the report…'));
  view.append(root);
  const onResize = () => charts.forEach((c) => c.resize());
  window.addEventListener('resize', onResize);

  (async () => {
    let report;
    try {
      report = await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/report`);
    } catch (e) {
      root.replaceChildren(h('div', { class: 'title-row' }, h('h1', {}, 'Report'), back(jobId)), errorBox(e));
      root.dataset.loaded = 'error';
      return;
    }
    let artifacts = [];
    let artifactsError = null;
    try {
      artifacts = (await apiJson(`/api/jobs/${encodeURIComponent(jobId)}/artifacts`)).artifacts;
    } catch (e) {
      artifactsError = e;
    }
    root.replaceChildren(...page(report, artifacts, artifactsError, jobId, charts));
    root.dataset.loaded = 'true';
  })();

  return () => {
    window.removeEventListener('resize', onResize);
    charts.forEach((c) => c.dispose());
  };
}

function back(jobId) {
  return h('div', { class: 'actions' },
    h('a', { class: 'button', href: `#/jobs/${encodeURIComponent(jobId)}` }, 'Live view'),
    h('a', { class: 'button', href: '#/jobs' }, '← Jobs'));
}

/** What the job was judged on: accuracy (or the job's metric) for classifiers, perplexity for causal LMs. */
function quality(report) {
  if (report.llm) {
    return { label: 'perplexity (lower is better)', lower: true, fp32: report.fp32?.perplexity, quantized: report.quantized?.perplexity, attempt: (a) => a.quantizedPerplexity };
  }
  if (report.fp32?.accuracy !== undefined && report.fp32?.accuracy !== null) {
    return { label: 'top-1 accuracy', lower: false, fp32: report.fp32.accuracy, quantized: report.quantized?.accuracy, attempt: (a) => a.quantizedAccuracy ?? null, percent: true };
  }
  return { label: 'top-1 agreement with fp32', lower: false, fp32: 1, quantized: report.comparison?.top1Agreement, attempt: (a) => a.top1Agreement ?? null, percent: true };
}

function page(report, artifacts, artifactsError, jobId, charts) {
  const q = quality(report);
  const t = report.target || {};
  const cmp = report.comparison || {};
  const out = [];
  out.push(h('div', { class: 'title-row' },
    h('div', {}, h('div', { class: 'title-line' }, h('h1', {}, `Report: ${report.name || jobId}`), stateBadge(report.state)),
      h('p', { class: 'muted mono' }, `${jobId} · finished ${fmtTime(report.finishedAt)}`)),
    back(jobId)));
  out.push(h('p', { class: report.meetsTarget ? 'verdict ok' : 'verdict warn', id: 'verdict' },
    report.bestEffort ? h('strong', {}, `Best effort (${report.bestEffortReason}): `) : null, report.verdict || ''));

  const cards = [
    ['Method', `${report.method || '?'} → ${report.precision || '?'}`, report.methodReason],
    ['Target', t.metric || '–', t.metricReason],
    ['Value', t.value !== undefined ? fmtNum(t.value, 4) : '–',
      `${t.threshold !== undefined ? `threshold ${fmtNum(t.threshold, 4)}: ` : ''}${report.meetsTarget ? 'meets the target' : 'misses the target'}`],
    ['Attempts', `${report.attempts?.length ?? 0} (exported: #${report.chosenAttempt ?? '?'})`, ''],
    ['Size', `${fmtBytes(report.fp32?.sizeBytes)} → ${fmtBytes(report.quantized?.sizeBytes)}`, cmp.sizeRatio ? `×${cmp.sizeRatio.toFixed(3)}` : ''],
    ['Speed-up (batch 1)', cmp.speedupBatch1 ? `×${cmp.speedupBatch1.toFixed(2)}` : '–', cmp.speedupBatchN ? `batch N ×${cmp.speedupBatchN.toFixed(2)}` : ''],
  ];
  out.push(h('div', { class: 'cards' }, cards.map(([k, v, s]) => h('div', { class: 'card' },
    h('div', { class: 'card-k' }, k), h('div', { class: 'card-v', 'data-card': k }, v), s ? h('div', { class: 'muted small' }, s) : null))));

  // fp32 vs quantized
  out.push(h('h2', {}, `FP32 vs ${report.precision || 'quantized'}`));
  const row = h('div', { class: 'chart-row' });
  const lat = (m) => (report.llm ? m?.decodeP50Ms : m?.latencyBatch1?.p50Ms);
  row.append(
    chart(charts, 'chart-size', 'Model size (MB)', bars(report, (m) => (m?.sizeBytes ?? null) / MB, 3)),
    chart(charts, 'chart-latency', report.llm ? 'Decode latency p50 (ms/token)' : 'Latency batch 1, p50 (ms)', bars(report, lat, 4)),
    chart(charts, 'chart-quality', q.label, bars(report, (m, label) => (label === 'fp32' ? q.fp32 : q.quantized), 4, q.percent)));
  out.push(row);

  // per-layer SQNR
  const layers = (report.layers || []);
  out.push(h('h2', {}, 'Per-layer SQNR'));
  if (layers.length) {
    out.push(h('p', { class: 'muted small' }, 'Signal-to-quantization-noise ratio of each node\'s output against fp32, in dB (higher is closer; 200 dB = identical). Grey bars: nodes kept in fp32; layers without a bar were not measured (hover for why).'));
    out.push(chart(charts, 'chart-sqnr', '', sqnr(layers), 'wide'));
  } else {
    out.push(h('p', { class: 'muted' }, 'No per-layer diagnostics in this report.'));
  }

  // attempts
  const attempts = report.attempts || [];
  out.push(h('h2', {}, 'Attempts'));
  const axis = h('select', { id: 'pareto-axis', 'aria-label': 'x axis' },
    h('option', { value: 'size' }, 'size (MB)'), h('option', { value: 'latency' }, 'latency batch 1 (ms)'));
  // every attempt the same size (one precision): latency separates them
  const sizes = new Set(attempts.map((a) => a.quantizedSizeBytes).filter(Boolean));
  axis.value = sizes.size <= 1 && attempts.some((a) => a.quantizedLatencyBatch1P50Ms) ? 'latency' : 'size';
  const paretoChart = chart(charts, 'chart-pareto', '', pareto(report, q, attempts, axis.value), 'half');
  axis.addEventListener('change', () => {
    const box = paretoChart.querySelector('.chart');
    if (box.chart) {
      box.chart.setOption({ animation: false, ...pareto(report, q, attempts, axis.value) }, true);
    }
  });
  out.push(h('div', { class: 'chart-row' }, h('div', { class: 'pareto-box' },
    h('div', { class: 'pareto-head' }, h('strong', {}, `${q.label} against `), axis,
      h('span', { class: 'muted small' }, ' — each dot an attempt (green passed, red missed, gold ring: on the Pareto set over quality, size and latency; large: exported)')),
    paretoChart)));
  out.push(h('table', { class: 'attempts', id: 'attempts-table' },
    h('thead', {}, h('tr', {}, ['#', 'Method', 'Recipe', q.label, 'Size', 'Latency b1 (ms)', 'Passed', 'Pareto', 'Verdict / diagnosis', 'Next'].map((x) => h('th', {}, x)))),
    h('tbody', {}, attempts.map((a) => h('tr', { class: a.attempt === report.chosenAttempt ? 'chosen' : '' },
      h('td', { class: 'num' }, a.attempt), h('td', {}, `${a.method || ''} ${a.precision || ''}`),
      h('td', {}, recipe(a.recipe)), h('td', { class: 'num' }, q.percent ? fmtPct(q.attempt(a)) : fmtNum(q.attempt(a), 3)),
      h('td', { class: 'num' }, fmtBytes(a.quantizedSizeBytes)), h('td', { class: 'num' }, fmtNum(a.quantizedLatencyBatch1P50Ms, 4)),
      h('td', {}, a.passed ? '✔' : '✘'), h('td', {}, a.pareto ? '★' : ''),
      h('td', {}, a.verdict || '', a.diagnosis ? h('div', { class: 'muted' }, a.diagnosis) : null), h('td', {}, a.route || ''))))));

  // artifacts
  out.push(h('h2', {}, 'Artifacts'));
  if (artifactsError) {
    out.push(errorBox(artifactsError));
  } else {
    out.push(h('table', { class: 'artifacts', id: 'artifacts-table' },
      h('thead', {}, h('tr', {}, ['File', 'Size', 'sha256', ''].map((x) => h('th', {}, x)))),
      h('tbody', {}, artifacts.map((a) => h('tr', {},
        h('td', {}, a.name), h('td', { class: 'num' }, fmtBytes(a.size)),
        h('td', { class: 'mono small', title: a.sha256 }, `${a.sha256.slice(0, 16)}…`),
        h('td', {}, h('a', { href: a.url, download: a.name, class: 'download', 'data-name': a.name }, 'Download')))))));
    out.push(h('p', { class: 'muted small' }, 'Links are presigned and expire (quantflow.intake.download-link-expiry).'));
  }
  out.push(h('p', {}, h('button', { type: 'button', class: 'button', onclick: () => openHtml(jobId) }, 'Open report.html'),
    ' ', h('button', { type: 'button', class: 'button', onclick: () => download(jobId, report) }, 'Download report.json')));
  return out;
}

function recipe(r) {
  if (!r) {
    return '';
  }
  const parts = [];
  if (r.calibrator) {
    parts.push(r.calibrator);
  }
  if (r.bits) {
    parts.push(`${r.bits}-bit${r.blockSize ? `, blocks ${r.blockSize}` : ''}`);
  }
  if (r.excludedNodes?.length) {
    parts.push(`${r.excludedNodes.length} kept fp32`);
  }
  if (r.highPrecisionNodes?.length) {
    parts.push(`${r.highPrecisionNodes.length} at 8 bits`);
  }
  return parts.join(', ');
}

/** A chart container; the chart is made once the element is in the page. */
function chart(charts, id, title, option, size = '') {
  const box = h('div', { class: `chart ${size}`, id });
  const wrap = h('figure', { class: `chart-box ${size}` }, title ? h('figcaption', {}, title) : null, box);
  requestAnimationFrame(() => {
    const c = echarts.init(box, null, { renderer: 'svg' });
    c.setOption({ animation: false, ...option });
    charts.push(c);
    box.chart = c;
    box.dataset.drawn = 'true';
  });
  return wrap;
}

function bars(report, value, digits, percent = false) {
  const v = [value(report.fp32, 'fp32'), value(report.quantized, 'quantized')].map((x) => (x === null || x === undefined || Number.isNaN(x) ? null : x));
  return {
    grid: { left: 56, right: 16, top: 24, bottom: 28 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: ['fp32', report.precision || 'quantized'] },
    yAxis: { type: 'value', min: 0, max: percent ? 1 : null, axisLabel: { formatter: (x) => (percent ? `${(x * 100).toFixed(0)}%` : x) } },
    series: [{
      type: 'bar', barWidth: '45%',
      data: v.map((x, i) => ({ value: x, itemStyle: { color: i === 0 ? FP32 : QUANT } })),
      label: { show: true, position: 'top', formatter: (p) => (p.value === null ? 'n/a' : percent ? `${(p.value * 100).toFixed(2)}%` : Number(p.value).toFixed(digits)) },
    }],
  };
}

function sqnr(layers) {
  // 200 dB is the validator's "identical to fp32": drawn up to the axis top, labelled, so the others stay readable
  const measured = layers.map((l) => l.sqnrDb).filter((v) => v !== undefined && v !== null && v < 200);
  const top = Math.max(40, Math.ceil((Math.max(0, ...measured) + 5) / 10) * 10);
  return {
    grid: { left: 56, right: 16, top: 28, bottom: 90 },
    tooltip: {
      trigger: 'axis',
      formatter: (ps) => {
        const l = layers[ps[0].dataIndex];
        const rows = [`<b>${l.node}</b> (${l.opType}${l.quantized ? ', quantized' : ', fp32'})`];
        if (l.sqnrDb !== undefined) {
          rows.push(`output SQNR ${l.sqnrDb.toFixed(1)} dB`);
        }
        if (l.layerSqnrDb !== undefined) {
          rows.push(`this layer alone ${l.layerSqnrDb.toFixed(1)} dB`);
        }
        if (l.addedErrorDb !== undefined) {
          rows.push(`added error ${l.addedErrorDb.toFixed(1)} dB`);
        }
        if (l.skipReason) {
          rows.push(`not measured: ${l.skipReason}`);
        }
        return rows.join('<br>');
      },
    },
    dataZoom: layers.length > 40 ? [{ type: 'slider', bottom: 4, height: 16 }] : [],
    xAxis: { type: 'category', data: layers.map((l) => l.node), axisLabel: { rotate: 45, interval: 0, fontSize: 10 } },
    yAxis: { type: 'value', name: 'dB', min: 0, max: top },
    series: [{
      type: 'bar',
      data: layers.map((l) => ({
        value: l.sqnrDb === undefined || l.sqnrDb === null ? null : Math.min(l.sqnrDb, top),
        itemStyle: { color: l.quantized ? QUANT : FP32, opacity: l.sqnrDb >= 200 ? 0.35 : 1 },
        label: { show: true, position: 'top', fontSize: 10,
          formatter: l.sqnrDb === undefined || l.sqnrDb === null ? 'n/a' : l.sqnrDb >= 200 ? 'exact' : l.sqnrDb.toFixed(1) },
      })),
    }],
  };
}

function pareto(report, q, attempts, axis) {
  const xOf = axis === 'latency' ? (a) => a.quantizedLatencyBatch1P50Ms : (a) => (a.quantizedSizeBytes ? a.quantizedSizeBytes / MB : null);
  const fp32X = axis === 'latency' ? report.fp32?.latencyBatch1?.p50Ms : (report.fp32?.sizeBytes ? report.fp32.sizeBytes / MB : null);
  const pts = attempts.filter((a) => q.attempt(a) !== null && q.attempt(a) !== undefined && xOf(a) !== null && xOf(a) !== undefined)
    .map((a) => ({ a, x: xOf(a), y: q.attempt(a) }));
  const front = pts.filter((p) => p.a.pareto);
  const point = (p) => ({
    value: [p.x, p.y], name: `#${p.a.attempt}`,
    symbolSize: p.a.attempt === report.chosenAttempt ? 18 : 12,
    itemStyle: { color: p.a.passed ? '#1f9d55' : '#d64545', borderColor: '#fff', borderWidth: 1 },
  });
  const series = [
    { name: 'attempts', type: 'scatter', data: pts.map(point), label: { show: true, position: 'right', formatter: (p) => p.name } },
    { name: 'Pareto set', type: 'scatter', data: front.map((p) => ({ value: [p.x, p.y], name: `#${p.a.attempt}` })), symbolSize: 26,
      itemStyle: { color: 'rgba(0,0,0,0)', borderColor: '#e0a000', borderWidth: 2.5 }, z: 1 },
  ];
  if (q.fp32 !== undefined && q.fp32 !== null && fp32X !== null && fp32X !== undefined) {
    series.push({ name: 'fp32', type: 'scatter', symbol: 'diamond', symbolSize: 14, itemStyle: { color: FP32 },
      data: [{ value: [fp32X, q.fp32], name: 'fp32' }], label: { show: true, position: 'right', formatter: 'fp32' } });
  }
  return {
    grid: { left: 64, right: 48, top: 28, bottom: 40 },
    legend: { top: 0, data: ['attempts', 'Pareto set', 'fp32'] },
    tooltip: {
      trigger: 'item',
      formatter: (p) => {
        const a = attempts.find((x) => `#${x.attempt}` === p.name);
        return a ? `attempt ${a.attempt} (${a.method} ${a.precision || ''})<br>${a.verdict || ''}` : p.name;
      },
    },
    xAxis: { type: 'value', name: axis === 'latency' ? 'latency batch 1, p50 (ms)' : 'size (MB)', nameLocation: 'middle', nameGap: 26, scale: true },
    yAxis: { type: 'value', name: q.label, scale: true, inverse: false,
      axisLabel: { formatter: (x) => (q.percent ? `${(x * 100).toFixed(2)}%` : x) } },
    series,
  };
}

async function openHtml(jobId) {
  const r = await api(`/api/jobs/${encodeURIComponent(jobId)}/report.html`, { headers: { Accept: 'text/html' } });
  if (!r.ok) {
    alert((await errorOf(r)).message);
    return;
  }
  const url = URL.createObjectURL(new Blob([await r.text()], { type: 'text/html' }));
  window.open(url, '_blank', 'noopener');
}

function download(jobId, report) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' }));
  const a = h('a', { href: url, download: `${jobId}-report.json` });
  document.body.append(a);
  a.click();
  a.remove();
}
