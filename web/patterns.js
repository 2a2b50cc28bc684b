/* hlsd web app: patterns across places: #/patterns and #/pattern/ID.
 * A pattern is a prompt for a conversation with its places, not a verdict:
 * every page says which places, which weeks and which method, and never a
 * count nobody published (withheld and rounded counts are ranges). */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el, ui = HLS.ui, api = HLS.api, W = HLS.words;
  var pages = (HLS.pages = HLS.pages || {});

  var PAGE = 50;

  function themeOf(p) {
    var a = p.kind ? p.kind + ':' + p.theme : p.theme;
    if (p.theme2) a += ' + ' + (p.kind2 ? p.kind2 + ':' + p.theme2 : p.theme2);
    return a;
  }

  function strengthText(x) {
    if (typeof x !== 'number') return '';
    if (x >= 300) return '\u2265300';
    return x >= 10 ? x.toFixed(1) : x.toFixed(2).replace(/0$/, '');
  }

  function pText(p) {
    if (typeof p !== 'number') return '';
    if (p === 0) return '< 1e-300';
    if (p >= 0.001) return String(Math.round(p * 10000) / 10000);
    return p.toExponential(1);
  }

  function weeksText(p) {
    if (!p.from) return '';
    if (p.from === p.to) return p.from;
    var a = /^(\d{4})-(W\d{2})$/.exec(p.from), b = /^(\d{4})-(W\d{2})$/.exec(p.to);
    if (a && b && a[1] === b[1]) return p.from + '\u2013' + b[2];
    return p.from + '\u2013' + p.to;
  }

  /* A count interval as people should read it: exact, or a range with why. */
  function rangeText(lo, hi, withheld) {
    if (lo === hi) return d.fmtNum(lo) + (withheld ? ' (part withheld)' : '');
    return d.fmtNum(lo) + '\u2013' + d.fmtNum(hi) + (withheld ? ' (withheld or rounded)' : ' (rounded)');
  }

  var SCORE_WORDS = {
    new_places: 'places new to the theme', expected_new_places: 'expected',
    places_beyond: 'places above their usual level', places_tested: 'places tested',
    excess_z: 'rise above the usual share (z)', baseline_share: 'usual share',
    place_weeks_both: 'place-weeks with both themes', expected_place_weeks: 'expected'
  };

  function scoreText(p) {
    var n1 = SCORE_WORDS[p.score_name] || p.score_name, n2 = SCORE_WORDS[p.score2_name] || p.score2_name;
    var v1 = typeof p.score === 'number' ? (Math.floor(p.score) === p.score ? String(p.score) : p.score.toFixed(2)) : '';
    var v2 = typeof p.score2 === 'number' ? (Math.floor(p.score2) === p.score2 ? String(p.score2) : p.score2.toFixed(2)) : '';
    return n1 + ': ' + v1 + ' (' + n2 + ': ' + v2 + ')';
  }

  function strengthHelp() {
    return 'Strength is \u2212log10 of the p-value of the pattern\'s test at its strongest week: 2 means that ' +
      'one test would give this about 1 time in 100 in a steady world, 4 means 1 in 10,000. The node runs many ' +
      'tests every week (each theme, signal and region) and opens a pattern only where the week\'s false ' +
      'discovery rate allows, so read strengths against each other rather than as odds. It says how sure the ' +
      'pattern is not chance, not how large or important it is.';
  }

  function signalLegend() {
    return el('details', { class: 'legend-box' }, el('summary', null, 'What the signals and strength mean'),
      el('dl', { class: 'facts' }, W.SIGNALS.map(function (s) {
        return [el('dt', null, s.label), el('dd', null, s.help)];
      })),
      el('p', null, strengthHelp()),
      el('p', null, 'Every week, all the tests are held together to a false discovery rate of 5%, so that a steady world, however busy, gives few patterns. ' +
        'Counts are counts of records places chose to share in aggregate: they say what places are writing about, not how common a problem is.'));
  }

  /* --- #/patterns ---------------------------------------------------------------- */

  pages.patterns = function (view, ctx) {
    ctx.title('Patterns');
    var q = ctx.query;
    var f = {
      signal: q.get('signal') || '', theme: q.get('theme') || '', region: q.get('region') || '',
      place: q.get('place') || '', min_strength: q.get('min_strength') || '', all: q.get('all') === '1'
    };
    view.appendChild(ui.heading('Patterns across places',
      'Signals found in the weekly counts of every place this node hears from, strongest first. A pattern is a prompt for a conversation with its places, not a verdict or a league table.'));
    var themesId = d.newId('pt-themes'), regionsId = d.newId('pt-regions'), placesId = d.newId('pt-places');
    var allBox = el('input', { type: 'checkbox', name: 'all', id: d.newId('all') });
    allBox.checked = f.all;
    var ff = {
      signal: ui.field('Signal', ui.select({ name: 'signal' }, [{ value: '', label: 'Any' }].concat(W.SIGNALS), f.signal)),
      theme: ui.field('Theme', ui.input({ name: 'theme', list: themesId }, f.theme)),
      region: ui.field('Region', ui.input({ name: 'region', list: regionsId }, f.region)),
      place: ui.field('Place', ui.input({ name: 'place', list: placesId }, f.place)),
      min_strength: ui.field('Strength at least', ui.input({ type: 'number', name: 'min_strength', min: '0', step: '0.5', inputmode: 'decimal' }, f.min_strength))
    };
    var tdl = el('datalist', { id: themesId }), rdl = el('datalist', { id: regionsId }), pdl = el('datalist', { id: placesId });
    var form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter patterns' },
      ff.signal, ff.theme, ff.region, ff.place, ff.min_strength,
      el('div', { class: 'field checkbox' }, allBox, el('label', { for: allBox.id }, 'Include ended patterns')),
      tdl, rdl, pdl,
      el('div', { class: 'filter-actions' }, el('button', { type: 'submit', class: 'btn' }, 'Filter'),
        d.link(['patterns'], null, 'Clear', { class: 'btn btn-link' })));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var nq = {};
      Object.keys(ff).forEach(function (k) { nq[k] = ff[k].control.value.trim(); });
      nq.all = allBox.checked ? '1' : '';
      ctx.go(d.hash(['patterns'], nq));
    });
    view.appendChild(form);
    view.appendChild(signalLegend());

    api.call('themes.network', {}, { busyTries: 2 }).then(function (list) {
      (list || []).forEach(function (t) { var o = el('option', { label: t.kind + ', ' + d.plural(t.places, 'place') }); o.value = t.name; tdl.appendChild(o); });
    }, function () {});
    api.call('places', { limit: 0 }).then(function (r) {
      var regions = {};
      ((r && r.places) || []).forEach(function (p) {
        if (p.place) { var o = el('option'); o.value = p.place; pdl.appendChild(o); }
        if (p.region && !regions[p.region]) { regions[p.region] = 1; var ro = el('option'); ro.value = p.region; rdl.appendChild(ro); }
      });
    }, function () {});

    var week = ui.slot('week-summary');
    var summary = el('p', { class: 'count', role: 'status' });
    var tableSlot = ui.slot();
    var more = ui.slot();
    view.appendChild(summary);
    view.appendChild(week);
    view.appendChild(tableSlot);
    view.appendChild(more);
    tableSlot.appendChild(ui.loading('Loading patterns\u2026'));

    api.call('patterns.summary', { top: 0 }).then(function (s) {
      if (!ctx.alive() || !s || !s.week) return;
      var parts = [['new', 'new'], ['growing', 'growing'], ['shrinking', 'weaker'], ['ended', 'ended'], ['retracted', 'retracted']]
        .map(function (k) { return (s[k[0]] ? s[k[0]].count : 0) + ' ' + k[1]; });
      ui.fill(week, el('p', { class: 'hint' }, 'Latest week of counts held: ', el('strong', null, d.weekText(s.week)), '. That week: ',
        parts.join(', ') + '.', s.found_ended ? ' ' + d.plural(s.found_ended, 'pattern') + ' found in earlier weeks had already ended.' : '',
        s.found_retracted ? ' ' + d.plural(s.found_retracted, 'pattern') + ' found and retracted again as the data came in.' : ''));
    }, function () {});

    var rows = [], total = 0;

    function args(offset) {
      var a = { limit: PAGE, offset: offset };
      if (f.signal) a.signal = f.signal;
      if (f.theme) a.theme = f.theme;
      if (f.region) a.region = f.region;
      if (f.place) a.place = f.place;
      if (f.min_strength !== '' && !isNaN(parseFloat(f.min_strength))) a.min_strength = parseFloat(f.min_strength);
      if (f.all) a.all = true;
      return a;
    }

    function bySignal(res) {
      var b = res.by_signal || {};
      var parts = W.SIGNALS.filter(function (s) { return b[s.value]; }).map(function (s) { return s.label.toLowerCase() + ' ' + b[s.value]; });
      return parts.length ? ': ' + parts.join(', ') : '';
    }

    function render() {
      if (rows.length === 0) {
        ui.fill(tableSlot, el('p', { class: 'empty' }, f.all ? 'No pattern matches.' :
          'No live pattern matches. Patterns that have ended are listed with \u201cInclude ended patterns\u201d.'));
        return;
      }
      var t = ui.table([
        { label: 'Strength', num: true }, { label: 'Signal' }, { label: 'Theme(s)', cls: 'wide' }, { label: 'Places', num: true },
        { label: 'Weeks' }, { label: 'State' }
      ], rows.map(function (p) {
        return {
          attrs: { class: 'clickable', 'data-id': p.id },
          cells: [el('span', { title: 'p = ' + pText(p.p) }, strengthText(p.strength)), W.label(W.SIGNALS, p.signal),
            d.link(['pattern', p.id], null, themeOf(p)),
            p.signal === 'rising' && p.region ? p.n_places + ' in ' + p.region : String(p.n_places),
            weeksText(p), p.live ? el('span', { class: 'live' }, 'live') : el('span', { class: 'ended' }, 'ended')]
        };
      }), { caption: 'Patterns, strongest first', region: 'Patterns' });
      t.addEventListener('click', function (e) {
        if (e.target.closest('a')) return;
        var tr = e.target.closest('tr[data-id]');
        if (tr) ctx.go(d.hash(['pattern', tr.getAttribute('data-id')]));
      });
      ui.fill(tableSlot, t);
    }

    function load(offset) {
      return api.call('patterns', args(offset)).then(function (res) {
        if (!ctx.alive()) return;
        total = res.total;
        rows = rows.concat(res.patterns || []);
        summary.textContent = d.plural(res.total, 'pattern') + (f.all ? ', ' + res.live + ' live and ' + res.ended + ' ended' :
          ' live' + (res.ended ? ' (' + res.ended + ' ended not shown)' : '')) + bySignal(res) + '. ' +
          (rows.length < total ? rows.length + ' of ' + total + ' shown, strongest first.' :
            total ? 'All ' + total + ' shown, strongest first.' : '');
        render();
        d.clear(more);
        if (rows.length < total) {
          more.appendChild(ui.action('Show ' + Math.min(PAGE, total - rows.length) + ' more', function () { return load(rows.length); },
            { onError: function (err) { ui.fill(more, ui.errorBox(err)); } }));
        }
      }, function (err) {
        if (!ctx.alive()) return;
        ui.fill(tableSlot, ui.errorBox(err, err.code === 'not_found' ? 'No such place' : 'The patterns could not be loaded'));
      });
    }
    load(0);
  };

  /* --- #/pattern/ID ----------------------------------------------------------------- */

  function stateText(res) {
    var p = res.pattern || {};
    if (res.state === 'live') return 'Live: its evidence still holds (to ' + p.to + ').';
    if (res.state === 'ended') return 'Ended: its evidence last held in ' + p.to + '.';
    return 'Retracted: the data no longer show it (counts behind it were corrected or taken back).';
  }

  function placesByRegion(places) {
    var groups = {}, order = [];
    (places || []).forEach(function (pl) {
      var r = pl.region || '(no region)';
      if (!groups[r]) { groups[r] = []; order.push(r); }
      groups[r].push(pl);
    });
    order.sort();
    return el('div', { class: 'regions' }, order.map(function (r) {
      return el('section', { class: 'region' },
        el('h3', null, r + ' (' + groups[r].length + ')'),
        el('ul', { class: 'place-list' }, groups[r].map(function (pl) {
          return el('li', null, d.link(['stories'], { place: pl.node_id || pl.name }, pl.name, { class: 'place-link' }));
        })));
    }));
  }

  /* Sums of cells by a key over the pattern's weeks: [{name, values}]
   * (per theme for together). */
  function seriesFromCells(res, keyFn, weeks) {
    var p = res.pattern;
    var two = !!p.theme2;
    var idx = {}, list = [];
    (res.cells || []).forEach(function (c) {
      var k = keyFn(c);
      if (!idx[k]) {
        idx[k] = { name: k, sums: [{}, {}] };
        list.push(idx[k]);
      }
      var ti = two && !(c.theme === p.theme && c.kind === p.kind) ? 1 : 0;
      var w = idx[k].sums[ti][c.week] || (idx[k].sums[ti][c.week] = { lo: 0, hi: 0, withheld: false });
      w.lo += c.count_min;
      w.hi += c.count_max;
      w.withheld = w.withheld || !!c.withheld;
    });
    list.sort(function (a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; });
    return list.map(function (s) {
      var parts = [0].concat(two ? [1] : []).map(function (ti) {
        return {
          name: ti === 0 ? p.theme : p.theme2,
          values: weeks.map(function (w) {
            var x = s.sums[ti][w] || { lo: 0, hi: 0, withheld: false };
            return { lo: x.lo, hi: x.hi, withheld: x.withheld, text: rangeText(x.lo, x.hi, x.withheld),
              tip: s.name + ', ' + w + ': ' + rangeText(x.lo, x.hi, x.withheld) + ' records' + (two ? ' of ' + (ti === 0 ? p.theme : p.theme2) : '') };
          })
        };
      });
      return { name: s.name, parts: parts };
    });
  }

  function chartSection(res) {
    var p = res.pattern, weeks = res.weeks || [];
    var two = !!p.theme2;
    var sec = el('section', { class: 'chart-section', 'aria-labelledby': 'chart-h' });
    sec.appendChild(el('h2', { id: 'chart-h' }, 'Week by week'));
    if (weeks.length === 0) {
      sec.appendChild(el('p', { class: 'empty' }, 'No weekly counts are held for it.'));
      return sec;
    }
    var mode = ui.radios('chart-mode', 'Show the counts of', [
      { value: 'total', label: 'All its places together' },
      { value: 'region', label: 'Each region' },
      { value: 'place', label: 'Each place' }
    ], 'total', { cls: 'inline', onchange: function () { draw(); } });
    sec.appendChild(mode);
    var out = ui.slot();
    sec.appendChild(out);

    var labels = weeks.map(function (w) { return w.week; });
    var marked = weeks.map(function (w) { return !!w.in_pattern; });
    var inWeeks = weeks.filter(function (w) { return w.in_pattern; }).map(function (w) { return w.week; });

    function legendItems() {
      var items = [];
      if (two) {
        items.push({ cls: 's0', text: p.kind + ':' + p.theme + ' (counted)' });
        items.push({ cls: 's1', text: p.kind2 + ':' + p.theme2 + ' (counted)' });
      } else {
        items.push({ cls: 's0', text: 'records counted' });
      }
      items.push({ cls: 'range', text: 'what withheld or rounded counts may add' });
      items.push({ cls: 'mark', text: 'the pattern\u2019s weeks' });
      return items;
    }

    function totalView() {
      var series = [{
        name: p.theme, values: weeks.map(function (w) {
          return { lo: w.count_min, hi: w.count_max, text: rangeText(w.count_min, w.count_max, w.withheld),
            tip: w.week + (w.in_pattern ? ' (pattern)' : '') + ': ' + rangeText(w.count_min, w.count_max, w.withheld) +
              ' records at ' + d.plural(w.places, 'place') };
        })
      }];
      if (two) {
        series.push({
          name: p.theme2, values: weeks.map(function (w) {
            return { lo: w.count2_min, hi: w.count2_max, text: rangeText(w.count2_min, w.count2_max, false),
              tip: w.week + ': ' + rangeText(w.count2_min, w.count2_max, false) + ' records of ' + p.theme2 + ' at ' +
                d.plural(w.places2, 'place') + '; ' + w.both + ' reported both' };
          })
        });
      }
      var fig = el('figure', { class: 'chart-figure' });
      fig.appendChild(HLS.chart.bars({
        title: 'Records of ' + themeOf(p) + ' at its ' + d.plural(p.n_places, 'place') + ', per week',
        desc: 'From ' + labels[0] + ' to ' + labels[labels.length - 1] + '; the pattern\u2019s weeks are shaded. The numbers are in the table below.',
        labels: labels, marked: marked, series: series, yLabel: 'records'
      }));
      fig.appendChild(el('figcaption', null, 'Records of ', themeOf(p), ' at its places, week by week, from 8 weeks before the pattern.'));
      fig.appendChild(HLS.chart.legend(legendItems()));
      var cols = [{ label: 'Week', rowHeader: true }, { label: 'Pattern week' }];
      if (two) cols = cols.concat([{ label: p.theme, num: true }, { label: 'Places', num: true }, { label: p.theme2, num: true },
        { label: 'Places', num: true }, { label: 'Places with both', num: true }]);
      else cols = cols.concat([{ label: 'Records', num: true }, { label: 'Places', num: true }]);
      var tbl = ui.table(cols, weeks.map(function (w) {
        var r = [w.week, w.in_pattern ? 'yes' : '', rangeText(w.count_min, w.count_max, w.withheld), String(w.places)];
        if (two) r = r.concat([rangeText(w.count2_min, w.count2_max, false), String(w.places2), String(w.both)]);
        return r;
      }), { caption: 'The numbers behind the chart' });
      return [fig, el('details', { class: 'numbers' }, el('summary', null, 'The numbers behind the chart'), tbl)];
    }

    function splitView(kind) {
      if (!res.cells || res.cells.length === 0) return el('p', { class: 'empty' }, 'The counts place by place are not held.');
      var keyFn = kind === 'region' ? function (c) { return c.region || '(no region)'; } : function (c) { return c.place; };
      var series = seriesFromCells(res, keyFn, inWeeks);
      var grid = HLS.chart.multiples({
        labels: inWeeks, marked: null, what: 'records per week',
        series: series.map(function (s) { return { name: s.name, parts: s.parts }; })
      });
      var cols = [{ label: 'Week', rowHeader: true }];
      series.forEach(function (s) {
        s.parts.forEach(function (pt) { cols.push({ label: s.name + (two ? ' (' + pt.name + ')' : ''), num: true }); });
      });
      var tbl = ui.table(cols, inWeeks.map(function (w, i) {
        var r = [w];
        series.forEach(function (s) { s.parts.forEach(function (pt) { r.push(pt.values[i].text); }); });
        return r;
      }), { caption: 'Records per week, ' + (kind === 'region' ? 'summed per region' : 'per place'), region: 'Counts per ' + kind });
      return [
        el('p', { class: 'hint' }, 'The pattern\u2019s weeks only (the counts place by place are kept for those weeks). ' +
          (kind === 'region' ? 'Each region sums its places.' : '') + ' All the charts share one scale.'),
        grid, HLS.chart.legend(legendItems().filter(function (x) { return x.cls !== 'mark'; })),
        el('details', { class: 'numbers' }, el('summary', null, 'The numbers behind the charts'), tbl)
      ];
    }

    function draw() {
      var m = mode.value();
      ui.fill(out, m === 'total' ? totalView() : splitView(m));
    }
    draw();
    return sec;
  }

  function storiesSection(res) {
    var list = (res.stories || []).slice().sort(function (a, b) {
      return a.week < b.week ? -1 : a.week > b.week ? 1 : a.place < b.place ? -1 : a.place > b.place ? 1 : 0;
    });
    var sec = el('section', { 'aria-labelledby': 'pstories-h' }, el('h2', { id: 'pstories-h' }, 'Stories behind it'));
    if (list.length === 0) {
      sec.appendChild(el('p', { class: 'empty' }, 'No story of its places and weeks is held. Its places may still have one to tell: ask them.'));
      return sec;
    }
    sec.appendChild(el('p', { class: 'hint' }, 'Stories its places shared about its theme in its weeks: the context behind the numbers.'));
    var ul = el('ul', { class: 'story-links' });
    function item(s) {
      return el('li', null, el('span', { class: 'week' }, s.week), ' ', el('span', { class: 'place' }, s.place + ': '),
        d.link(['story', s.item], null, s.title, { class: 'story-title' }));
    }
    var first = 20;
    list.slice(0, first).forEach(function (s) { ul.appendChild(item(s)); });
    sec.appendChild(ul);
    if (list.length > first) {
      var btn = el('button', { type: 'button', class: 'btn' }, 'Show all ' + list.length + ' stories');
      btn.addEventListener('click', function () {
        list.slice(first).forEach(function (s) { ul.appendChild(item(s)); });
        btn.remove();
      });
      sec.appendChild(btn);
    }
    return sec;
  }

  function cellsSection(res) {
    var cells = res.cells || [];
    if (cells.length === 0) return null;
    return el('details', { class: 'cells' }, el('summary', null, 'The counts behind it, place by place (' + cells.length + ')'),
      el('p', { class: 'hint' }, 'Each row is one count a place published in its weekly digest (the item named). ' +
        'A withheld count is between 1 and the threshold; a rounded one covers the values that round to it.'),
      ui.table([{ label: 'Week' }, { label: 'Place' }, { label: 'Region' }, { label: 'Theme' }, { label: 'Records', num: true },
        { label: 'Scales' }, { label: 'Digest item', cls: 'mono' }],
      cells.map(function (c) {
        return [c.week, c.place, c.region || '', c.kind + ':' + c.theme, rangeText(c.count_min, c.count_max, c.withheld),
          (c.scales || []).join(', '), c.item];
      }), { region: 'Digest cells' }));
  }

  pages.pattern = function (view, ctx) {
    var id = ctx.params[0] || '';
    ctx.title('Pattern ' + id);
    var body = ui.slot();
    view.appendChild(body);
    body.appendChild(ui.loading('Loading the pattern\u2026'));
    api.call('patterns.show', { id: id }).then(function (res) {
      if (!ctx.alive()) return;
      var p = res.pattern || {};
      var sig = W.find(W.SIGNALS, p.signal);
      d.clear(body);
      ctx.title((sig ? sig.label : p.signal) + ': ' + themeOf(p));
      body.appendChild(ui.heading((sig ? sig.label : p.signal) + ': ' + themeOf(p), stateText(res)));
      body.appendChild(el('p', { class: 'reminder' }, 'A pattern is a prompt for a conversation with its places, not a verdict. ' +
        'Go back to the places and the stories behind it, and make sense of it together.'));
      var withheld = typeof p.withheld === 'number' && p.withheld > 0 && p.expected > 0 ?
        p.withheld.toFixed(1) + ' of ' + p.expected.toFixed(1) + ' (' + Math.round(100 * p.withheld / p.expected) + '%) rests on counts withheld at their place' :
        'none of it: every count behind it was published';
      var countLine = (p.count_min === p.count_max ? d.fmtNum(p.count_min) : d.fmtNum(p.count_min) + '\u2013' + d.fmtNum(p.count_max)) +
        ' records of its theme' + (p.theme2 ? 's' : '') + ' at its places in its weeks' +
        (p.count_min !== p.count_max ? ' (about ' + (p.expected || 0).toFixed(1) + ', taking withheld and rounded counts at the middle of their range)' : '');
      body.appendChild(d.facts([
        ['Signal', sig ? [el('strong', null, sig.label), ': ', sig.help] : p.signal],
        ['Region', p.region || null],
        ['Weeks', p.from ? p.from + ' to ' + p.to + ' (' + d.plural(p.weeks, 'week') + ')' : null],
        ['Strength', strengthText(p.strength) + ' (p = ' + pText(p.p) + ' at its strongest; p = ' + pText(p.p_now) + ' in its last week). ' + strengthHelp()],
        ['Test', p.score_name ? scoreText(p) : null],
        ['Count', res.state === 'retracted' ? null : countLine],
        ['Withheld', res.state === 'retracted' ? null : withheld],
        ['Scales', (p.scales || []).map(function (s) { return W.scale(s); }).join(', ')],
        ['Places', d.plural(p.n_places, 'place') + ((p.regions || []).length ? ' in ' + d.plural(p.regions.length, 'region') : '')],
        ['Id', p.id]
      ]));
      if (res.state !== 'retracted') {
        body.appendChild(el('section', { 'aria-labelledby': 'places-h' }, el('h2', { id: 'places-h' }, 'Its places'),
          el('p', { class: 'hint' }, 'Each place links to the stories it shared.'), placesByRegion(res.places)));
        body.appendChild(chartSection(res));
      }
      var method = p.method || {};
      body.appendChild(el('section', { 'aria-labelledby': 'method-h' }, el('h2', { id: 'method-h' }, 'How it was found'),
        el('p', { class: 'prose' }, res.method_text || method.name || ''),
        el('details', null, el('summary', null, 'Its parameters'),
          d.facts(Object.keys(method).map(function (k) { return [k, typeof method[k] === 'object' ? JSON.stringify(method[k]) : String(method[k])]; })))));
      if (res.state !== 'retracted') {
        body.appendChild(storiesSection(res));
        var cs = cellsSection(res);
        if (cs) body.appendChild(cs);
      }
      body.appendChild(el('p', { class: 'page-actions' }, d.link(['patterns'], null, 'All patterns', { class: 'btn btn-link' })));
      ctx.focusHeading();
    }, function (err) {
      if (!ctx.alive()) return;
      ui.fill(body, ui.heading(err.code === 'not_found' ? 'No such pattern' : 'Pattern ' + id), ui.errorBox(err),
        el('p', null, d.link(['patterns'], null, 'All patterns')));
      ctx.focusHeading();
    });
  };

  HLS.patterns = { themeOf: themeOf, rangeText: rangeText, seriesFromCells: seriesFromCells };
})();
