// The dashboard's router: #/jobs (list), #/submit, #/jobs/{id} (live workflow), #/jobs/{id}/report.
import { setToken, token } from './api.js';
import { renderJobs } from './jobs.js';
import { renderSubmit } from './submit.js';
import { renderLive } from './live.js';
import { renderReport } from './report.js';

const view = document.getElementById('view');
let cleanup = null;

function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const hash = location.hash || '#/jobs';
  let m;
  let name;
  view.replaceChildren();
  if ((m = hash.match(/^#\/jobs\/([^/?]+)\/report$/))) {
    name = 'jobs';
    cleanup = renderReport(view, decodeURIComponent(m[1]));
  } else if ((m = hash.match(/^#\/jobs\/([^/?]+)$/))) {
    name = 'jobs';
    cleanup = renderLive(view, decodeURIComponent(m[1]));
  } else if (hash.startsWith('#/submit')) {
    name = 'submit';
    cleanup = renderSubmit(view);
  } else {
    name = 'jobs';
    cleanup = renderJobs(view);
  }
  document.querySelectorAll('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === name));
  document.body.dataset.view = hash.replace(/^#\//, '').split('/')[0] || 'jobs';
}

function tokenForm() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token');
  const state = document.getElementById('token-state');
  const show = () => {
    state.textContent = token() ? 'saved' : '';
  };
  input.value = token();
  show();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value);
    show();
    route();
  });
}

tokenForm();
window.addEventListener('hashchange', route);
route();
