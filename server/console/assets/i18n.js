/* i18n.js — the console's strings: one catalog per language in
 * /assets/i18n/<lang>.json. The language follows the browser (zh* gives
 * Simplified Chinese) unless the operator picked one with the switch
 * (kept in localStorage). Markup names its strings with data-i18n
 * (text), data-i18n-placeholder, data-i18n-title (title + aria-label). */
'use strict';
(function () {
  const LANGS = ['en', 'zh-CN'];
  function pick() {
    const saved = localStorage.getItem('openfota.lang');
    if (LANGS.includes(saved)) return saved;
    const prefs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'en'];
    for (const l of prefs) {
      if (/^zh/i.test(l)) return 'zh-CN';
      if (/^en/i.test(l)) return 'en';
    }
    return 'en';
  }
  const lang = pick();
  let cat = {};
  function t(key, vars) {
    let s = cat[key];
    if (s === undefined) {
      console.error('i18n: no string "' + key + '" in ' + lang + '.json');
      return key;
    }
    if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (vars[k] !== undefined ? String(vars[k]) : m));
    return s;
  }
  function apply(root) {
    root = root || document;
    root.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    root.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    root.querySelectorAll('[data-i18n-title]').forEach((el) => {
      el.title = t(el.dataset.i18nTitle);
      el.setAttribute('aria-label', el.title);
    });
  }
  function setLang(l) {
    if (!LANGS.includes(l) || l === lang) return;
    localStorage.setItem('openfota.lang', l);
    location.reload();
  }
  const ready = fetch('/assets/i18n/' + lang + '.json', { credentials: 'same-origin' })
    .then((r) => r.json())
    .then((j) => {
      cat = j;
      document.documentElement.lang = lang;
      apply(document);
      document.querySelectorAll('select.lang-select').forEach((s) => {
        s.value = lang;
        s.addEventListener('change', () => setLang(s.value));
      });
    });
  window.I18N = { ready, t, apply, lang, setLang };
})();
