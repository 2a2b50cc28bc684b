/* hlsd web app: the pieces pages are made of (headings, messages, form
 * fields, tables, buttons that call the node). */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el;

  /* The page's heading: focused after navigation, so a screen reader
   * announces the new page. */
  function heading(text, sub) {
    return el('header', { class: 'page-head' },
      el('h1', { tabindex: '-1', id: 'page-title' }, text),
      sub ? el('p', { class: 'lede' }, sub) : null);
  }

  function errorText(err) {
    if (!err) return 'Something went wrong.';
    if (err.code === 'access_denied') return 'Your role cannot do this. ' + (err.message || '');
    if (err.code === 'csrf') return 'This page is out of date (its security token was refused). Reload the page and try again.';
    if (err.code === 'unauthenticated') return 'You are signed out. Sign in again to go on.';
    return err.message || String(err);
  }

  /* A message box: kind 'error' (role alert), 'ok' or 'info' (role status). */
  function notice(kind, content) {
    return el('div', { class: 'notice notice-' + kind, role: kind === 'error' ? 'alert' : 'status' }, content);
  }

  function errorBox(err, what) {
    return notice('error', [what ? el('strong', null, what + ': ') : null, errorText(err)]);
  }

  function loading(what) {
    return el('p', { class: 'loading', role: 'status' }, what || 'Loading\u2026');
  }

  /* A region whose content is replaced as a request goes and comes back. */
  function slot(cls) { return el('div', { class: 'slot' + (cls ? ' ' + cls : ''), 'aria-live': 'polite' }); }
  function fill(node) {
    d.clear(node);
    for (var i = 1; i < arguments.length; i++) d.append(node, arguments[i]);
    return node;
  }

  /* --- form fields ----------------------------------------------------------- */

  /* A labelled field. opts: {label, hint, id, error slot kept as
   * field.errorNode}. control: the input/select/textarea (gets the id). */
  function field(labelText, control, opts) {
    opts = opts || {};
    var id = control.getAttribute('id') || d.newId('f');
    control.setAttribute('id', id);
    var hintId = opts.hint ? id + '-hint' : null;
    var errId = id + '-error';
    var described = [hintId, errId].filter(Boolean).join(' ');
    control.setAttribute('aria-describedby', described);
    var errNode = el('p', { class: 'field-error', id: errId, hidden: true });
    var wrap = el('div', { class: 'field' + (opts.cls ? ' ' + opts.cls : '') },
      el('label', { for: id }, labelText, opts.optional ? el('span', { class: 'optional' }, ' (optional)') : null),
      opts.hint ? el('p', { class: 'hint', id: hintId }, opts.hint) : null,
      errNode, control, opts.after || null);
    wrap.control = control;
    wrap.errorNode = errNode;
    return wrap;
  }

  function setFieldError(f, message) {
    if (!f) return;
    if (message) {
      f.errorNode.textContent = message;
      f.errorNode.hidden = false;
      f.control.setAttribute('aria-invalid', 'true');
      f.classList.add('has-error');
    } else {
      f.errorNode.textContent = '';
      f.errorNode.hidden = true;
      f.control.removeAttribute('aria-invalid');
      f.classList.remove('has-error');
    }
  }

  function input(attrs, value) {
    var a = { type: 'text' };
    for (var k in attrs) a[k] = attrs[k];
    var node = el('input', a);
    if (value !== undefined && value !== null) node.value = String(value);
    return node;
  }

  function textarea(attrs, value) {
    var node = el('textarea', attrs || {});
    if (value !== undefined && value !== null) node.value = String(value);
    return node;
  }

  /* options: [{value, label}] or strings; value selected. */
  function select(attrs, options, value) {
    var node = el('select', attrs || {});
    options.forEach(function (o) {
      if (typeof o === 'string') o = { value: o, label: o };
      var opt = el('option', null, o.label);
      opt.value = o.value;
      if (value !== undefined && value !== null && String(value) === String(o.value)) opt.selected = true;
      node.appendChild(opt);
    });
    return node;
  }

  /* A group of radio buttons with a legend and one line of help each.
   * options: [{value, label, help}]. Returns a fieldset with .value() and
   * .inputs. */
  function radios(name, legendText, options, value, opts) {
    opts = opts || {};
    var errId = d.newId('err');
    var errNode = el('p', { class: 'field-error', id: errId, hidden: true });
    var fs = el('fieldset', { class: 'radios' + (opts.cls ? ' ' + opts.cls : ''), 'aria-describedby': errId },
      el('legend', null, legendText, opts.optional ? el('span', { class: 'optional' }, ' (optional)') : null),
      opts.hint ? el('p', { class: 'hint' }, opts.hint) : null, errNode);
    var inputs = [];
    var helps = {};
    options.forEach(function (o) {
      var id = d.newId(name);
      var inp = el('input', { type: 'radio', name: name, id: id });
      inp.value = o.value;
      if (value === o.value) inp.checked = true;
      if (opts.onchange) inp.addEventListener('change', opts.onchange);
      inputs.push(inp);
      var hasHelp = o.help !== undefined && o.help !== null;
      var helpId = hasHelp ? id + '-help' : null;
      if (helpId) inp.setAttribute('aria-describedby', helpId);
      var helpNode = hasHelp ? el('span', { class: 'radio-help', id: helpId }, o.help) : null;
      helps[o.value] = helpNode;
      fs.appendChild(el('div', { class: 'radio' }, inp,
        el('div', { class: 'radio-text' }, el('label', { for: id, class: 'radio-label' }, o.label), helpNode)));
    });
    fs.inputs = inputs;
    fs.helps = helps;
    fs.errorNode = errNode;
    fs.control = inputs[0];
    fs.value = function () {
      for (var i = 0; i < inputs.length; i++) if (inputs[i].checked) return inputs[i].value;
      return null;
    };
    return fs;
  }

  function setGroupError(fs, message) {
    if (!fs) return;
    fs.errorNode.textContent = message || '';
    fs.errorNode.hidden = !message;
    fs.classList.toggle('has-error', !!message);
  }

  /* A datalist of suggestions; returns the element (its id in .id). */
  function datalist(id, values) {
    var dl = el('datalist', { id: id });
    var seen = {};
    values.forEach(function (v) {
      if (v === null || v === undefined || seen[v]) return;
      seen[v] = 1;
      var o = el('option');
      o.value = String(v);
      dl.appendChild(o);
    });
    return dl;
  }

  /* A button that runs fn (returning a promise), disabled meanwhile.
   * opts: {cls, confirm: 'question', busyText} */
  function action(label, fn, opts) {
    opts = opts || {};
    var b = el('button', { type: 'button', class: 'btn' + (opts.cls ? ' ' + opts.cls : '') }, label);
    if (opts.describedby) b.setAttribute('aria-describedby', opts.describedby);
    b.addEventListener('click', function () {
      if (opts.confirm && !window.confirm(opts.confirm)) return;
      b.disabled = true;
      var old = b.textContent;
      if (opts.busyText) b.textContent = opts.busyText;
      Promise.resolve().then(fn).then(function () {
        b.disabled = false;
        b.textContent = old;
      }, function (err) {
        b.disabled = false;
        b.textContent = old;
        if (opts.onError) opts.onError(err);
        else if (window.console) console.error(err);
      });
    });
    return b;
  }

  /* Disables a form's submit button while fn's promise runs. */
  function submitting(form, fn) {
    var btns = form.querySelectorAll('button[type=submit]');
    btns.forEach(function (b) { b.disabled = true; });
    return Promise.resolve().then(fn).then(function (r) {
      btns.forEach(function (b) { b.disabled = false; });
      return r;
    }, function (err) {
      btns.forEach(function (b) { b.disabled = false; });
      throw err;
    });
  }

  /* --- tables ---------------------------------------------------------------- */

  /* cols: [{label, cls, num}] ; rows: arrays of cell content. */
  function table(cols, rows, opts) {
    opts = opts || {};
    var thead = el('thead', null, el('tr', null, cols.map(function (c) {
      return el('th', { scope: 'col', class: (c.num ? 'num ' : '') + (c.cls || '') }, c.label);
    })));
    var tbody = el('tbody');
    rows.forEach(function (r) {
      var tr = el('tr', r.attrs || null);
      var cells = r.cells || r;
      cells.forEach(function (cell, i) {
        var c = cols[i] || {};
        var tag = c.rowHeader ? 'th' : 'td';
        var attrs = { class: (c.num ? 'num ' : '') + (c.cls || '') };
        if (c.rowHeader) attrs.scope = 'row';
        tr.appendChild(el(tag, attrs, cell));
      });
      tbody.appendChild(tr);
    });
    var t = el('table', { class: 'data' + (opts.cls ? ' ' + opts.cls : '') },
      opts.caption ? el('caption', null, opts.caption) : null, thead, tbody);
    return el('div', { class: 'table-wrap', role: opts.region ? 'region' : null,
      'aria-label': opts.region || null, tabindex: opts.region ? '0' : null }, t);
  }

  function themeList(themes) {
    if (!themes || themes.length === 0) return el('span', { class: 'muted' }, 'none');
    return el('ul', { class: 'tags' }, themes.map(function (t) {
      return el('li', { class: 'tag kind-' + (t.kind || 'problem') },
        el('span', { class: 'tag-kind' }, (t.kind || 'problem') + ': '), t.name);
    }));
  }

  /* Copy a text to the clipboard, with a readonly field that shows it (and
   * lets it be selected by hand where the clipboard is not available). */
  function copyBox(labelText, value, hint) {
    var inp = input({ readonly: true, class: 'copy-field', spellcheck: 'false' }, value);
    var status = el('span', { class: 'copy-status', role: 'status' });
    var btn = el('button', { type: 'button', class: 'btn btn-small' }, 'Copy');
    btn.addEventListener('click', function () {
      inp.focus();
      inp.select();
      var done = function () { status.textContent = 'Copied.'; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(value).then(done, function () {
          status.textContent = 'Select the text and copy it (Ctrl+C).';
        });
      } else {
        try { document.execCommand('copy'); done(); } catch (e) { status.textContent = 'Select the text and copy it.'; }
      }
    });
    inp.addEventListener('focus', function () { inp.select(); });
    return field(labelText, inp, { hint: hint, cls: 'copy', after: el('span', { class: 'copy-actions' }, btn, status) });
  }

  HLS.ui = {
    heading: heading, errorText: errorText, notice: notice, errorBox: errorBox, loading: loading,
    slot: slot, fill: fill, field: field, setFieldError: setFieldError, input: input, textarea: textarea,
    select: select, radios: radios, setGroupError: setGroupError, datalist: datalist, action: action,
    submitting: submitting, table: table, themeList: themeList, copyBox: copyBox
  };
})();
