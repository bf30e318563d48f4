// The submit form: the multipart POST /api/jobs of the REST API (same field names), then the job's live view.
import { api, errorOf } from './api.js';
import { errorBox, h } from './dom.js';

const METHODS = [
  ['', 'server default (static)'], ['auto', 'auto (chosen from the model)'], ['static', 'static INT8 (calibrated)'],
  ['dynamic', 'dynamic INT8'], ['fp16', 'fp16 cast'], ['bf16', 'bf16 cast'], ['gptq', 'GPTQ 4-bit (causal LM)'],
  ['awq', 'AWQ 4-bit (causal LM)'], ['rtn', 'round-to-nearest 4-bit (causal LM)'], ['qat', 'QAT (with training data)'],
];
const METRICS = [
  ['', 'auto (from the output shape)'], ['top1', 'top-1 accuracy (labels)'], ['agreement', 'top-1 agreement with fp32'],
  ['cosine', 'mean cosine to fp32'], ['mse', 'mean squared error to fp32'], ['iou', 'mean IoU of probability maps'],
  ['perplexity', 'perplexity (causal LM)'],
];

function file(name, label, hint, required = false) {
  return h('label', { class: 'field' }, h('span', {}, label, required ? h('b', { class: 'req' }, ' *') : null),
    h('input', { type: 'file', name, id: `f-${name}`, required }), h('small', { class: 'muted' }, hint));
}

function text(name, label, hint, attrs = {}) {
  return h('label', { class: 'field' }, h('span', {}, label),
    h('input', { name, id: `f-${name}`, ...attrs }), h('small', { class: 'muted' }, hint));
}

function select(name, label, options, hint) {
  return h('label', { class: 'field' }, h('span', {}, label),
    h('select', { name, id: `f-${name}` }, options.map(([v, t]) => h('option', { value: v }, t))),
    h('small', { class: 'muted' }, hint));
}

export function renderSubmit(view) {
  const message = h('div', { id: 'submit-message' });
  const button = h('button', { type: 'submit', class: 'primary', id: 'submit-button' }, 'Submit job');
  const form = h('form', { id: 'submit-form', class: 'submit', novalidate: true },
    h('fieldset', {}, h('legend', {}, 'Model and data'),
      text('name', 'Name', 'shown in the job list', { placeholder: 'my-model', autocomplete: 'off' }),
      file('model', 'Model (.onnx)', 'the fp32 ONNX model', true),
      file('calibration', 'Calibration data', '.npz (one array per model input), or text / JSONL with a tokenizer'),
      file('validation', 'Validation data', '.npz with the inputs (and labels), or text / JSONL'),
      file('tokenizer', 'Tokenizer (tokenizer.json)', 'only for text data'),
      file('training', 'Training data (QAT)', '.npz like the validation data; needs "allow retraining"')),
    h('fieldset', {}, h('legend', {}, 'Method and metric'),
      select('method', 'Method', METHODS, 'auto picks by the op family with the most compute'),
      select('metric', 'Metric', METRICS, 'what the budget is judged on'),
      text('metricThreshold', 'Metric threshold', 'e.g. 0.99 mean cosine; perplexity: the largest relative increase',
        { inputmode: 'decimal', placeholder: 'default' }),
      text('bits', 'Bits', 'LLM: 4 (8, 2); QAT: 8 or 4', { inputmode: 'numeric', placeholder: 'default' }),
      text('blockSize', 'Block size', 'LLM weight blocks (power of two, 128 default)', { inputmode: 'numeric', placeholder: 'default' }),
      h('label', { class: 'field check' }, h('input', { type: 'checkbox', name: 'allowRetraining', id: 'f-allowRetraining', value: 'true' }),
        h('span', {}, 'Allow retraining (QAT)'))),
    h('fieldset', {}, h('legend', {}, 'Budget'),
      text('maxRelativeDrop', 'Max relative drop', 'allowed relative top-1 drop, 0.02 = 2 %', { inputmode: 'decimal', placeholder: '0.02' }),
      text('maxAttempts', 'Max attempts', 'attempts of the debug loop', { inputmode: 'numeric', placeholder: '4' }),
      text('timeBudgetSeconds', 'Time budget (s)', 'the job fails with DEADLINE_EXCEEDED after it', { inputmode: 'numeric', placeholder: '3600' }),
      text('maxSizeRatio', 'Max size ratio', 'quantized / fp32 bytes, optional', { inputmode: 'decimal', placeholder: 'none' }),
      text('maxLatencyMs', 'Max latency (ms)', 'batch-1 p50 target, optional', { inputmode: 'decimal', placeholder: 'none' }),
      text('excludedNodes', 'Keep in fp32', 'node names, comma-separated', { placeholder: 'none', autocomplete: 'off' })),
    h('div', { class: 'form-actions' }, button, message));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    message.replaceChildren();
    const data = new FormData();
    for (const el of form.elements) {
      if (!el.name) {
        continue;
      }
      if (el.type === 'file') {
        if (el.files.length) {
          data.append(el.name, el.files[0], el.files[0].name);
        }
      } else if (el.type === 'checkbox') {
        if (el.checked) {
          data.append(el.name, 'true');
        }
      } else if (el.value.trim()) {
        data.append(el.name, el.value.trim());
      }
    }
    if (!data.has('model')) {
      message.append(errorBox({ code: 'MISSING_INPUT', reason: 'choose the model file' }));
      return;
    }
    button.disabled = true;
    button.textContent = 'Uploading…';
    try {
      const r = await api('/api/jobs', { method: 'POST', body: data });
      if (r.status !== 202) {
        throw await errorOf(r);
      }
      const accepted = await r.json();
      location.hash = `#/jobs/${encodeURIComponent(accepted.jobId)}`;
    } catch (err) {
      message.append(errorBox(err));
    } finally {
      button.disabled = false;
      button.textContent = 'Submit job';
    }
  });

  view.append(h('div', { class: 'title-row' }, h('h1', {}, 'Submit a job')),
    h('p', { class: 'muted' }, 'Intake checks the model and the data before it accepts the job; a refusal says why.'),
    form);
  return null;
}
