/* hlsd web app: learning from other places: #/stories and #/story/ID.
 * Every story here was written elsewhere: its text is shown as text,
 * never as markup, and never becomes a link target. */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el, ui = HLS.ui, api = HLS.api, W = HLS.words;
  var pages = (HLS.pages = HLS.pages || {});

  var PAGE = 50;

  function excerpt(s, n) {
    if (!s) return '';
    s = String(s);
    return s.length > n ? s.slice(0, n - 1).replace(/\s+\S*$/, '') + '\u2026' : s;
  }

  function placeLabel(s) {
    if (!s.place) return '(a place whose profile is not held)';
    return s.place + (s.self ? ' (this place)' : '');
  }

  function storyCard(s) {
    var card = el('article', { class: 'card story-card' });
    card.appendChild(el('h3', null, d.link(['story', s.id], null, s.title, { class: 'story-title' })));
    card.appendChild(el('p', { class: 'meta' },
      d.link(['stories'], { place: s.origin }, placeLabel(s), { class: 'place-link' }),
      s.region ? ', ' + s.region : '', ' \u00b7 ', d.weekText(s.week), ' \u00b7 ',
      W.scale(s.scale), ', ', W.label(W.STAGES, s.stage).toLowerCase(),
      s.audience === 'peers' ? ' \u00b7 for direct peers only' : ''));
    card.appendChild(ui.themeList(s.themes));
    if (s.learnt) card.appendChild(el('p', { class: 'excerpt' }, el('span', { class: 'label' }, 'What they learnt: '), excerpt(s.learnt, 280)));
    else if (s.tried) card.appendChild(el('p', { class: 'excerpt' }, el('span', { class: 'label' }, 'What they tried: '), excerpt(s.tried, 280)));
    return card;
  }

  pages.stories = function (view, ctx) {
    ctx.title('Learning from other places');
    var q = ctx.query;
    var f = {
      theme: q.get('theme') || '', place: q.get('place') || '', since: q.get('since') || '',
      stage: q.get('stage') || '', scale: q.get('scale') || ''
    };
    view.appendChild(ui.heading('Learning from other places',
      'Stories places chose to share, approved by a person there: what they tried and what they learnt. Newest first.'));
    var themesId = d.newId('st-themes'), placesId = d.newId('st-places');
    var ff = {
      theme: ui.field('Theme', ui.input({ name: 'theme', list: themesId }, f.theme)),
      place: ui.field('Place', ui.input({ name: 'place', list: placesId }, f.place), { hint: 'Its name, as listed on Network.' }),
      since: ui.field('Weeks from', ui.input({ type: 'date', name: 'since' }, f.since)),
      scale: ui.field('Scale', ui.select({ name: 'scale' }, [{ value: '', label: 'Any' }].concat(W.SCALES), f.scale)),
      stage: ui.field('Stage', ui.select({ name: 'stage' }, [{ value: '', label: 'Any' }].concat(W.STAGES), f.stage))
    };
    var tdl = el('datalist', { id: themesId }), pdl = el('datalist', { id: placesId });
    var form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter stories' },
      ff.theme, ff.place, ff.since, ff.scale, ff.stage, tdl, pdl,
      el('div', { class: 'filter-actions' }, el('button', { type: 'submit', class: 'btn' }, 'Filter'),
        d.link(['stories'], null, 'Clear', { class: 'btn btn-link' })));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var nq = {};
      Object.keys(ff).forEach(function (k) { nq[k] = ff[k].control.value.trim(); });
      ctx.go(d.hash(['stories'], nq));
    });
    view.appendChild(form);
    var placeNote = ui.slot();
    view.appendChild(placeNote);

    api.call('themes.network', {}, { busyTries: 2 }).then(function (list) {
      (list || []).forEach(function (t) { var o = el('option', { label: t.kind + ', ' + d.plural(t.places, 'place') }); o.value = t.name; tdl.appendChild(o); });
    }, function () {});
    api.call('places', { limit: 0 }).then(function (r) {
      var places = (r && r.places) || [];
      places.forEach(function (p) { if (p.place) { var o = el('option', { label: p.region || '' }); o.value = p.place; pdl.appendChild(o); } });
      /* A place given by node id (a link from a pattern or a story): say
       * which place it is. */
      if (/^@/.test(f.place)) {
        var hit = places.filter(function (p) { return p.node_id === f.place; })[0];
        ui.fill(placeNote, el('p', { class: 'hint' }, 'Showing the stories of ', el('strong', null, hit && hit.place ? hit.place : 'the place ' + f.place),
          hit && hit.region ? ' (' + hit.region + ')' : '', '.'));
      }
    }, function () {});

    var count = el('p', { class: 'count', role: 'status' });
    var listNode = el('div', { class: 'cards' });
    var more = ui.slot();
    view.appendChild(count);
    view.appendChild(listNode);
    view.appendChild(more);
    listNode.appendChild(ui.loading('Loading stories\u2026'));

    var next = null, total = 0, shown = 0, first = true;
    function keep(s) {
      return (!f.stage || s.stage === f.stage) && (!f.scale || s.scale === f.scale);
    }
    function args(after) {
      var a = { limit: PAGE };
      if (f.theme) a.theme = f.theme;
      if (f.place) a.place = f.place;
      if (f.since) a.since = f.since;
      if (after) a.after = after;
      return a;
    }
    /* Reads pages until some rows are shown or the listing ends (a page may
     * hold no rows the filters keep, with more after it). */
    function load(after, budget) {
      return api.call('stories', args(after)).then(function (page) {
        if (!ctx.alive()) return;
        if (first) { d.clear(listNode); first = false; }
        var rows = (page && page.stories) || [];
        var added = 0;
        rows.forEach(function (s) {
          total += 1;
          if (!keep(s)) return;
          listNode.appendChild(storyCard(s));
          shown += 1;
          added += 1;
        });
        next = page ? page.next : null;
        if (next && added === 0 && budget > 1) return load(next, budget - 1);
        count.textContent = shown === 0 && !next ? 'No stories match.' :
          d.plural(shown, 'story', 'stories') + ' shown' + (f.stage || f.scale ? ' (of ' + d.fmtNum(total) + ' read)' : '') +
          (next ? '; there are more.' : '.');
        d.clear(more);
        if (next) {
          more.appendChild(ui.action('More stories', function () { return load(next, 10); },
            { onError: function (err) { ui.fill(more, ui.errorBox(err)); } }));
        }
      }, function (err) {
        if (!ctx.alive()) return;
        d.clear(listNode);
        listNode.appendChild(ui.errorBox(err, err.code === 'not_found' ? 'No such place' : 'The stories could not be loaded'));
      });
    }
    load(null, 10);
  };

  pages.story = function (view, ctx) {
    var id = ctx.params[0] || '';
    ctx.title('Story');
    var body = ui.slot();
    view.appendChild(body);
    body.appendChild(ui.loading());
    api.call('stories.show', { id: id }).then(function (s) {
      if (!ctx.alive()) return;
      d.clear(body);
      ctx.title(s.title);
      body.appendChild(ui.heading(s.title, [placeLabel(s), s.region ? ', ' + s.region : '', ' \u00b7 ', d.weekText(s.week)].join('')));
      body.appendChild(d.facts([
        ['Place', [d.link(['stories'], { place: s.origin }, placeLabel(s), { class: 'place-link' }),
          s.region ? ' (' + s.region + ')' : '', s.role ? ', ' + (s.role === 'partner' ? 'a national learning partner' : 'a place') : '']],
        ['Week', s.week_start && s.week_end ? s.week + ' (' + d.fmtDate(s.week_start) + ' to ' + d.fmtDate(s.week_end) + ')' : d.weekText(s.week)],
        ['Themes', el('ul', { class: 'tags' }, (s.themes || []).map(function (t) {
          return el('li', { class: 'tag kind-' + t.kind }, el('span', { class: 'tag-kind' }, t.kind + ': '),
            d.link(['stories'], { theme: t.name }, t.name));
        }))],
        ['Scale', W.scale(s.scale)],
        ['Stage', (function () { var st = W.find(W.STAGES, s.stage); return st ? st.label + ': ' + st.help : s.stage; })()],
        ['Shared with', W.audienceText(s.audience)],
        ['Published', d.timeEl(s.published_at, true)],
        ['Received here', s.received_at ? d.timeEl(s.received_at, true) : null]
      ]));
      body.appendChild(el('section', { class: 'text-field' }, el('h2', null, 'What was tried'), d.prose(s.tried)));
      body.appendChild(el('section', { class: 'text-field' }, el('h2', null, 'What was learnt'), d.prose(s.learnt)));
      body.appendChild(el('details', { class: 'tech' }, el('summary', null, 'Where this story comes from'),
        d.facts([
          ['Node', s.origin + (s.self ? ' (this node)' : '')],
          ['Item', s.id + ' (seq ' + s.seq + ')']
        ]),
        el('p', { class: 'hint' }, 'The story is signed by its place; this node checked the signature when it arrived. ' +
          'If the place takes it back, it disappears here too.')));
      body.appendChild(el('p', { class: 'page-actions' },
        d.link(['stories'], { place: s.origin }, 'More from ' + (s.place || 'this place'), { class: 'btn' }), ' ',
        d.link(['stories'], null, 'All stories', { class: 'btn btn-link' })));
      ctx.focusHeading();
    }, function (err) {
      if (!ctx.alive()) return;
      var title = err.code === 'erased' ? 'This story was taken back' : err.code === 'not_found' ? 'No such story' : 'Story';
      var text = err.code === 'erased' ?
        'Its place took it back (consent was withdrawn, ended, or the record changed). Its words are gone from this node. ' : '';
      ui.fill(body, ui.heading(title), ui.notice(err.code === 'erased' ? 'info' : 'error', text + ui.errorText(err)),
        el('p', null, d.link(['stories'], null, 'All stories')));
      ctx.focusHeading();
    });
  };

  HLS.stories = { storyCard: storyCard };
})();
