/* hlsd web app: #/review: the stories that wait for a person's decision,
 * and what leaves this place (share.preview), in plain words. */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el, ui = HLS.ui, api = HLS.api, W = HLS.words;
  var pages = (HLS.pages = HLS.pages || {});

  /* The interval of values a published cell stands for (docs/patterns.md,
   * "Withheld and rounded counts"; hls_disclosure_bounds). */
  function cellMeaning(cell, method) {
    var t = method && method.threshold ? method.threshold : 10;
    var r = method && method.rounding ? method.rounding : 5;
    var keyed = !method || method.name !== 'hls-sdc-1';
    if (cell.count === null || cell.count === undefined) {
      var top = keyed ? t + r - 2 : t - 1;
      return { text: 'withheld', note: 'between 1 and ' + top + ': fewer than ' + t + ' about people are never shown' };
    }
    var c = cell.count;
    if (cell.scale !== 'person' || r <= 1) return { text: d.fmtNum(c), note: cell.scale === 'person' ? 'exact' : 'exact (not about people)' };
    if (keyed) {
      return { text: '~' + d.fmtNum(c), note: 'rounded to a multiple of ' + r + ', up or down by a fixed secret key: the true number is ' +
        Math.max(t, c - r + 1) + ' to ' + (c + r - 1) };
    }
    var lo = Math.max(t, c - Math.floor(r / 2)), hi = c + Math.ceil(r / 2) - 1;
    return { text: '~' + d.fmtNum(c), note: 'rounded to the nearest ' + r + ': the true number is ' + lo + ' to ' + hi };
  }

  function themesText(themes) {
    return (themes || []).map(d.themeText).join('\n');
  }

  /* A line diff of one field: removed lines struck through, added ones
   * marked, as a list a screen reader reads with its words. */
  function diffField(label, before, after) {
    var ops = d.lineDiff(before, after);
    var changed = ops.some(function (o) { return o.op !== ' '; });
    if (!changed) return el('div', { class: 'diff-field same' }, el('h5', null, label), el('p', { class: 'muted' }, 'Unchanged.'));
    return el('div', { class: 'diff-field' }, el('h5', null, label),
      el('ul', { class: 'diff' }, ops.map(function (o) {
        if (o.op === '-') return el('li', { class: 'del' }, el('span', { class: 'visually-hidden' }, 'Removed: '), el('del', null, o.line || ' '));
        if (o.op === '+') return el('li', { class: 'ins' }, el('span', { class: 'visually-hidden' }, 'Added: '), el('ins', null, o.line || ' '));
        return el('li', { class: 'ctx' }, o.line || ' ');
      })));
  }

  function storyCard(s, published, ctx, reload) {
    var card = el('article', { class: 'card review-card', 'aria-labelledby': 'review-' + s.record });
    card.appendChild(el('h3', { id: 'review-' + s.record }, 'Record ' + s.record + ': ', s.title));
    card.appendChild(d.facts([
      ['Goes to', W.audienceText(s.audience)],
      ['Week', d.weekText(s.week)],
      ['Scale and stage', W.scale(s.scale) + ', ' + W.label(W.STAGES, s.stage)],
      ['Themes', ui.themeList(s.themes)]
    ]));
    card.appendChild(el('h4', null, 'What we tried'));
    card.appendChild(d.prose(s.tried));
    card.appendChild(el('h4', null, 'What we learnt'));
    card.appendChild(d.prose(s.learnt));
    card.appendChild(el('p', null, d.link(['record', s.record], null, 'Open record ' + s.record)));

    if (s.changed) {
      var box = el('div', { class: 'changed' });
      box.appendChild(el('h4', null, 'What changed since it was approved'));
      if (published) {
        box.appendChild(el('p', { class: 'hint' }, 'Compared with the version places have now (item ' + published.seq +
          ', for ' + W.audienceText(published.audience) + '). Approving replaces it; until then it stays as it was.'));
        box.appendChild(diffField('Title', published.title, s.title));
        box.appendChild(diffField('What we tried', published.tried, s.tried));
        box.appendChild(diffField('What we learnt', published.learnt, s.learnt));
        box.appendChild(diffField('Themes', themesText(published.themes), themesText(s.themes)));
        if (published.audience !== s.audience) {
          box.appendChild(el('p', null, 'Audience: from ' + W.audienceText(published.audience) + ' to ' + W.audienceText(s.audience) + '.'));
        }
        if (published.scale !== s.scale || published.stage !== s.stage || published.week !== s.week) {
          box.appendChild(el('p', null, 'Scale, stage and week: from ' + [published.scale, published.stage, published.week].join(', ') +
            ' to ' + [s.scale, s.stage, s.week].join(', ') + '.'));
        }
      } else {
        box.appendChild(el('p', null, 'It was approved before and has changed since. No earlier version is shared now, so there is nothing to compare with.'));
      }
      card.appendChild(box);
    }

    if (api.can('share.approve') || api.can('share.reject')) {
      var msg = ui.slot();
      var by = ui.field('Decided by', ui.input({ maxlength: '64', list: 'hls-deciders' }),
        { optional: true, hint: 'Your role, kept with the decision (for example learning lead).' });
      var row = el('div', { class: 'decide' }, by);
      var btns = el('div', { class: 'form-actions' });
      var args = function () {
        var a = { id: s.record };
        if (by.control.value.trim()) a.by = by.control.value.trim();
        return a;
      };
      if (api.can('share.approve')) {
        btns.appendChild(ui.action('Approve and share', function () {
          return api.call('share.approve', args()).then(function (res) {
            ctx.flash('ok', 'Approved record ' + s.record + ': its story goes to ' + W.audienceText(res.audience || s.audience) + ' now.');
            reload();
          });
        }, { cls: 'btn-primary', onError: function (err) { ui.fill(msg, ui.errorBox(err, 'Not approved')); } }));
      }
      if (api.can('share.reject')) {
        btns.appendChild(ui.action('Reject', function () {
          return api.call('share.reject', args()).then(function () {
            ctx.flash('ok', 'Rejected record ' + s.record + ': its story will not be shared' +
              (s.changed ? ', and a shared version is taken back everywhere.' : '.'));
            reload();
          });
        }, {
          cls: 'btn-danger',
          confirm: s.changed ? 'Reject record ' + s.record + '? Its shared story is taken back everywhere too.' : null,
          onError: function (err) { ui.fill(msg, ui.errorBox(err, 'Not rejected')); }
        }));
      }
      row.appendChild(btns);
      card.appendChild(msg);
      card.appendChild(row);
    }
    return card;
  }

  function digestSection(digests) {
    var sec = el('section', { class: 'digests', 'aria-labelledby': 'digests-h' });
    sec.appendChild(el('h3', { id: 'digests-h' }, 'Weekly counts'));
    if (!digests || digests.length === 0) {
      sec.appendChild(el('p', { class: 'empty' }, 'No weekly counts: no record has consent above Private yet.'));
      return sec;
    }
    var m = digests[0].method || {};
    sec.appendChild(el('p', null,
      'Each week with records of consent Counted only or above gets one set of counts: how many records per theme, kind, scale and stage. ' +
      'Counts at person scale below ' + (m.threshold || 10) + ' are withheld (other places see only that there were some), ' +
      'and the others are rounded to a multiple of ' + (m.rounding || 5) + ', up or down by a secret key of this node, ' +
      'so that comparing one week\u2019s counts before and after a change never gives an exact number. ' +
      'Counts at organisation, place and country scale describe services, not people, and are exact. ' +
      'No title, text, record number or name is in them.'));
    digests.slice().reverse().forEach(function (dg) {
      var cells = dg.cells || [];
      var state = W.DIGEST_STATES[dg.state] || dg.state;
      var det = el('details', { class: 'digest' });
      det.appendChild(el('summary', null, d.weekText(dg.week), ': ', state, dg.seq ? ' (item ' + dg.seq + ')' : '', ', ',
        d.plural(cells.length, 'count')));
      det.appendChild(ui.table([
        { label: 'Theme' }, { label: 'Kind' }, { label: 'Scale' }, { label: 'Stage' }, { label: 'Shared as', num: true },
        { label: 'What it means' }
      ], cells.map(function (c) {
        var mean = cellMeaning(c, dg.method);
        return [c.theme, c.kind, W.scale(c.scale), W.label(W.STAGES, c.stage),
          el('span', { class: c.count === null ? 'withheld' : '' }, mean.text), mean.note];
      }), { caption: 'Counts for ' + dg.week }));
      sec.appendChild(det);
    });
    return sec;
  }

  function previewStories(stories) {
    var sec = el('section', { class: 'shared-stories', 'aria-labelledby': 'pstories-h' });
    sec.appendChild(el('h3', { id: 'pstories-h' }, 'Stories'));
    if (!stories || stories.length === 0) {
      sec.appendChild(el('p', { class: 'empty' }, 'No story is shared or approved.'));
      return sec;
    }
    sec.appendChild(ui.table([
      { label: 'Record', num: true }, { label: 'Title', cls: 'wide' }, { label: 'Week' }, { label: 'Goes to' }, { label: 'State' }
    ], stories.map(function (s) {
      return [d.link(['record', s.record], null, String(s.record)), s.title, s.week, W.audienceText(s.audience),
        (W.STORY_STATES[s.state] || s.state) + (s.seq ? ' (item ' + s.seq + ')' : '')];
    }), { caption: 'Stories as other places receive them' }));
    return sec;
  }

  pages.review = function (view, ctx) {
    ctx.title('Review');
    view.appendChild(ui.heading('Review',
      'Nothing about a record leaves this place as a story until a person approves it. Check each story names no one before you approve it.'));
    var waiting = el('section', { 'aria-labelledby': 'waiting-h' }, el('h2', { id: 'waiting-h' }, 'Stories waiting for a decision'));
    var list = ui.slot();
    waiting.appendChild(list);
    view.appendChild(waiting);
    var leaves = el('section', { 'aria-labelledby': 'leaves-h' },
      el('h2', { id: 'leaves-h' }, 'What leaves this building'),
      el('p', { class: 'lede' }, 'Everything this place shares, exactly as other places receive it, shared already or about to be. Nothing else about a record ever leaves.'));
    var prev = ui.slot();
    leaves.appendChild(prev);
    view.appendChild(leaves);
    view.appendChild(ui.datalist('hls-deciders', ['learning lead', 'practitioner', 'manager']));

    function load() {
      ui.fill(list, ui.loading('Loading the stories waiting\u2026'));
      ui.fill(prev, ui.loading('Loading what is shared\u2026'));
      var preview = api.call('share.preview', {});
      var review = api.call('share.review', {});
      return Promise.all([review, preview.catch(function (e) { return { error: e }; })]).then(function (r) {
        if (!ctx.alive()) return;
        var items = r[0] || [], pv = r[1] || {};
        d.clear(list);
        if (items.length === 0) {
          list.appendChild(el('p', { class: 'empty' }, 'No story waits for a decision.'));
        } else {
          list.appendChild(el('p', { class: 'count' }, items.length === 1 ? '1 story waits. It would be shared exactly as shown.' :
            items.length + ' stories wait. Each would be shared exactly as shown.'));
          items.forEach(function (s) {
            /* The version shared now, if any (share.preview lists the
             * published story of the record with its seq). */
            var published = null;
            (pv.stories || []).forEach(function (p) {
              if (p.record === s.record && p.seq && p.state !== 'pending') published = p;
            });
            list.appendChild(storyCard(s, published, ctx, function () { ctx.rerender(); }));
          });
        }
        d.clear(prev);
        if (pv.error) {
          prev.appendChild(ui.errorBox(pv.error, 'What is shared could not be loaded'));
          return;
        }
        prev.appendChild(previewStories(pv.stories));
        prev.appendChild(digestSection(pv.digests));
      }, function (err) {
        if (!ctx.alive()) return;
        ui.fill(list, ui.errorBox(err, 'The stories waiting could not be loaded'));
        d.clear(prev);
      });
    }
    load();
  };

  HLS.review = { cellMeaning: cellMeaning };
})();
