// The committee round page: actions, votes and notes over the API (no inline script: CSP).
(() => {
  const T = JSON.parse(document.getElementById('texts').textContent);
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  const roundId = document.getElementById('actions').dataset.round;
  const base = '/api/v1/eligibility';

  async function api(method, url, body) {
    const res = await fetch(url, {
      method, credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error((data.detail && data.detail.message) || T.failed);
    return data;
  }
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  const actionError = document.getElementById('action-error');
  document.querySelectorAll('[data-action]').forEach((button) => {
    button.addEventListener('click', async () => {
      const action = button.dataset.action;
      let body;
      if (action === 'rank') {
        const seed = document.getElementById('seed-input').value.trim();
        body = seed ? {seed} : {};
      }
      button.disabled = true;
      try { await api('POST', `${base}/rounds/${roundId}/${action}`, body); location.reload(); }
      catch (err) { actionError.textContent = err.message; button.disabled = false; }
    });
  });
  const approve = document.getElementById('approve-form');
  if (approve) approve.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(approve);
    try {
      await api('POST', `${base}/rounds/${roundId}/approve`, {
        approving_body: f.get('approving_body'), approved_on: f.get('approved_on'),
        reference: f.get('reference') || null,
        signer_name: f.get('signer_name') || null, signer_position: f.get('signer_position') || null,
      });
      location.reload();
    } catch (err) { actionError.textContent = err.message; }
  });

  function renderApplication(box, app) {
    box.replaceChildren();
    const table = el('table', null, 'breakdown');
    const head = table.createTHead().insertRow();
    [T.question, T.answer, T.points, T.weight, T.weighted].forEach((h) => head.appendChild(el('th', h)));
    const body = table.createTBody();
    (app.score ? app.score.breakdown : []).forEach((b) => {
      const row = body.insertRow();
      [b.question, b.answer_label || b.answer, b.points, b.weight, b.weighted].forEach((v) => row.appendChild(el('td', v)));
    });
    const foot = table.createTFoot().insertRow();
    foot.appendChild(el('th', T.total)); foot.appendChild(el('td')); foot.appendChild(el('td'));
    foot.appendChild(el('td')); foot.appendChild(el('th', app.score ? app.score.total : '—'));
    box.appendChild(table);
    if (app.evidence_notes) box.appendChild(el('p', `${T.evidence}: ${app.evidence_notes}`, 'muted'));
    const votes = el('ul', null, 'votes-list');
    app.votes.forEach((v) => votes.appendChild(el('li', `${v.member_name}: ${T['vote_' + v.decision]} — ${v.reason}`)));
    if (app.votes.length) { box.appendChild(el('h3', T.votes)); box.appendChild(votes); }
    const notes = el('ul', null, 'notes-list');
    app.notes.forEach((n) => notes.appendChild(el('li', `${n.author_name}: ${n.text}`)));
    if (app.notes.length) { box.appendChild(el('h3', T.notes)); box.appendChild(notes); }
  }
  async function load(detail) {
    const box = detail.querySelector('.breakdown-box');
    try { renderApplication(box, await api('GET', `${base}/applications/${detail.dataset.for}`)); }
    catch (err) { box.textContent = err.message; }
  }
  document.querySelectorAll('#ranking button.expand').forEach((button) => {
    button.addEventListener('click', () => {
      const row = button.closest('tr');
      const detail = row.nextElementSibling;
      const open = detail.hidden;
      detail.hidden = !open;
      button.setAttribute('aria-expanded', String(open));
      if (open && !detail.dataset.loaded) { detail.dataset.loaded = '1'; load(detail); }
    });
  });
  document.querySelectorAll('#ranking tr.detail').forEach((detail) => {
    const error = detail.querySelector('.form-error');
    detail.querySelectorAll('form').forEach((form) => form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const f = new FormData(form);
      const id = detail.dataset.for;
      error.textContent = '';
      try {
        if (form.classList.contains('note-form')) {
          await api('POST', `${base}/applications/${id}/notes`, {text: f.get('text')});
        } else {
          const vote = await api('POST', `${base}/applications/${id}/decisions`, {decision: f.get('decision'), reason: f.get('reason')});
          const cell = detail.previousElementSibling.querySelector('.votes');
          let mine = cell.querySelector('.my-vote');
          if (!mine) { cell.appendChild(document.createElement('br')); mine = el('span', null, 'muted my-vote'); cell.appendChild(mine); }
          mine.textContent = `${T.saved}: ${T['vote_' + vote.decision]}`;
        }
        form.reset();
        await load(detail);
      } catch (err) { error.textContent = err.message; }
    }));
  });
})();
