/* hlsd web app: recording learning (#/record), our records (#/records) and
 * one record (#/record/ID). */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el, ui = HLS.ui, api = HLS.api, W = HLS.words;
  var pages = (HLS.pages = HLS.pages || {});

  var TEXT_FIELDS = [
    { key: 'context', label: 'Context', hint: 'The situation: who was involved, what was going on. Never shared.' },
    { key: 'tried', label: 'What we tried', hint: 'Shared in the story, if consent and a lead allow.' },
    { key: 'happened', label: 'What happened', hint: 'Never shared.' },
    { key: 'learnt', label: 'What we learnt', hint: 'Shared in the story, if consent and a lead allow.' }
  ];

  var CSV_COLUMNS = ['title', 'scale', 'stage', 'date', 'themes', 'context', 'tried', 'happened', 'learnt',
    'author_role', 'consent', 'consent_by', 'consent_purpose', 'consent_expires', 'retain_until'];

  /* Theme suggestions: the network's (most places first), then ours. */
  function loadThemeSuggestions() {
    var out = [];
    var seen = {};
    function add(name, kind, note) {
      var key = kind + ':' + name;
      if (seen[key]) return;
      seen[key] = 1;
      out.push({ name: name, kind: kind, note: note });
    }
    var net = api.call('themes.network', {}, { busyTries: 2 }).then(function (list) {
      (list || []).forEach(function (t) {
        add(t.name, t.kind, t.kind + ', ' + d.plural(t.places, 'place'));
      });
    }, function () {});
    var own = api.call('themes', {}).then(function (list) {
      return list || [];
    }, function () { return []; });
    return Promise.all([net, own]).then(function (r) {
      r[1].forEach(function (t) { add(t.name, t.kind, t.kind + ', used here ' + d.plural(t.total, 'time')); });
      return out;
    });
  }

  /* Counts for the consent explanations: direct peers, places known. */
  function loadReach() {
    var peers = api.call('peer.list', {}).then(function (l) {
      return (l || []).filter(function (p) { return p.listed && p.state !== 'blocked'; }).length;
    }, function () { return null; });
    var places = api.call('places', { limit: 0 }).then(function (r) {
      return r && r.places ? r.places.length : null;
    }, function () { return null; });
    return Promise.all([peers, places]).then(function (r) { return { peers: r[0], places: r[1] }; });
  }

  /* --- the themes picker ----------------------------------------------------- */

  function themesPicker(initial) {
    var chosen = (initial || []).map(function (t) { return { name: t.name, kind: t.kind || 'problem' }; });
    var listId = d.newId('themes-list');
    var dl = el('datalist', { id: listId });
    var known = {};
    var kindSel = ui.select({ 'aria-label': 'Kind of theme' }, W.KINDS.map(function (k) {
      return { value: k.value, label: k.label };
    }), 'problem');
    var nameInp = ui.input({ list: listId, autocomplete: 'off', maxlength: '336', 'aria-label': 'Theme name' });
    var addBtn = el('button', { type: 'button', class: 'btn btn-small' }, 'Add theme');
    var chips = el('ul', { class: 'tags editable', 'aria-live': 'polite' });
    var status = el('p', { class: 'field-error', hidden: true });

    function render() {
      d.clear(chips);
      chosen.forEach(function (t, i) {
        var rm = el('button', { type: 'button', class: 'tag-remove', 'aria-label': 'Remove theme ' + t.kind + ':' + t.name }, '\u00d7');
        rm.addEventListener('click', function () {
          chosen.splice(i, 1);
          render();
          nameInp.focus();
        });
        chips.appendChild(el('li', { class: 'tag kind-' + t.kind }, el('span', { class: 'tag-kind' }, t.kind + ': '), t.name, rm));
      });
      if (chosen.length === 0) chips.appendChild(el('li', { class: 'muted' }, 'No themes yet.'));
    }

    /* "strength:peer support", or a name with the kind selected; several
     * separated by ';'. Returns false (with a message) if one is bad. */
    function addFrom(text) {
      var ok = true;
      String(text).split(';').forEach(function (part) {
        var s = part.trim();
        if (!s) return;
        var kind = kindSel.value, name = s;
        var m = /^(problem|aspiration|strength|practice)\s*:\s*(.+)$/i.exec(s);
        if (m) { kind = m[1].toLowerCase(); name = m[2].trim(); }
        else if (known[s]) kind = known[s];
        if (chosen.length >= 32) { ok = false; status.textContent = 'A record holds at most 32 themes.'; return; }
        for (var i = 0; i < chosen.length; i++) {
          if (chosen[i].name.toLowerCase() === name.toLowerCase()) { chosen[i].kind = kind; return; }
        }
        chosen.push({ name: name, kind: kind });
      });
      status.hidden = ok;
      render();
      return ok;
    }

    function addTyped() {
      if (!nameInp.value.trim()) return;
      if (addFrom(nameInp.value)) nameInp.value = '';
    }
    addBtn.addEventListener('click', function () { addTyped(); nameInp.focus(); });
    nameInp.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') { e.preventDefault(); addTyped(); }
    });
    /* Picking a suggestion sets its kind. */
    nameInp.addEventListener('input', function () {
      if (known[nameInp.value]) kindSel.value = known[nameInp.value];
    });

    render();
    var hintId = d.newId('themes-hint');
    var node = el('fieldset', { class: 'themes-picker', 'aria-describedby': hintId },
      el('legend', null, 'Themes', el('span', { class: 'optional' }, ' (optional, up to 32)')),
      el('p', { class: 'hint', id: hintId },
        'What this learning is about. Each theme has a kind: a problem (something people are up against), an aspiration ' +
        '(something people hope for), a strength (something to build on) or a practice (a way of working). ' +
        'Reuse the names other places use (they are suggested as you type), so the same theme counts as one across places. ' +
        'You can also type kind:name, or several separated by ;'),
      status,
      el('div', { class: 'theme-add' }, kindSel, nameInp, addBtn), dl, chips);
    node.errorNode = status;
    node.control = nameInp;
    node.value = function () {
      addTyped();
      return chosen.map(function (t) { return t.kind + ':' + t.name; });
    };
    node.suggest = function (list) {
      d.clear(dl);
      list.forEach(function (t) {
        if (!known[t.name]) known[t.name] = t.kind;
        var o = el('option', { label: t.note || t.kind });
        o.value = t.name;
        dl.appendChild(o);
      });
    };
    return node;
  }

  /* --- the record form --------------------------------------------------------- */

  /* opts: {record (edit), consent: bool (the consent fields), submitLabel,
   * onSubmit(fields) -> promise, onCancel} */
  function recordForm(opts) {
    var r = opts.record || {};
    var s = api.state.session || {};
    var place = s.place || 'this place';
    var f = {};
    var form = el('form', { class: 'record-form', novalidate: true });
    var summary = ui.slot('form-summary');
    form.appendChild(summary);

    f.title = ui.field('Title', ui.input({ name: 'title', required: true, maxlength: '300', autocomplete: 'off' }, r.title),
      { hint: 'One line that says what this learning is about. Shared in the story, if consent allows.' });
    f.date = ui.field('Date', ui.input({ type: 'date', name: 'date', min: '1990-01-01' }, r.date || d.todayISO()),
      { hint: 'The day the learning is about (not necessarily today). It decides the week it is counted in.' });
    f.scale = ui.radios('scale', 'Scale: what is this learning about?', W.SCALES, r.scale || null,
      { hint: 'Learning happens at four scales, each learning from and enabling the one below.' });
    f.stage = ui.radios('stage', 'Stage: where in the learning cycle is it?', W.STAGES.map(function (st) {
      return { value: st.value, label: st.label, help: st.help };
    }), r.stage || null, { hint: 'Work moves round this cycle, at every scale.' });
    f.themes = themesPicker(r.themes);
    form.appendChild(el('div', { class: 'form-section' }, el('h2', null, 'What it is'), f.title, f.date));
    form.appendChild(el('div', { class: 'form-section' }, f.scale, f.stage, f.themes));

    var texts = el('div', { class: 'form-section' }, el('h2', null, 'What you tried and learnt'));
    TEXT_FIELDS.forEach(function (t) {
      f[t.key] = ui.field(t.label, ui.textarea({ name: t.key, rows: '4' }, r[t.key]), { hint: t.hint, optional: true });
      texts.appendChild(f[t.key]);
    });
    f.author_role = ui.field('Your role', ui.input({ name: 'author_role', maxlength: '64', list: 'hls-roles' }, r.author_role),
      { hint: 'For example practitioner or learning lead. Never shared.', optional: true });
    texts.appendChild(f.author_role);
    form.appendChild(texts);

    var reach = {};
    var meanings = {};
    if (opts.consent) {
      var sec = el('div', { class: 'form-section consent-section' }, el('h2', null, 'Consent: who may learn from it'));
      f.consent = ui.radios('consent', 'Consent level', W.CONSENTS.map(function (c) {
        return { value: c.value, label: c.label + ' (' + c.short + ')', help: '' };
      }), r.consent || 'private', {
        hint: 'Choose the level the people in this record agreed to. Nothing is shared as a story until a lead approves it. ' + W.NEVER_SHARED,
        onchange: function () { updateConsent(); }
      });
      meanings = f.consent.helps;
      f.consent_by = ui.field('Consent given by', ui.input({ name: 'consent_by', maxlength: '64', list: 'hls-consent-by' }, r.consent_by),
        { hint: 'Who gave consent, as a role: for example the person, their family, practitioner. Needed above Private.' });
      f.consent_purpose = ui.field('Purpose of the consent', ui.input({ name: 'consent_purpose', maxlength: '500' }, r.consent_purpose),
        { optional: true, hint: 'What the consent was given for, if it was given for something in particular.' });
      f.consent_expires = ui.field('Consent ends on', ui.input({ type: 'date', name: 'consent_expires' }, r.consent_expires),
        { optional: true, hint: 'Consent ends at the start of that day: the record becomes private and a shared story is taken back everywhere, by itself.' });
      var preview = el('div', { class: 'story-preview', 'aria-live': 'polite' });
      sec.appendChild(f.consent);
      sec.appendChild(el('div', { class: 'consent-details' }, f.consent_by, f.consent_purpose, f.consent_expires));
      sec.appendChild(preview);
      form.appendChild(sec);
      form.appendChild(ui.datalist('hls-consent-by', ['the person', 'their family', 'practitioner', 'learning lead']));

      var updateConsent = function () {
        var level = f.consent.value() || 'private';
        var scale = f.scale.value();
        W.CONSENTS.forEach(function (c) {
          var node = meanings[c.value];
          if (node) node.textContent = W.consentMeaning(c.value, { place: place, scale: scale, peers: reach.peers, places: reach.places });
        });
        var details = sec.querySelector('.consent-details');
        details.hidden = level === 'private';
        d.clear(preview);
        if (level === 'peers' || level === 'network') {
          var title = f.title.control.value.trim();
          var tried = f.tried.control.value.trim(), learnt = f.learnt.control.value.trim();
          preview.appendChild(el('h3', null, 'The story a lead would be asked to approve'));
          preview.appendChild(el('p', { class: 'hint' }, 'Shared with ' + W.audienceText(level) +
            ' only after approval. Check that it names no one.'));
          preview.appendChild(d.facts([
            ['Title', title || '(no title yet)'],
            ['What we tried', tried ? el('span', { class: 'prose' }, tried) : el('span', { class: 'muted' }, 'not written')],
            ['What we learnt', learnt ? el('span', { class: 'prose' }, learnt) : el('span', { class: 'muted' }, 'not written')],
            ['Scale and stage', (W.scale(scale) || '?') + ', ' + (W.label(W.STAGES, f.stage.value()) || '?')]
          ]));
        }
      };
      form.addEventListener('input', updateConsent);
      form.addEventListener('change', updateConsent);
      loadReach().then(function (x) { reach = x; updateConsent(); });
      updateConsent();
    }
    form.appendChild(ui.datalist('hls-roles', ['practitioner', 'learning lead', 'data lead', 'manager']));

    loadThemeSuggestions().then(function (list) { f.themes.suggest(list); });

    var actions = el('div', { class: 'form-actions' },
      el('button', { type: 'submit', class: 'btn btn-primary' }, opts.submitLabel || 'Save'));
    if (opts.onCancel) {
      var cancel = el('button', { type: 'button', class: 'btn' }, 'Cancel');
      cancel.addEventListener('click', opts.onCancel);
      actions.appendChild(cancel);
    }
    form.appendChild(actions);

    function clearErrors() {
      Object.keys(f).forEach(function (k) {
        if (f[k].tagName === 'FIELDSET') ui.setGroupError(f[k], null);
        else ui.setFieldError(f[k], null);
      });
      d.clear(summary);
    }

    /* The names hlsd's messages use for the form's fields. */
    var ALIASES = { theme: 'themes', by: 'consent_by', purpose: 'consent_purpose', expires: 'consent_expires', level: 'consent' };

    function showError(key, message) {
      var x = f[key] || f[ALIASES[key]];
      if (!x) return false;
      if (x.tagName === 'FIELDSET') ui.setGroupError(x, message);
      else ui.setFieldError(x, message);
      return true;
    }

    function collect() {
      var out = {};
      var errors = [];
      var title = f.title.control.value.trim();
      if (!title) errors.push(['title', 'Give it a title.']);
      out.title = title;
      out.date = f.date.control.value || null;
      out.scale = f.scale.value();
      if (!out.scale) errors.push(['scale', 'Choose a scale.']);
      out.stage = f.stage.value();
      if (!out.stage) errors.push(['stage', 'Choose a stage.']);
      out.themes = f.themes.value();
      TEXT_FIELDS.forEach(function (t) {
        var v = f[t.key].control.value;
        out[t.key] = v.trim() ? v : null;
      });
      out.author_role = f.author_role.control.value.trim() || null;
      if (opts.consent) {
        out.consent = f.consent.value() || 'private';
        if (out.consent !== 'private') {
          out.consent_by = f.consent_by.control.value.trim() || null;
          out.consent_purpose = f.consent_purpose.control.value.trim() || null;
          out.consent_expires = f.consent_expires.control.value || null;
          if (!out.consent_by) errors.push(['consent_by', 'Say who gave consent (a role, such as the person or practitioner).']);
          if (out.consent_expires && out.consent_expires <= d.todayISO()) {
            errors.push(['consent_expires', 'Consent would end at once: choose a day after today, or leave it empty.']);
          }
        }
      }
      return { fields: out, errors: errors };
    }

    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearErrors();
      var c = collect();
      if (c.errors.length) {
        c.errors.forEach(function (x) { showError(x[0], x[1]); });
        ui.fill(summary, ui.notice('error', [el('strong', null, 'Please check the form: '),
          c.errors.map(function (x) { return x[1]; }).join(' ')]));
        var first = f[c.errors[0][0]];
        if (first && first.control) first.control.focus();
        return;
      }
      ui.submitting(form, function () { return opts.onSubmit(c.fields); }).catch(function (err) {
        /* hlsd names the field first: "scale: expected ...". */
        var m = /^(?:record:\s*)?([a-z_]+):\s*(.*)$/.exec(err.message || '');
        var placed = m && showError(m[1], ui.errorText(err));
        ui.fill(summary, ui.errorBox(err, 'Not saved'));
        var fx = placed && (f[m[1]] || f[ALIASES[m[1]]]);
        if (fx && fx.control) fx.control.focus();
        else summary.scrollIntoView({ block: 'nearest' });
      });
    });
    return form;
  }

  /* --- #/record: record learning ------------------------------------------- */

  pages.recordNew = function (view, ctx) {
    ctx.title('Record learning');
    view.appendChild(ui.heading('Record learning',
      'What you tried and what you learnt. It stays in ' + (api.state.session.place || 'this place') +
      ' unless you give consent, and a story leaves only after a lead approves it.'));
    if (api.state.session.node_role === 'partner') {
      view.appendChild(ui.notice('info', 'This is a national learning partner\u2019s node: it keeps no learning records of its own. ' +
        'It learns from the stories and patterns of the places.'));
      return;
    }
    if (!api.can('record.add')) {
      view.appendChild(ui.notice('info', 'Your role (' + api.state.session.role + ') can read records but not add them.'));
      return;
    }
    view.appendChild(recordForm({
      consent: true,
      submitLabel: 'Save the record',
      onSubmit: function (fields) {
        Object.keys(fields).forEach(function (k) { if (fields[k] === null) delete fields[k]; });
        if (fields.themes && fields.themes.length === 0) delete fields.themes;
        return api.call('record.add', { record: fields }).then(function (rec) {
          var msg = 'Record ' + rec.id + ' saved.';
          if (rec.consent === 'peers' || rec.consent === 'network') {
            msg += ' Its story now waits for a lead\u2019s approval (Review).';
          }
          ctx.flash('ok', msg);
          ctx.go(d.hash(['record', rec.id]));
        });
      }
    }));
  };

  /* --- #/records: our records ----------------------------------------------------- */

  var PAGE = 1000;

  pages.records = function (view, ctx) {
    ctx.title('Our records');
    var q = ctx.query;
    var filters = {
      theme: q.get('theme') || '', scale: q.get('scale') || '', stage: q.get('stage') || '',
      consent: q.get('consent') || '', since: q.get('since') || '', until: q.get('until') || ''
    };
    view.appendChild(ui.heading('Our records', 'Every learning record kept here. Choose one to read it in full.'));
    var actionsBar = el('p', { class: 'page-actions' });
    if (api.can('record.add')) actionsBar.appendChild(d.link(['record'], null, 'Record learning', { class: 'btn btn-primary' }));
    view.appendChild(actionsBar);

    /* Filters, asked of the node. */
    var themeListId = d.newId('rec-themes');
    var ff = {
      theme: ui.field('Theme', ui.input({ name: 'theme', list: themeListId }, filters.theme)),
      scale: ui.field('Scale', ui.select({ name: 'scale' }, [{ value: '', label: 'Any' }].concat(W.SCALES.map(function (x) { return { value: x.value, label: x.label }; })), filters.scale)),
      stage: ui.field('Stage', ui.select({ name: 'stage' }, [{ value: '', label: 'Any' }].concat(W.STAGES), filters.stage)),
      consent: ui.field('Consent', ui.select({ name: 'consent' }, [{ value: '', label: 'Any' }].concat(W.CONSENTS), filters.consent)),
      since: ui.field('From', ui.input({ type: 'date', name: 'since' }, filters.since)),
      until: ui.field('To', ui.input({ type: 'date', name: 'until' }, filters.until))
    };
    var fform = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter records' },
      ff.theme, ff.scale, ff.stage, ff.consent, ff.since, ff.until,
      el('div', { class: 'filter-actions' }, el('button', { type: 'submit', class: 'btn' }, 'Filter'),
        d.link(['records'], null, 'Clear', { class: 'btn btn-link' })));
    var tdl = el('datalist', { id: themeListId });
    fform.appendChild(tdl);
    fform.addEventListener('submit', function (e) {
      e.preventDefault();
      var nq = {};
      Object.keys(ff).forEach(function (k) { nq[k] = ff[k].control.value.trim(); });
      ctx.go(d.hash(['records'], nq));
    });
    view.appendChild(fform);
    api.call('themes', {}).then(function (list) {
      (list || []).forEach(function (t) { var o = el('option', { label: t.kind }); o.value = t.name; tdl.appendChild(o); });
    }, function () {});

    /* The text search, in this page. */
    var search = ui.input({ type: 'search', name: 'q', autocomplete: 'off' }, q.get('q') || '');
    var searchField = ui.field('Search the records shown', search,
      { hint: 'Looks in the title, themes and the four text fields of the records loaded below.', cls: 'search' });
    var count = el('p', { class: 'count', role: 'status' });
    var exportBtn = el('button', { type: 'button', class: 'btn' }, 'Download these as CSV');
    var tools = el('div', { class: 'list-tools' }, searchField, el('div', { class: 'list-actions' }, exportBtn));
    view.appendChild(tools);
    view.appendChild(count);
    var tableSlot = ui.slot();
    var more = ui.slot();
    view.appendChild(tableSlot);
    view.appendChild(more);
    tableSlot.appendChild(ui.loading('Loading records\u2026'));

    var rows = [];
    var shown = [];
    var done = false;
    var page = PAGE; /* smaller when long records do not fit one reply */

    function args(after) {
      var a = { full: true, limit: page };
      Object.keys(filters).forEach(function (k) { if (filters[k]) a[k] = filters[k]; });
      if (after) { a.after_date = after.date; a.after_id = after.id; }
      return a;
    }

    function matches(r, words) {
      if (!words.length) return true;
      var hay = [r.title, r.context, r.tried, r.happened, r.learnt, r.author_role,
        (r.themes || []).map(d.themeText).join(' ')].join('\n').toLowerCase();
      return words.every(function (w) { return hay.indexOf(w) >= 0; });
    }

    function render() {
      var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      shown = rows.filter(function (r) { return matches(r, words); });
      count.textContent = (words.length ? d.fmtNum(shown.length) + ' of ' : '') + d.plural(rows.length, 'record') +
        (done ? '' : ' loaded (more below)') + (words.length ? ' match the search.' : '.');
      exportBtn.disabled = shown.length === 0;
      if (rows.length === 0) {
        ui.fill(tableSlot, el('p', { class: 'empty' }, Object.keys(filters).some(function (k) { return filters[k]; }) ?
          'No record matches these filters.' : 'No records yet.'));
        return;
      }
      var t = ui.table([
        { label: 'ID', num: true }, { label: 'Date' }, { label: 'Title', cls: 'wide' }, { label: 'Scale' },
        { label: 'Stage' }, { label: 'Consent' }, { label: 'Themes' }
      ], shown.map(function (r) {
        return {
          attrs: { class: 'clickable', 'data-id': String(r.id) },
          cells: [String(r.id), el('span', { class: 'nowrap' }, d.timeEl(r.date)), d.link(['record', r.id], null, r.title),
            W.scale(r.scale), W.label(W.STAGES, r.stage),
            el('span', { class: 'consent consent-' + r.consent }, W.label(W.CONSENTS, r.consent)),
            (r.themes || []).map(d.themeText).join(', ')]
        };
      }), { caption: 'Records, newest first', region: 'Records' });
      t.addEventListener('click', function (e) {
        if (e.target.closest('a')) return;
        var tr = e.target.closest('tr[data-id]');
        if (tr) ctx.go(d.hash(['record', tr.getAttribute('data-id')]));
      });
      ui.fill(tableSlot, t);
    }

    function load(after) {
      return api.call('record.list', args(after)).then(function (list) {
        if (!ctx.alive()) return;
        list = list || [];
        rows = rows.concat(list);
        done = list.length < page;
        render();
        d.clear(more);
        if (!done) {
          more.appendChild(ui.action('Load ' + page + ' more', function () {
            return load(rows[rows.length - 1]);
          }, { onError: function (err) { ui.fill(more, ui.errorBox(err)); } }));
        }
      }, function (err) {
        if (!ctx.alive()) return;
        if (err.code === 'too_large' && page > 25) {
          page = Math.max(25, Math.floor(page / 4));
          return load(after);
        }
        ui.fill(tableSlot, ui.errorBox(err, 'The records could not be loaded'));
      });
    }

    search.addEventListener('input', render);
    exportBtn.addEventListener('click', function () {
      var data = shown.map(function (r) {
        return CSV_COLUMNS.map(function (c) {
          if (c === 'themes') return (r.themes || []).map(d.themeText).join('; ');
          return r[c];
        });
      });
      d.download('records-' + d.todayISO() + '.csv', 'text/csv;charset=utf-8', d.csv(CSV_COLUMNS, data));
    });
    view.appendChild(el('p', { class: 'hint' },
      'The CSV file has the columns of \u2018hls record export\u2019, so \u2018hls import\u2019 can take it back (as new records).'));
    load(null);
  };

  /* --- #/record/ID: one record ------------------------------------------------------- */

  function whoAdded(c) {
    if (!c) return null;
    var m = /^web:(.*)$/.exec(c);
    return m ? m[1] + ' (web app)' : c + ' (command line)';
  }

  function consentLine(r) {
    var parts = [W.label(W.CONSENTS, r.consent)];
    if (r.consent !== 'private' && r.consent_by) parts.push('given by ' + r.consent_by);
    if (r.consent_purpose) parts.push('for ' + r.consent_purpose);
    if (r.consent_expires) parts.push('until ' + d.fmtDate(r.consent_expires));
    var text = parts.join(', ');
    if (r.consent_ended) text += ' (' + r.consent_ended + ')';
    return text;
  }

  /* Until when the record is kept, and what says so (docs/governance.md#retention). */
  function retentionLine(r) {
    if (r.retention_from === 'record') return 'until ' + d.fmtDate(r.retention) + ' (its own date), then deleted';
    if (r.retention_from === 'rule') return 'until ' + d.fmtDate(r.retention) + ' (the retention period of its scale), then deleted';
    if (r.retention_from === 'none') return 'until someone deletes it (no retention period for its scale)';
    return null;
  }

  /* Where the record's story is: shared, waiting for review, or neither. */
  function storyStatus(id) {
    var box = ui.slot('story-status');
    Promise.all([
      api.call('share.review', {}).catch(function () { return []; }),
      api.call('share.preview', {}).catch(function () { return null; })
    ]).then(function (r) {
      var waiting = (r[0] || []).filter(function (x) { return x.record === id; })[0];
      var stories = r[1] ? (r[1].stories || []).filter(function (x) { return x.record === id; }) : [];
      var items = [];
      stories.forEach(function (s) {
        items.push(el('li', null, 'Story ' + (s.seq ? '(item ' + s.seq + ') ' : '') + 'for ' + W.audienceText(s.audience) + ': ' +
          (W.STORY_STATES[s.state] || s.state) + '.'));
      });
      if (waiting) {
        items.push(el('li', null, (waiting.changed ? 'Changed since it was approved: the new version ' : 'Its story ') +
          'waits for a lead\u2019s approval. ', d.link(['review'], null, 'Go to Review')));
      }
      if (items.length === 0) items.push(el('li', null, 'No story of it is shared or waiting.'));
      ui.fill(box, el('h2', null, 'Its story'), el('ul', { class: 'plain' }, items));
    });
    return box;
  }

  function consentForm(r, ctx, onDone) {
    var s = api.state.session || {};
    var form = el('form', { class: 'consent-form', novalidate: true });
    var msg = ui.slot();
    var level = ui.radios('level', 'Consent level', W.CONSENTS.map(function (c) {
      return { value: c.value, label: c.label + ' (' + c.short + ')',
        help: W.consentMeaning(c.value, { place: s.place, scale: r.scale }) };
    }), r.consent);
    var by = ui.field('Consent given by', ui.input({ maxlength: '64', list: 'hls-consent-by2' }, r.consent_by),
      { hint: 'A role: the person, their family, practitioner\u2026 Needed above Private.' });
    var purpose = ui.field('Purpose', ui.input({ maxlength: '500' }, r.consent_purpose), { optional: true });
    var expires = ui.field('Consent ends on', ui.input({ type: 'date' }, r.consent_expires), { optional: true });
    form.appendChild(msg);
    form.appendChild(level);
    form.appendChild(el('div', { class: 'consent-details' }, by, purpose, expires));
    form.appendChild(ui.datalist('hls-consent-by2', ['the person', 'their family', 'practitioner', 'learning lead']));
    form.appendChild(el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'btn btn-primary' }, 'Set consent')));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      ui.setFieldError(by, null);
      var a = { id: r.id, level: level.value() };
      if (a.level !== 'private') {
        if (by.control.value.trim()) a.by = by.control.value.trim();
        else if (!r.consent_by) {
          ui.setFieldError(by, 'Say who gave consent.');
          by.control.focus();
          return;
        }
        if (purpose.control.value.trim()) a.purpose = purpose.control.value.trim();
        if (expires.control.value) a.expires = expires.control.value;
        else if (r.consent_expires) a.expires = null; /* the date taken away: consent without an end */
      }
      ui.submitting(form, function () {
        return api.call('consent.set', a).then(function (res) {
          var text = 'Consent is now ' + W.label(W.CONSENTS, res.record.consent) +
            (res.record.consent !== 'private' && res.record.consent_expires ? ', until ' + res.record.consent_expires : '') + '.';
          if (res.erasing_story_seq) text += ' Its shared story (item ' + res.erasing_story_seq + ') is being taken back everywhere.';
          if (res.record.consent === 'peers' || res.record.consent === 'network') text += ' A story needs a lead\u2019s approval before it is shared.';
          onDone(text);
        });
      }).catch(function (err) { ui.fill(msg, ui.errorBox(err, 'Consent not set')); });
    });
    return form;
  }

  pages.record = function (view, ctx) {
    var id = parseInt(ctx.params[0], 10);
    ctx.title('Record ' + ctx.params[0]);
    if (!(id > 0)) {
      view.appendChild(ui.heading('No such record'));
      view.appendChild(ui.notice('error', 'A record number is a positive whole number.'));
      return;
    }
    var body = ui.slot();
    view.appendChild(body);
    body.appendChild(ui.loading());

    function show(flashText) {
      return api.call('record.show', { id: id }).then(function (r) {
        if (!ctx.alive()) return;
        d.clear(body);
        ctx.title(r.title);
        body.appendChild(ui.heading(r.title, 'Record ' + r.id + ', ' + d.fmtDate(r.date)));
        if (flashText) body.appendChild(ui.notice('ok', flashText));
        var scale = W.find(W.SCALES, r.scale), stage = W.find(W.STAGES, r.stage);
        body.appendChild(d.facts([
          ['Date', d.timeEl(r.date)],
          ['Scale', scale ? [el('strong', null, scale.label), ': ', scale.help] : r.scale],
          ['Stage', stage ? [el('strong', null, stage.label), ': ', stage.help] : r.stage],
          ['Themes', ui.themeList(r.themes)],
          ['Consent', el('span', { class: 'consent consent-' + r.consent }, consentLine(r))],
          ['Author\u2019s role', r.author_role],
          ['Kept', retentionLine(r)],
          ['Added by', whoAdded(r.created_by)],
          ['Added', d.timeEl(r.created_at, true)],
          ['Last changed', r.updated_at !== r.created_at ? d.timeEl(r.updated_at, true) : null]
        ]));
        TEXT_FIELDS.forEach(function (t) {
          body.appendChild(el('section', { class: 'text-field' }, el('h2', null, t.label), d.prose(r[t.key])));
        });
        body.appendChild(storyStatus(r.id));

        var acts = el('div', { class: 'record-actions' });
        var editSlot = ui.slot();
        var msg = ui.slot();
        if (api.mayChangeRecord(r, 'record.edit')) {
          acts.appendChild(ui.action('Edit', function () {
            d.clear(editSlot);
            editSlot.appendChild(el('h2', { tabindex: '-1', id: 'edit-title' }, 'Edit record ' + r.id));
            editSlot.appendChild(el('p', { class: 'hint' }, 'If its story was approved, a changed record waits for approval again; the shared story stays as it was until then.'));
            editSlot.appendChild(recordForm({
              record: r, consent: false, submitLabel: 'Save changes',
              onCancel: function () { d.clear(editSlot); },
              onSubmit: function (fields) {
                return api.call('record.edit', { id: r.id, set: fields }).then(function () {
                  return show('Changes saved.');
                });
              }
            }));
            document.getElementById('edit-title').focus();
          }));
        }
        if (api.mayChangeRecord(r, 'record.delete')) {
          acts.appendChild(ui.action('Delete', function () {
            return api.call('record.delete', { id: r.id }).then(function () {
              ctx.flash('ok', 'Record ' + r.id + ' deleted. Any story of it is being taken back everywhere.');
              ctx.go(d.hash(['records']));
            });
          }, {
            cls: 'btn-danger',
            confirm: 'Delete record ' + r.id + ' (\u201c' + r.title + '\u201d)? This cannot be undone. A shared story of it is taken back everywhere.',
            onError: function (err) { ui.fill(msg, ui.errorBox(err, 'Not deleted')); }
          }));
        }
        if (acts.childNodes.length) body.appendChild(el('section', null, el('h2', { class: 'visually-hidden' }, 'Actions'), msg, acts));
        body.appendChild(editSlot);

        if (api.can('consent.set')) {
          var cs = el('section', { class: 'consent-manage' }, el('h2', null, 'Consent'),
            el('p', { class: 'hint' }, 'What the people in this record agreed to. ' + W.NEVER_SHARED));
          cs.appendChild(consentForm(r, ctx, function (text) { return show(text); }));
          if (r.consent !== 'private' && api.can('consent.withdraw')) {
            var wmsg = ui.slot();
            cs.appendChild(el('div', { class: 'withdraw' },
              el('h3', null, 'Withdraw consent'),
              el('p', null, 'The record becomes private. A shared story is taken back everywhere at once, and its week is counted again without it.'),
              wmsg,
              ui.action('Withdraw consent', function () {
                return api.call('consent.withdraw', { id: r.id }).then(function (res) {
                  return show('Consent withdrawn: the record is private.' +
                    (res.erasing_story_seq ? ' Its shared story (item ' + res.erasing_story_seq + ') is being taken back everywhere.' : ''));
                });
              }, {
                cls: 'btn-danger', confirm: 'Withdraw consent for record ' + r.id + '? It becomes private.',
                onError: function (err) { ui.fill(wmsg, ui.errorBox(err, 'Not withdrawn')); }
              })));
          }
          body.appendChild(cs);
        }
        ctx.focusHeading();
      }, function (err) {
        if (!ctx.alive()) return;
        ui.fill(body, ui.heading(err.code === 'not_found' ? 'No such record' : 'Record ' + id),
          ui.errorBox(err), el('p', null, d.link(['records'], null, 'Back to our records')));
        ctx.focusHeading();
      });
    }
    show(null);
  };

  HLS.records = { recordForm: recordForm, themesPicker: themesPicker, CSV_COLUMNS: CSV_COLUMNS };
})();
