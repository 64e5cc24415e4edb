/* login.js — the login form: posts the admin token, shows the server's
 * answer as it words it, then opens the console. Without JavaScript the
 * same form posts as an HTML form and the server redirects. */
'use strict';
(function () {
  const form = document.getElementById('login-form');
  const err = document.getElementById('login-error');
  I18N.ready.then(() => {
    if (/[?&]failed=1/.test(location.search)) {
      err.textContent = I18N.t('login.failed');
      err.hidden = false;
    }
  });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.hidden = true;
    const token = form.elements.token.value.trim();
    try {
      const r = await fetch('/console/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token }),
      });
      if (r.ok) {
        location.href = '/';
        return;
      }
      let msg = r.status + ' ' + r.statusText;
      try {
        const j = await r.json();
        msg = j.error + (j.hint ? ' — ' + j.hint : '');
      } catch (e) { /* not JSON: keep the status line */ }
      err.textContent = msg;
    } catch (e) {
      err.textContent = I18N.t('error.network') + ' ' + e.message;
    }
    err.hidden = false;
  });
})();
