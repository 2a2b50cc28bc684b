/* hlsd web app: safe DOM building, formatting and small text helpers.
 *
 * Every string that comes from the server (records, stories from other
 * places, place names, error messages) reaches the page through
 * el()/text(): as a text node or a non-URL attribute. Nothing here ever
 * parses HTML. The only URL attribute el() sets is href, and only to a
 * hash route this app built itself (see hash()). */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});

  /* Attributes el() may set with setAttribute. No on*, no src, no style,
   * no formaction, no srcdoc: nothing that runs or loads anything. */
  var SAFE_ATTRS = {
    id: 1, class: 1, type: 1, name: 1, for: 1, placeholder: 1, required: 1, min: 1, max: 1,
    minlength: 1, maxlength: 1, rows: 1, cols: 1, list: 1, autocomplete: 1, role: 1, tabindex: 1,
    title: 1, lang: 1, dir: 1, scope: 1, colspan: 1, rowspan: 1, disabled: 1, multiple: 1,
    hidden: 1, open: 1, datetime: 1, step: 1, size: 1, inputmode: 1, spellcheck: 1, readonly: 1,
    download: 1, method: 1, novalidate: 1, headers: 1, start: 1, reversed: 1, wrap: 1,
    autocapitalize: 1, enterkeyhint: 1, width: 1, height: 1, label: 1
  };

  function setAttr(node, key, val) {
    if (val === null || val === undefined || val === false) return;
    if (val === true) val = '';
    val = String(val);
    if (key === 'href') {
      /* Only the app's own routes: '#/...' (built by hash()). */
      if (!/^#\//.test(val)) throw new Error('el: refusing href ' + JSON.stringify(val));
      node.setAttribute('href', val);
      return;
    }
    if (/^(aria|data)-[a-z0-9-]+$/.test(key) || SAFE_ATTRS[key] === 1) {
      node.setAttribute(key, val);
      return;
    }
    throw new Error('el: attribute not allowed: ' + key);
  }

  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) {
      for (var i = 0; i < child.length; i++) append(node, child[i]);
      return;
    }
    if (typeof child === 'string' || typeof child === 'number') {
      node.appendChild(document.createTextNode(String(child)));
      return;
    }
    node.appendChild(child);
  }

  /* el('a', {href: hash(['story', id]), class: 'x', on: {click: fn}}, 'text', child, [more]).
   * attrs: safe attributes; 'on' event listeners; 'props' DOM properties
   * (value, checked, selected, indeterminate) set directly. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
        var val = attrs[key];
        if (key === 'on') {
          for (var ev in val) node.addEventListener(ev, val[ev]);
        } else if (key === 'props') {
          for (var p in val) {
            if (p === 'value' || p === 'checked' || p === 'selected' || p === 'indeterminate' ||
                p === 'defaultValue' || p === 'defaultChecked') node[p] = val[p];
            else throw new Error('el: property not allowed: ' + p);
          }
        } else {
          setAttr(node, key, val);
        }
      }
    }
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }

  var SVG_NS = 'http://www.w3.org/2000/svg';
  /* SVG elements: any attribute but event handlers and links. */
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) {
      for (var key in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
        if (/^on/i.test(key) || /href$/i.test(key) || key === 'style') throw new Error('svg: attribute not allowed: ' + key);
        var v = attrs[key];
        if (v === null || v === undefined) continue;
        node.setAttribute(key, String(v));
      }
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      if (typeof c === 'string' || typeof c === 'number') node.appendChild(document.createTextNode(String(c)));
      else node.appendChild(c);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /* '#/story/<id>?place=...': each part and value encoded, so no server
   * text can end the route or start another. */
  function hash(parts, query) {
    var h = '#/' + parts.map(function (p) { return encodeURIComponent(String(p)); }).join('/');
    if (query) {
      var q = new URLSearchParams();
      Object.keys(query).forEach(function (k) {
        var v = query[k];
        if (v === null || v === undefined || v === '' || v === false) return;
        q.set(k, String(v));
      });
      var s = q.toString();
      if (s) h += '?' + s;
    }
    return h;
  }

  function link(parts, query, label, attrs) {
    var a = { href: hash(parts, query) };
    if (attrs) for (var k in attrs) a[k] = attrs[k];
    return el('a', a, label);
  }

  /* --- formatting -------------------------------------------------------- */

  var dateFmt = null, timeFmt = null;
  try {
    dateFmt = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
    timeFmt = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit'
    });
  } catch (e) { /* old browser: ISO text */ }

  /* '2026-11-02' -> '2 Nov 2026' (a calendar date: no time zone shift). */
  function fmtDate(s) {
    if (!s) return '';
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m || !dateFmt) return String(s);
    return dateFmt.format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], 12)));
  }

  /* '2026-12-04T23:21:04Z' -> '4 Dec 2026, 23:21' in the browser's zone. */
  function fmtTime(s) {
    if (!s) return '';
    var d = new Date(s);
    if (isNaN(d.getTime()) || !timeFmt) return String(s);
    return timeFmt.format(d);
  }

  function timeEl(s, withTime) {
    if (!s) return el('span', { class: 'muted' }, 'never');
    return el('time', { datetime: String(s) }, withTime ? fmtTime(s) : fmtDate(s));
  }

  function fmtNum(n) {
    if (n === null || n === undefined || n === '') return '';
    if (typeof n !== 'number') return String(n);
    try { return n.toLocaleString('en-GB'); } catch (e) { return String(n); }
  }

  function fmtBytes(n) {
    if (typeof n !== 'number') return '';
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KiB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MiB';
    return (n / 1073741824).toFixed(1) + ' GiB';
  }

  function fmtDuration(s) {
    if (typeof s !== 'number') return '';
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return d + ' day' + (d === 1 ? '' : 's') + ' ' + h + ' h';
    if (h > 0) return h + ' h ' + m + ' min';
    if (m > 0) return m + ' min';
    return s + ' s';
  }

  function plural(n, one, many) {
    return fmtNum(n) + ' ' + (n === 1 ? one : (many || one + 's'));
  }

  /* 'KIND:NAME' as people read it. */
  function themeText(t) {
    if (!t) return '';
    if (typeof t === 'string') return t;
    return t.kind ? t.kind + ':' + t.name : t.name;
  }

  /* '2026-W45' -> '2026-W45 (2 Nov to 8 Nov 2026)': the ISO week's Monday
   * and Sunday. */
  function weekText(w, short) {
    var m = /^(\d{4})-W(\d{2})$/.exec(String(w || ''));
    if (!m) return w ? String(w) : '';
    var y = +m[1], wk = +m[2];
    var jan4 = new Date(Date.UTC(y, 0, 4, 12));
    var monday = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 86400000 + (wk - 1) * 7 * 86400000);
    var sunday = new Date(monday.getTime() + 6 * 86400000);
    if (!dateFmt) return String(w);
    var dm = function (x) { return x.getUTCDate() + ' ' + dateFmt.formatToParts(x).filter(function (p) { return p.type === 'month'; })[0].value; };
    var range = dm(monday) + ' to ' + dm(sunday) + ' ' + sunday.getUTCFullYear();
    return short ? range : String(w) + ' (' + range + ')';
  }

  function todayISO() {
    var d = new Date();
    var mm = String(d.getMonth() + 1), dd = String(d.getDate());
    return d.getFullYear() + '-' + (mm.length < 2 ? '0' : '') + mm + '-' + (dd.length < 2 ? '0' : '') + dd;
  }

  /* --- CSV (RFC 4180: every field quoted, quotes doubled, CRLF rows) ---- */

  /* The formula guard of 'hls record export' (docs/cli.md): a cell that
   * a spreadsheet would run as a formula (= + - @, tab or CR first), or
   * that starts with ' and one of those or another ', gets a ' before it;
   * 'hls import' takes it off again. */
  function csvField(v) {
    if (v === null || v === undefined) v = '';
    var s = String(v);
    if (/^[=+\-@\t\r]/.test(s) || /^'[=+\-@\t\r']/.test(s)) s = "'" + s;
    return '"' + s.replace(/"/g, '""') + '"';
  }

  function csv(header, rows) {
    var lines = [header.map(csvField).join(',')];
    rows.forEach(function (r) { lines.push(r.map(csvField).join(',')); });
    return lines.join('\r\n') + '\r\n';
  }

  function download(filename, mime, content) {
    /* A byte order mark, so that spreadsheet programs read UTF-8. */
    var blob = new Blob(['\ufeff', content], { type: mime });
    var url = URL.createObjectURL(blob);
    var a = document.createElement('a');
    a.setAttribute('download', filename);
    a.href = url; /* a blob: URL this page made, never server text */
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  /* --- a line diff (longest common subsequence of lines) ----------------- */

  /* Returns [{op: ' '|'-'|'+', line}]. Texts are short (a story's fields),
   * so the quadratic table is fine; above 400 lines a side it falls back to
   * "all removed, all added". */
  function lineDiff(a, b) {
    var x = a === null || a === undefined ? [] : String(a).split('\n');
    var y = b === null || b === undefined ? [] : String(b).split('\n');
    if (a === null || a === undefined || a === '') x = [];
    if (b === null || b === undefined || b === '') y = [];
    var n = x.length, m = y.length, out = [], i, j;
    if (n > 400 || m > 400) {
      x.forEach(function (l) { out.push({ op: '-', line: l }); });
      y.forEach(function (l) { out.push({ op: '+', line: l }); });
      return out;
    }
    var t = [];
    for (i = 0; i <= n; i++) { t.push(new Array(m + 1).fill(0)); }
    for (i = n - 1; i >= 0; i--)
      for (j = m - 1; j >= 0; j--)
        t[i][j] = x[i] === y[j] ? t[i + 1][j + 1] + 1 : Math.max(t[i + 1][j], t[i][j + 1]);
    i = 0; j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { out.push({ op: ' ', line: x[i] }); i++; j++; }
      else if (t[i + 1][j] >= t[i][j + 1]) { out.push({ op: '-', line: x[i] }); i++; }
      else { out.push({ op: '+', line: y[j] }); j++; }
    }
    for (; i < n; i++) out.push({ op: '-', line: x[i] });
    for (; j < m; j++) out.push({ op: '+', line: y[j] });
    return out;
  }

  /* Text with its line breaks kept (CSS white-space: pre-wrap). */
  function prose(s, cls) {
    if (s === null || s === undefined || s === '') return el('p', { class: 'muted' }, 'Not written.');
    return el('p', { class: 'prose' + (cls ? ' ' + cls : '') }, String(s));
  }

  /* A definition list from [[term, value], ...]; rows with a null value are
   * left out. */
  function facts(rows, cls) {
    var dl = el('dl', { class: 'facts' + (cls ? ' ' + cls : '') });
    rows.forEach(function (r) {
      if (!r || r[1] === null || r[1] === undefined || r[1] === '') return;
      dl.appendChild(el('dt', null, r[0]));
      dl.appendChild(el('dd', null, r[1]));
    });
    return dl;
  }

  var uid = 0;
  function newId(prefix) { uid += 1; return (prefix || 'f') + '-' + uid; }

  HLS.dom = {
    el: el, svg: svg, clear: clear, hash: hash, link: link, append: append,
    fmtDate: fmtDate, fmtTime: fmtTime, timeEl: timeEl, fmtNum: fmtNum, fmtBytes: fmtBytes,
    fmtDuration: fmtDuration, plural: plural, weekText: weekText, themeText: themeText, todayISO: todayISO,
    csv: csv, download: download, lineDiff: lineDiff, prose: prose, facts: facts, newId: newId
  };
})();
