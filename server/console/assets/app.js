/* app.js — the openfota console: one page per hash route (#/overview,
 * #/projects, #/packages, #/devices, #/device/ID, #/rollouts, #/files).
 * It talks only to the admin API (/admin/v1) with the session cookie and
 * sends the session's anti-forgery token (X-CSRF-Token) with every change.
 * Every string comes from the i18n catalogs; every element is built with
 * textContent (no HTML from data). API errors are shown as the API words
 * them. */
'use strict';
(function () {
  const t = (k, v) => I18N.t(k, v);
  let csrf = null;
  let timer = null; /* the current page's refresh timer */
  let charts = [];  /* uPlot instances of the current page */
  let pageCleanups = []; /* what the current page undoes when another is shown */
  const PAGE = 50;

  /* ---- small helpers ------------------------------------------------- */
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  /* the browser's time zone, written the console language's way */
  const fmtTime = (s) => (s ? new Date(s * 1000).toLocaleString(I18N.lang) : '—');
  function fmtBytes(n) {
    if (n === null || n === undefined) return '—';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1048576).toFixed(2) + ' MiB';
  }
  const enc = encodeURIComponent;

  class ApiError extends Error {
    constructor(status, error, hint) {
      super(error + (hint ? ' — ' + hint : ''));
      this.status = status;
      this.error = error;
      this.hint = hint;
    }
  }

  async function apiError(r) {
    let j = null;
    try { j = await r.json(); } catch (e) { /* not JSON */ }
    if (r.status === 401) {
      location.href = '/login';
    }
    return new ApiError(r.status, j && j.error ? j.error : r.status + ' ' + r.statusText, j && j.hint);
  }

  async function api(method, path, body) {
    const opt = { method, credentials: 'same-origin', headers: {} };
    if (method !== 'GET') opt.headers['X-CSRF-Token'] = csrf;
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch('/admin/v1' + path, opt);
    } catch (e) {
      throw new ApiError(0, t('error.network'), e.message);
    }
    if (!r.ok) throw await apiError(r);
    if (r.status === 204) return null;
    return r.json();
  }

  /* Upload with progress (XMLHttpRequest: fetch has no upload progress). */
  function upload(method, path, file, onProgress) {
    return new Promise((resolve, reject) => {
      const x = new XMLHttpRequest();
      x.open(method, '/admin/v1' + path);
      x.setRequestHeader('X-CSRF-Token', csrf);
      x.setRequestHeader('Content-Type', 'application/octet-stream');
      x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      x.onload = () => {
        let j = null;
        try { j = JSON.parse(x.responseText); } catch (e) { /* not JSON */ }
        if (x.status >= 200 && x.status < 300) resolve(j);
        else reject(new ApiError(x.status, j && j.error ? j.error : x.status + ' ' + x.statusText, j && j.hint));
      };
      x.onerror = () => reject(new ApiError(0, t('error.network'), ''));
      x.send(file);
    });
  }

  function banner(err) {
    const b = document.getElementById('banner');
    if (!err) { b.hidden = true; b.textContent = ''; return; }
    b.textContent = err instanceof ApiError ? err.message : String(err.message || err);
    b.hidden = false;
  }

  /* Run an action; its error goes to the banner (never swallowed). */
  async function act(fn) {
    banner(null);
    try { return await fn(); } catch (e) { banner(e); return undefined; }
  }

  async function copy(text, statusEl) {
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        ok = true;
      }
    } catch (e) { ok = false; }
    if (!ok) {
      const ta = h('textarea', { class: 'offscreen', readonly: true });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      ta.remove();
    }
    if (statusEl) {
      statusEl.textContent = ok ? t('common.copied') : t('common.copy_failed');
      setTimeout(() => { statusEl.textContent = ''; }, 4000);
    }
  }

  function copyRow(text, label) {
    const st = h('span', { class: 'muted small', 'aria-live': 'polite' });
    return h('div', { class: 'copyrow' },
      h('code', { class: 'snippet', text }),
      h('button', { type: 'button', class: 'copy', onclick: () => copy(text, st) }, label || t('common.copy')),
      st);
  }

  function table(cols, rows, empty) {
    if (!rows.length) return h('p', { class: 'muted', text: empty || t('common.none') });
    return h('div', { class: 'tablewrap' },
      h('table', {},
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.cls }, c.head)))),
        h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', { class: c.cls }, c.cell(r))))))));
  }

  function section(title, ...kids) {
    return h('section', { class: 'card' }, h('h2', { text: title }), ...kids);
  }

  function field(label, input, hint) {
    const id = input.id || ('f' + Math.random().toString(36).slice(2));
    input.id = id;
    return h('div', { class: 'field' }, h('label', { for: id, text: label }), input,
      hint ? h('small', { class: 'muted', text: hint }) : null);
  }

  function clearPage() {
    if (timer) clearTimeout(timer);
    timer = null;
    charts.forEach((c) => c.destroy());
    charts = [];
    pageCleanups.forEach((f) => f());
    pageCleanups = [];
  }

  function poll(fn, ms) {
    const run = async () => {
      const hash = location.hash;
      await fn();
      if (location.hash === hash) timer = setTimeout(run, ms);
    };
    timer = setTimeout(run, ms);
  }

  let projectsCache = null;
  async function projects() {
    projectsCache = (await api('GET', '/projects')).projects;
    return projectsCache;
  }

  function checkUrl() { return location.origin + '/api/site/firmware_upgrade?'; }

  function deviceSnippet(key) {
    return 'libfota2.request(fota_cb, {url = "' + statusCache.check_url + '", project_key = "' + key + '"})';
  }
  let statusCache = { check_url: checkUrl() };

  /* ---- overview ------------------------------------------------------ */
  async function pageOverview(view) {
    const cards = h('div', { class: 'stats' });
    const charts1 = h('div', { class: 'charts' });
    const note = h('p', { class: 'muted small' });
    view.append(h('h1', { text: t('overview.title') }), cards, charts1, note);
    let lineEl = null, barEl = null;

    function stat(label, value, cls) {
      return h('div', { class: 'stat ' + (cls || '') }, h('div', { class: 'stat-v', text: String(value) }),
        h('div', { class: 'stat-l', text: label }));
    }

    async function load() {
      let stats = null;
      try {
        stats = await api('GET', '/stats');
      } catch (e) {
        if (!(e instanceof ApiError) || e.status !== 404) { banner(e); return; }
      }
      const st = await api('GET', '/status').catch((e) => { banner(e); return null; });
      if (!st) return;
      statusCache = st;
      cards.replaceChildren();
      if (stats) {
        const m = stats.minutes || [];
        const sum = (k) => m.reduce((a, x) => a + (x[k] || 0), 0);
        cards.append(
          stat(t('overview.devices'), stats.devices.total),
          stat(t('overview.projects'), st.projects),
          stat(t('overview.checks_hour'), sum('checks')),
          stat(t('overview.deliveries_hour'), sum('deliveries')),
          stat(t('overview.failed'), stats.devices.failed, stats.devices.failed ? 'warn' : ''),
          stat(t('overview.banned'), stats.devices.banned, stats.devices.banned ? 'warn' : ''),
          stat(t('overview.forbidden'), stats.devices.forbidden),
          stat(t('overview.cut_hour'), sum('cut'), sum('cut') ? 'warn' : ''));
        lastStats = stats;
        drawCharts(stats);
        note.textContent = t('overview.updated', { time: new Date().toLocaleTimeString(I18N.lang) });
      } else {
        const count = async (q) => (await api('GET', '/devices?limit=0' + q)).total;
        const [banned, forbidden, failed] = await Promise.all([count('&state=banned'), count('&state=forbidden'),
          count('&state=failed')]).catch((e) => { banner(e); return [0, 0, 0]; });
        cards.append(
          stat(t('overview.devices'), st.devices),
          stat(t('overview.projects'), st.projects),
          stat(t('overview.packages'), st.packages),
          stat(t('overview.failed'), failed, failed ? 'warn' : ''),
          stat(t('overview.banned'), banned, banned ? 'warn' : ''),
          stat(t('overview.forbidden'), forbidden));
        note.textContent = t('overview.no_stats') + ' ' + t('overview.updated', { time: new Date().toLocaleTimeString(I18N.lang) });
      }
    }

    function chartWidth(el) { return Math.max(260, Math.min(el.clientWidth || 600, 1200) - 8); }

    function drawCharts(stats) {
      const m = stats.minutes || [];
      const data = [m.map((x) => x.t), m.map((x) => x.checks), m.map((x) => x.deliveries), m.map((x) => x.failed),
        m.map((x) => x.cut)];
      if (!lineEl) {
        lineEl = h('div', { class: 'chart', role: 'img', 'aria-label': t('overview.chart_minutes') });
        barEl = h('div', { class: 'chart', role: 'img', 'aria-label': t('overview.chart_versions') });
        charts1.append(section(t('overview.chart_minutes'), lineEl), section(t('overview.chart_versions'), barEl));
      }
      charts.forEach((c) => c.destroy());
      charts = [];
      const w = chartWidth(lineEl);
      charts.push(new uPlot({
        width: w, height: 220,
        scales: { x: { time: true } },
        series: [{}, { label: t('overview.checks'), stroke: '#1f6feb', width: 2, points: { show: false } },
          { label: t('overview.deliveries'), stroke: '#2da44e', width: 2, points: { show: false } },
          { label: t('overview.failed'), stroke: '#cf222e', width: 1, points: { show: false } },
          { label: t('overview.cut'), stroke: '#bf8700', width: 1, points: { show: false } }],
        axes: [{}, {}],
      }, data, lineEl));
      const v = (stats.versions || []).slice().sort((a, b) => b.devices - a.devices).slice(0, 20);
      const oneFw = new Set(v.map((x) => x.firmware)).size <= 1;
      const labels = v.map((x) => (oneFw ? '' : x.firmware.split('_').pop() + ' ') + x.version);
      /* narrow charts: the script part of the version under the bar; the legend shows the whole label */
      const narrow = w < 520;
      const tick = (i) => (narrow ? labels[i].split('.').slice(-2).join('.') : labels[i]);
      charts.push(new uPlot({
        width: w, height: 240,
        scales: { x: { time: false, range: [-0.5, Math.max(v.length, 1) - 0.5] } },
        series: [{ label: t('overview.version') , value: (u, i) => (i === null || labels[i] === undefined ? '' : labels[i]) },
          { label: t('overview.devices'), fill: 'rgba(31,111,235,0.5)', stroke: '#1f6feb',
            paths: uPlot.paths.bars({ size: [0.6, 80] }), points: { show: false } }],
        axes: [{ values: (u, ticks) => ticks.map((i) => (Number.isInteger(i) && labels[i] !== undefined ? tick(i) : '')),
          splits: () => v.map((x, i) => i) }, {}],
        legend: { live: true },
      }, [v.map((x, i) => i), v.map((x) => x.devices)], barEl));
    }

    let lastStats = null, resizeT = null;
    const onResize = () => {
      clearTimeout(resizeT);
      resizeT = setTimeout(() => { if (lastStats && lineEl && lineEl.isConnected) drawCharts(lastStats); }, 150);
    };
    window.addEventListener('resize', onResize);
    pageCleanups.push(() => window.removeEventListener('resize', onResize));
    await load();
    poll(load, 10000);
  }

  /* ---- projects ------------------------------------------------------ */
  async function pageProjects(view) {
    const list = h('div');
    const name = h('input', { type: 'text', name: 'project-name', required: true, maxlength: 128 });
    const out = h('div', { class: 'result' });
    const form = h('form', {
      class: 'inline-form',
      onsubmit: (ev) => {
        ev.preventDefault();
        act(async () => {
          const p = await api('POST', '/projects', { name: name.value.trim() });
          name.value = '';
          out.replaceChildren(h('p', { class: 'ok', text: t('projects.created', { name: p.name }) }),
            h('p', { text: t('projects.key') + ': ' }, h('code', { text: p.key })),
            h('p', { class: 'muted', text: t('projects.paste') }), copyRow(deviceSnippet(p.key)));
          await load();
        });
      },
    }, field(t('projects.name'), name), h('button', { type: 'submit', class: 'primary', text: t('projects.create') }));
    view.append(h('h1', { text: t('projects.title') }), section(t('projects.new'), form, out), list);

    async function load() {
      const ps = await projects();
      const st = await api('GET', '/status');
      statusCache = st;
      list.replaceChildren(...(ps.length ? ps.map(projectCard) : [h('p', { class: 'muted', text: t('projects.none') })]));
    }
    function projectCard(p) {
      const lo = h('input', { type: 'checkbox', checked: p.listed_only });
      const ue = h('input', { type: 'checkbox', checked: p.upgrades_enabled });
      const md = h('input', { type: 'number', min: 1, max: 1000, value: p.max_daily_deliveries, class: 'num' });
      const saved = h('span', { class: 'muted small', 'aria-live': 'polite' });
      const fw = h('div');
      const card = section(p.name,
        h('p', {}, t('projects.key') + ': ', h('code', { text: p.key }), ' · ', t('common.created') + ' ' + fmtTime(p.created)),
        h('p', { class: 'muted', text: t('projects.paste') }),
        copyRow(deviceSnippet(p.key)),
        h('form', {
          class: 'switches',
          onsubmit: (ev) => {
            ev.preventDefault();
            act(async () => {
              await api('PATCH', '/projects/' + enc(p.key), {
                listed_only: lo.checked, upgrades_enabled: ue.checked, max_daily_deliveries: Number(md.value),
              });
              saved.textContent = t('common.saved');
            });
          },
        },
        h('label', { class: 'check' }, lo, ' ', t('projects.listed_only')),
        h('label', { class: 'check' }, ue, ' ', t('projects.upgrades_enabled')),
        h('label', { class: 'check' }, t('projects.max_daily') + ' ', md),
        h('button', { type: 'submit', text: t('common.save') }), saved),
        h('h3', { text: t('projects.firmware') }), fw);
      card.dataset.project = p.key;
      api('GET', '/projects/' + enc(p.key) + '/firmware').then((r) => {
        fw.replaceChildren(table([
          { head: t('packages.firmware'), cell: (f) => f.name },
          { head: t('projects.suffix'), cell: (f) => f.suffix },
          { head: t('common.created'), cell: (f) => fmtTime(f.created) },
        ], r.firmware, t('projects.no_firmware')));
      }).catch(banner);
      return card;
    }
    await load();
  }

  /* ---- packages ------------------------------------------------------ */
  function packageDetails(p) {
    const rows = [
      ['packages.id', p.id], ['packages.project', p.project], ['packages.firmware', p.firmware],
      ['packages.version', p.version], ['packages.core', p.core], ['packages.script', p.script],
      ['packages.base_core', p.base_core === null ? '—' : p.base_core], ['projects.suffix', p.suffix],
      ['packages.kind', p.kind], ['packages.size', fmtBytes(p.size) + ' (' + p.size + ')'],
      ['packages.md5', p.md5], ['packages.sha256', p.sha256], ['packages.filename', p.filename],
      ['common.created', fmtTime(p.created)],
    ];
    if (p.signed) rows.push(['packages.signed', p.signed.kind + ' #' + p.signed.counter]);
    const dl = (rs) => h('dl', { class: 'details' }, rs.map(([k, v]) => [h('dt', { text: t(k) }), h('dd', {}, h('code', { text: String(v) }))]));
    if (!p.luat) return dl(rows);
    const l = p.luat;
    return h('div', {}, dl(rows), h('h3', { text: t('packages.luat_header') }), dl([
      ['packages.luat_magic', l.magic], ['packages.luat_crc', l.header_crc + ' ✓'],
      ['packages.luat_main_core', l.main_core || '—'], ['packages.luat_std_core', l.std_core || '—'],
      ['packages.luat_app_version', l.app_version], ['packages.luat_common_len', l.common_len],
      ['packages.luat_common_md5', l.common_md5 + ' ✓'], ['packages.luat_sdk_len', l.sdk_len],
      ['packages.luat_sdk_md5', l.sdk_len ? l.sdk_md5 + ' ✓' : '—']]));
  }

  async function pagePackages(view) {
    const ps = await projects();
    const proj = h('select', { required: true }, ps.map((p) => h('option', { value: p.key, text: p.name + ' (' + p.key.slice(0, 8) + '…)' })));
    const fwIn = h('input', { type: 'text', required: true, list: 'fw-list', maxlength: 128, placeholder: 'FOTA2_DEMO_LuatOS-SoC_Air780EHV' });
    const fwList = h('datalist', { id: 'fw-list' });
    const ver = h('input', { type: 'text', placeholder: '2012.001.002', pattern: '[0-9]+\\.[0-9]+\\.[0-9]+' });
    const base = h('input', { type: 'text', inputmode: 'numeric', placeholder: '2012' });
    const file = h('input', { type: 'file', name: 'package-file' });
    const drop = h('div', { class: 'drop', tabindex: 0, text: t('packages.drop') });
    const bar = h('progress', { max: 1, value: 0, hidden: true });
    const out = h('div', { class: 'result', 'aria-live': 'polite' });
    const list = h('div');
    let chosen = null;
    async function fwLoad() {
      if (!proj.value) return;
      const r = await api('GET', '/projects/' + enc(proj.value) + '/firmware').catch(() => ({ firmware: [] }));
      fwList.replaceChildren(...r.firmware.map((f) => h('option', { value: f.name })));
    }
    proj.addEventListener('change', fwLoad);
    function choose(f) {
      chosen = f;
      drop.textContent = f ? f.name + ' (' + fmtBytes(f.size) + ')' : t('packages.drop');
    }
    file.addEventListener('change', () => choose(file.files[0] || null));
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      if (e.dataTransfer.files.length) choose(e.dataTransfer.files[0]);
    });
    drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); file.click(); } });
    drop.addEventListener('click', () => file.click());
    const form = h('form', {
      class: 'grid-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        out.replaceChildren();
        if (!chosen) { out.append(h('p', { class: 'error', text: t('packages.no_file') })); return; }
        let q = '?firmware=' + enc(fwIn.value.trim()) + '&filename=' + enc(chosen.name);
        if (ver.value.trim()) q += '&version=' + enc(ver.value.trim());
        if (base.value.trim()) q += '&base_core=' + enc(base.value.trim());
        bar.hidden = false;
        bar.value = 0;
        try {
          const p = await upload('POST', '/projects/' + enc(proj.value) + '/packages' + q, chosen, (f) => { bar.value = f; });
          bar.value = 1;
          out.replaceChildren(h('p', { class: 'ok', text: t('packages.accepted') }), packageDetails(p));
          await loadList();
        } catch (e) {
          out.replaceChildren(h('p', { class: 'error refusal', role: 'alert', text: t('packages.refused') + ' ' + e.message }));
        }
      },
    },
    field(t('packages.project'), proj), field(t('packages.firmware'), fwIn), fwList,
    field(t('packages.version'), ver, t('packages.version_hint')), field(t('packages.base_core'), base, t('packages.base_core_hint')),
    h('div', { class: 'field wide' }, h('span', { class: 'label', text: t('packages.file') }), drop, file, bar),
    h('div', { class: 'field wide' }, h('button', { type: 'submit', class: 'primary', text: t('packages.upload') })));
    view.append(h('h1', { text: t('packages.title') }),
      ps.length ? section(t('packages.add'), form, out) : h('p', { class: 'muted', text: t('packages.need_project') }),
      section(t('packages.list'), list));
    async function loadList() {
      const r = await api('GET', '/packages');
      const detail = h('div');
      list.replaceChildren(table([
        { head: t('packages.id'), cell: (p) => p.id },
        { head: t('packages.firmware'), cell: (p) => p.firmware, cls: 'hide-s' },
        { head: t('packages.version'), cell: (p) => p.version },
        { head: t('packages.kind'), cell: (p) => p.kind, cls: 'hide-s' },
        { head: t('packages.size'), cell: (p) => fmtBytes(p.size), cls: 'hide-s' },
        { head: t('packages.md5'), cell: (p) => h('code', { text: p.md5 }), cls: 'hide-s' },
        { head: t('common.created'), cell: (p) => fmtTime(p.created), cls: 'hide-s' },
        { head: t('common.actions'), cell: (p) => h('span', { class: 'btns' },
          h('button', { type: 'button', text: t('common.show'), onclick: () => act(async () => {
            detail.replaceChildren(h('h3', { text: t('packages.package', { id: p.id }) }), packageDetails(await api('GET', '/packages/' + p.id)));
            detail.scrollIntoView();
          }) }),
          h('button', { type: 'button', class: 'danger', text: t('common.remove'), onclick: () => act(async () => {
            if (!confirm(t('packages.confirm_remove', { id: p.id }))) return;
            await api('DELETE', '/packages/' + p.id);
            await loadList();
          }) })) },
      ], r.packages, t('packages.none')), detail);
    }
    await fwLoad();
    await loadList();
  }

  /* ---- devices ------------------------------------------------------- */
  const devState = { q: '', project: '', firmware: '', version: '', state: '', sort: 'id', order: 'asc', offset: 0 };

  async function pageDevices(view) {
    const ps = await projects();
    const q = h('input', { type: 'search', value: devState.q, 'data-i18n-placeholder': 'devices.search_ph', name: 'q' });
    const proj = h('select', { name: 'project' }, h('option', { value: '', text: t('devices.any_project') }),
      ps.map((p) => h('option', { value: p.key, text: p.name })));
    proj.value = devState.project;
    const fw = h('input', { type: 'text', value: devState.firmware, name: 'firmware' });
    const ver = h('input', { type: 'text', value: devState.version, name: 'version', placeholder: '2012.001.001' });
    const state = h('select', { name: 'state' },
      h('option', { value: '', text: t('devices.any_state') }),
      h('option', { value: 'banned', text: t('devices.banned') }),
      h('option', { value: 'forbidden', text: t('devices.forbidden') }),
      h('option', { value: 'failed', text: t('devices.failed') }));
    state.value = devState.state;
    const body = h('div');
    const pager = h('div', { class: 'pager' });
    const filters = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); devState.offset = 0; load(); } },
      field(t('devices.search'), q), field(t('devices.project'), proj), field(t('packages.firmware'), fw),
      field(t('packages.version'), ver), field(t('devices.state'), state),
      h('button', { type: 'submit', class: 'primary', text: t('devices.apply') }));
    I18N.apply(filters);
    view.append(h('h1', { text: t('devices.title') }), filters, body, pager);
    let deb = null;
    q.addEventListener('input', () => { clearTimeout(deb); deb = setTimeout(() => { devState.offset = 0; load(); }, 300); });
    [proj, state].forEach((s) => s.addEventListener('change', () => { devState.offset = 0; load(); }));

    function sortHead(label, key, cls) {
      const active = devState.sort === key;
      return {
        head: h('button', { type: 'button', class: 'sort' + (active ? ' active' : ''), 'aria-sort': active ? (devState.order === 'asc' ? 'ascending' : 'descending') : null,
          onclick: () => {
            if (devState.sort === key) devState.order = devState.order === 'asc' ? 'desc' : 'asc';
            else { devState.sort = key; devState.order = key === 'last_seen' ? 'desc' : 'asc'; }
            devState.offset = 0;
            load();
          } }, label, active ? (devState.order === 'asc' ? ' ▲' : ' ▼') : ''),
        cls,
      };
    }
    function stateText(d) {
      const s = [];
      if (d.banned) s.push(t('devices.banned'));
      if (d.forbidden) s.push(t('devices.forbidden'));
      if (d.failed_upgrades) s.push(t('devices.failed_n', { n: d.failed_upgrades }));
      return s.length ? h('span', { class: 'badge warn', text: s.join(', ') }) : h('span', { class: 'badge', text: t('devices.ok') });
    }
    const pname = (key) => { const p = (projectsCache || []).find((x) => x.key === key); return p ? p.name : (key || '—'); };

    async function load() {
      Object.assign(devState, { q: q.value.trim(), project: proj.value, firmware: fw.value.trim(), version: ver.value.trim(), state: state.value });
      const params = new URLSearchParams({ limit: PAGE, offset: devState.offset, sort: devState.sort, order: devState.order });
      for (const k of ['q', 'project', 'firmware', 'version', 'state']) if (devState[k]) params.set(k, devState[k]);
      let r;
      try {
        r = await api('GET', '/devices?' + params);
      } catch (e) { banner(e); return; }
      banner(null);
      const cols = [
        { head: sortHead(t('devices.id'), 'id').head, cell: (d) => h('a', { href: '#/device/' + enc(d.id), class: 'devid', text: d.id }) },
        { head: sortHead(t('devices.project'), 'project').head, cell: (d) => pname(d.project), cls: 'hide-s' },
        { head: t('packages.firmware'), cell: (d) => d.firmware || '—', cls: 'hide-s' },
        { head: sortHead(t('packages.version'), 'version').head, cell: (d) => h('span', { class: 'ver', text: d.version || '—' }) },
        { head: t('devices.state'), cell: stateText },
        { head: sortHead(t('devices.last_seen'), 'last_seen').head, cell: (d) => fmtTime(d.last_seen), cls: 'hide-s' },
      ];
      body.replaceChildren(table(cols, r.devices, t('devices.none')));
      const from = r.total ? devState.offset + 1 : 0, to = devState.offset + r.devices.length;
      pager.replaceChildren(
        h('button', { type: 'button', disabled: devState.offset === 0, text: t('common.prev'),
          onclick: () => { devState.offset = Math.max(0, devState.offset - PAGE); load(); } }),
        h('span', { class: 'muted', text: t('devices.range', { from, to, total: r.total }) }),
        h('button', { type: 'button', disabled: to >= r.total, text: t('common.next'),
          onclick: () => { devState.offset += PAGE; load(); } }));
    }
    await load();
  }

  function projectName(key) {
    const p = (projectsCache || []).find((x) => x.key === key);
    return p ? p.name + ' (' + key + ')' : (key || '—');
  }

  async function pageDevice(view, id) {
    if (!projectsCache) await projects();
    const info = h('div');
    const hist = h('div');
    view.append(h('p', {}, h('a', { href: '#/devices', text: '← ' + t('nav.devices') })),
      h('h1', {}, t('device.title') + ' ', h('code', { text: id })), info, section(t('device.history'), hist));
    async function load() {
      const d = await api('GET', '/devices/' + enc(id) + '?history=100');
      const actions = h('div', { class: 'btns' },
        d.forbidden ? h('button', { type: 'button', text: t('device.allow'), onclick: () => doAct('allow') })
          : h('button', { type: 'button', class: 'danger', text: t('device.forbid'), onclick: () => doAct('forbid') }),
        d.banned ? h('button', { type: 'button', class: 'primary', text: t('device.unban'), onclick: () => doAct('unban') }) : null,
        h('button', { type: 'button', text: t('device.push'), onclick: () => act(async () => {
          const p = await api('POST', '/push', { device: d.id });
          pushOut.textContent = t('device.pushed', { id: p.id, targets: p.targets });
        }) }));
      const pushOut = h('p', { class: 'muted', 'aria-live': 'polite' });
      const rows = [
        ['devices.project', projectName(d.project)], ['packages.firmware', d.firmware || '—'], ['packages.version', d.version || '—'],
        ['devices.state', d.banned ? t('devices.banned') + ' (' + fmtTime(d.banned_at) + ')' : d.forbidden ? t('devices.forbidden') : t('devices.ok')],
        ['device.deliveries_today', d.deliveries_today], ['device.failed_upgrades', d.failed_upgrades],
        ['device.last_code', d.last_code], ['devices.last_seen', fmtTime(d.last_seen)],
      ];
      info.replaceChildren(section(t('device.state'),
        h('dl', { class: 'details' }, rows.map(([k, v]) => [h('dt', { text: t(k) }), h('dd', { class: 'f-' + k.split('.')[1], text: String(v) })])),
        actions, pushOut));
      hist.replaceChildren(d.history.length ? h('ol', { class: 'timeline' }, d.history.map((e) => h('li', { class: 'ev ev-' + e.decision },
        h('time', { datetime: new Date(e.time * 1000).toISOString(), text: fmtTime(e.time) }),
        h('span', { class: 'badge ' + (e.decision === 'upgrade' ? 'ok' : e.decision === 'refused' ? 'warn' : ''), text: t('decision.' + e.decision) }),
        h('span', {}, t('packages.version') + ' ', h('code', { text: e.version || '—' })),
        h('span', { text: t('device.code') + ' ' + e.code }),
        e.decision === 'upgrade' ? h('span', { text: fmtBytes(e.bytes_sent) + ' · ' + (e.complete ? t('device.complete') : t('device.incomplete')) }) : null,
        e.note ? h('span', { class: 'muted', text: e.note }) : null))) : h('p', { class: 'muted', text: t('device.no_history') }));
    }
    async function doAct(a) {
      await act(async () => { await api('POST', '/devices/' + enc(id) + '/' + a); await load(); });
    }
    await load();
    poll(() => load().catch(banner), 10000);
  }

  /* ---- rollouts ------------------------------------------------------ */
  async function pageRollouts(view) {
    const pk = await api('GET', '/packages');
    const pkg = h('select', { required: true, name: 'package' }, pk.packages.map((p) =>
      h('option', { value: p.id, text: '#' + p.id + ' ' + p.firmware + ' ' + p.version })));
    const stages = h('input', { type: 'text', value: '1,10,50,100', name: 'stages', pattern: '[0-9 ,]+' });
    const interval = h('input', { type: 'number', min: 0, value: 0, name: 'interval', class: 'num' });
    const tests = h('input', { type: 'text', name: 'test_devices' });
    const list = h('div');
    const form = h('form', {
      class: 'grid-form',
      onsubmit: (ev) => {
        ev.preventDefault();
        act(async () => {
          const body = { package: pkg.value, stages: stages.value.split(/[ ,]+/).filter(Boolean).map(Number) };
          if (Number(interval.value) > 0) body.stage_interval_s = Number(interval.value);
          const td = tests.value.split(/[ ,]+/).filter(Boolean);
          if (td.length) body.test_devices = td;
          await api('POST', '/rollouts', body);
          await load();
        });
      },
    }, field(t('rollouts.package'), pkg), field(t('rollouts.stages'), stages, t('rollouts.stages_hint')),
    field(t('rollouts.interval'), interval, t('rollouts.interval_hint')), field(t('rollouts.test_devices'), tests, t('rollouts.test_hint')),
    h('div', { class: 'field wide' }, h('button', { type: 'submit', class: 'primary', text: t('rollouts.start') })));
    view.append(h('h1', { text: t('rollouts.title') }),
      pk.packages.length ? section(t('rollouts.new'), form) : h('p', { class: 'muted', text: t('rollouts.need_package') }), list);

    function rolloutCard(r) {
      const btn = (a, label, cls) => h('button', { type: 'button', class: cls, text: label, onclick: () => act(async () => {
        await api('POST', '/rollouts/' + r.id + '/' + a);
        await load();
      }) });
      const stRows = r.stages.map((s) => {
        const d = s.devices;
        return { name: s.name, status: s.status, offered: d.offered + d.downloading + d.downloaded + d.succeeded + d.failed + d.silent + d.looping + d.banned,
          upgraded: d.succeeded, failed: d.failed + d.looping + d.banned, silent: d.silent };
      });
      const card = section(t('rollouts.rollout', { id: r.id }) + ' · ' + r.firmware + ' → ' + r.target_version,
        h('p', {}, h('span', { class: 'badge state-' + r.state, text: t('rollouts.state_' + r.state) }), ' ',
          t('rollouts.stage_now', { name: (r.stages.find((s) => s.index === r.stage) || { name: r.stage }).name })),
        r.pause_reason ? h('p', { class: 'error', text: t('rollouts.pause_reason') + ' ' + r.pause_reason }) : null,
        table([
          { head: t('rollouts.stage'), cell: (s) => s.name },
          { head: t('rollouts.status'), cell: (s) => t('rollouts.stage_' + s.status), cls: 'hide-s' },
          { head: t('rollouts.offered'), cell: (s) => s.offered },
          { head: t('rollouts.upgraded'), cell: (s) => h('span', { class: 'n-upgraded', text: String(s.upgraded) }) },
          { head: t('rollouts.failed'), cell: (s) => s.failed },
          { head: t('rollouts.silent'), cell: (s) => s.silent },
          { head: t('rollouts.progress'), cell: (s) => h('progress', { max: Math.max(1, s.offered), value: s.upgraded + s.failed }), cls: 'hide-s' },
        ], stRows),
        h('div', { class: 'btns' },
          r.state === 'running' && !r.last_stage ? btn('promote', t('rollouts.promote'), 'primary') : null,
          r.state === 'running' ? btn('pause', t('rollouts.pause')) : null,
          r.state === 'paused' ? btn('resume', t('rollouts.resume'), 'primary') : null,
          r.state !== 'cancelled' ? btn('cancel', t('rollouts.cancel'), 'danger') : null));
      card.dataset.rollout = r.id;
      return card;
    }
    async function load() {
      const r = await api('GET', '/rollouts');
      list.replaceChildren(...(r.rollouts.length ? r.rollouts.slice().reverse().map(rolloutCard) : [h('p', { class: 'muted', text: t('rollouts.none') })]));
    }
    await load();
    poll(() => load().catch(banner), 5000);
  }

  /* ---- files --------------------------------------------------------- */
  async function pageFiles(view) {
    const file = h('input', { type: 'file', name: 'static-file' });
    const name = h('input', { type: 'text', pattern: '[A-Za-z0-9._\\-]{1,128}', maxlength: 128, name: 'file-name' });
    const bar = h('progress', { max: 1, value: 0, hidden: true });
    const out = h('div', { class: 'result', 'aria-live': 'polite' });
    const list = h('div');
    file.addEventListener('change', () => { if (file.files[0] && !name.value) name.value = file.files[0].name.replace(/[^A-Za-z0-9._-]/g, '_'); });
    const form = h('form', {
      class: 'grid-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        if (!file.files[0]) { out.replaceChildren(h('p', { class: 'error', text: t('packages.no_file') })); return; }
        bar.hidden = false;
        try {
          const f = await upload('PUT', '/files/' + enc(name.value.trim() || file.files[0].name), file.files[0], (x) => { bar.value = x; });
          out.replaceChildren(h('p', { class: 'ok', text: t('files.stored', { name: f.name }) }), copyRow('###' + f.url));
          await load();
        } catch (e) {
          out.replaceChildren(h('p', { class: 'error', role: 'alert', text: e.message }));
        }
      },
    }, field(t('files.file'), file), field(t('files.name'), name, t('files.name_hint')),
    h('div', { class: 'field wide' }, bar, h('button', { type: 'submit', class: 'primary', text: t('files.upload') })));
    view.append(h('h1', { text: t('files.title') }), h('p', { class: 'muted', text: t('files.intro') }),
      section(t('files.add'), form, out), section(t('files.list'), list));
    async function load() {
      const r = await api('GET', '/files');
      list.replaceChildren(table([
        { head: t('files.name'), cell: (f) => f.name },
        { head: t('packages.size'), cell: (f) => fmtBytes(f.size), cls: 'hide-s' },
        { head: t('files.url'), cell: (f) => copyRow(f.url) },
        { head: t('common.actions'), cell: (f) => h('button', { type: 'button', class: 'danger', text: t('common.remove'),
          onclick: () => act(async () => {
            if (!confirm(t('files.confirm_remove', { name: f.name }))) return;
            await api('DELETE', '/files/' + enc(f.name));
            await load();
          }) }) },
      ], r.files, t('files.none')));
    }
    await load();
  }

  /* Keys built at run time (listed for the catalog check, tests/integration/console_i18n.py):
   * i18n-keys: decision.upgrade decision.no_upgrade decision.refused decision.admin decision.report
   * i18n-keys: rollouts.state_running rollouts.state_paused rollouts.state_cancelled
   * i18n-keys: rollouts.stage_done rollouts.stage_current rollouts.stage_waiting
   * i18n-keys: nav.overview nav.projects nav.packages nav.devices nav.rollouts nav.files */

  /* ---- router -------------------------------------------------------- */
  const pages = { overview: pageOverview, projects: pageProjects, packages: pagePackages, devices: pageDevices,
    rollouts: pageRollouts, files: pageFiles };

  let renders = 0;
  async function render() {
    clearPage();
    banner(null);
    const m = /^#\/([a-z]+)(?:\/(.*))?$/.exec(location.hash || '');
    let page = m ? m[1] : 'overview';
    const view = document.getElementById('view');
    view.replaceChildren();
    document.querySelectorAll('#nav a').forEach((a) => {
      const cur = a.dataset.page === page || (page === 'device' && a.dataset.page === 'devices');
      if (cur) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    });
    try {
      if (page === 'device' && m[2]) await pageDevice(view, decodeURIComponent(m[2]));
      else {
        if (!pages[page]) page = 'overview';
        await pages[page](view);
      }
      document.title = t('app.title') + ' · ' + t('nav.' + (page === 'device' ? 'devices' : page));
    } catch (e) {
      banner(e);
    }
    /* a page shown: its number lets tools (and tests) tell a fresh page from the last one */
    document.body.dataset.rendered = String(++renders);
  }

  async function start() {
    await I18N.ready;
    const r = await fetch('/console/session', { credentials: 'same-origin' });
    if (!r.ok) { location.href = '/login'; return; }
    csrf = (await r.json()).csrf;
    document.getElementById('logout').addEventListener('click', async () => {
      await fetch('/console/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } });
      location.href = '/login';
    });
    window.addEventListener('hashchange', render);
    /* the current page's own link shows it afresh */
    document.querySelectorAll('#nav a').forEach((a) => a.addEventListener('click', () => {
      if (a.getAttribute('href') === location.hash) render();
    }));
    await render();
  }
  start().catch(banner);
})();
