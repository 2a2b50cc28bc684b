/* hlsd web app: the shell (header, navigation, messages), the router
 * (location.hash), signing in, the one-time link and the home page.
 * Loaded last: the pages are in records.js, review.js, stories.js,
 * patterns.js, network.js and users.js. */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});
  var d = HLS.dom, el = d.el, ui = HLS.ui, api = HLS.api, W = HLS.words;
  var pages = (HLS.pages = HLS.pages || {});

  var main, nav, who, brand, flashArea, busyNote;
  var renderSeq = 0;
  var pendingFlash = null;
  var firstRender = true;
  var AFTER_KEY = 'hls.after';

  /* --- routes ---------------------------------------------------------------------- */

  /* [first part of the path, number of parameters, page, needs] */
  var ROUTES = [
    ['', 0, 'home'],
    ['record', 0, 'recordNew'],
    ['records', 0, 'records'],
    ['record', 1, 'record'],
    ['review', 0, 'review'],
    ['stories', 0, 'stories'],
    ['story', 1, 'story'],
    ['patterns', 0, 'patterns'],
    ['pattern', 1, 'pattern'],
    ['network', 0, 'network'],
    ['users', 0, 'users'],
    ['welcome', 1, 'welcome'],
    ['welcome', 0, 'home'],
    ['signin', 0, 'signin']
  ];

  function parseHash() {
    var h = location.hash || '';
    if (h.charAt(0) === '#') h = h.slice(1);
    if (h.charAt(0) === '/') h = h.slice(1);
    var qi = h.indexOf('?');
    var path = qi >= 0 ? h.slice(0, qi) : h;
    var query = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : '');
    var parts = path.split('/').filter(function (p, i) { return i === 0 || p !== ''; });
    var decoded = parts.map(function (p) { try { return decodeURIComponent(p); } catch (e) { return p; } });
    var first = decoded[0] || '';
    var params = decoded.slice(1);
    for (var i = 0; i < ROUTES.length; i++) {
      if (ROUTES[i][0] === first && ROUTES[i][1] === params.length) {
        return { page: ROUTES[i][2], params: params, query: query, path: path };
      }
    }
    return { page: 'notFound', params: params, query: query, path: path };
  }

  function isPartner() { return api.state.session && api.state.session.node_role === 'partner'; }

  var NAV = [
    { hash: '#/', label: 'Home', page: 'home' },
    { hash: '#/record', label: 'Record learning', page: 'recordNew', show: function () { return !isPartner() && api.can('record.add'); } },
    { hash: '#/records', label: 'Our records', page: 'records', also: ['record'], show: function () { return !isPartner(); } },
    { hash: '#/review', label: 'Review', page: 'review', show: function () { return !isPartner(); } },
    { hash: '#/stories', label: 'Other places', page: 'stories', also: ['story'] },
    { hash: '#/patterns', label: 'Patterns', page: 'patterns', also: ['pattern'] },
    { hash: '#/network', label: 'Network', page: 'network' },
    { hash: '#/users', label: 'People', page: 'users', show: function () { return api.can('user.list'); } }
  ];

  var ROLE_LABEL = { viewer: 'Viewer', practitioner: 'Practitioner', lead: 'Learning lead', admin: 'Admin' };

  /* --- the shell ------------------------------------------------------------------- */

  function renderShell(route) {
    var s = api.state.session;
    d.clear(brand);
    d.clear(nav);
    d.clear(who);
    if (!s) {
      brand.appendChild(el('span', { class: 'place' }, 'Human Learning Systems'));
      brand.appendChild(el('span', { class: 'sub' }, 'learning node'));
      nav.hidden = true;
      return;
    }
    brand.appendChild(el('a', { href: '#/', class: 'place' }, s.place || 'This place'));
    brand.appendChild(el('span', { class: 'sub' }, (s.region ? s.region + ' \u00b7 ' : '') +
      (s.node_role === 'partner' ? 'national learning partner' : 'learning node')));
    nav.hidden = !!s.must_set_password;
    if (!s.must_set_password) {
      var ul = el('ul');
      NAV.forEach(function (n) {
        if (n.show && !n.show()) return;
        var current = route && (route.page === n.page || (n.also && n.also.indexOf(route.page) >= 0) ||
          (n.page === 'recordNew' && route.page === 'recordNew'));
        if (n.page === 'records' && route && route.page === 'recordNew') current = false;
        var a = el('a', { href: n.hash, 'aria-current': current ? 'page' : null }, n.label);
        ul.appendChild(el('li', null, a));
      });
      nav.appendChild(ul);
    }
    var out = el('button', { type: 'button', class: 'btn btn-small btn-quiet' }, 'Sign out');
    out.addEventListener('click', function () {
      out.disabled = true;
      api.signOut().then(function () { afterSignOut('You are signed out.'); }, function (err) {
        out.disabled = false;
        showFlash('error', ui.errorText(err));
      });
    });
    who.appendChild(el('span', { class: 'user' }, el('span', { class: 'visually-hidden' }, 'Signed in as '), s.user));
    who.appendChild(el('span', { class: 'role' }, ROLE_LABEL[s.role] || s.role));
    who.appendChild(out);
  }

  function showFlash(kind, text) {
    d.clear(flashArea);
    if (text) flashArea.appendChild(ui.notice(kind, text));
  }

  function setTitle(t) {
    var s = api.state.session;
    document.title = (t ? t + ' \u2013 ' : '') + (s && s.place ? s.place + ' \u2013 ' : '') + 'hlsd';
  }

  function focusHeading() {
    if (firstRender) return;
    var h = document.getElementById('page-title');
    if (h) h.focus({ preventScroll: false });
  }

  /* --- rendering a route ------------------------------------------------------------- */

  function render() {
    var route = parseHash();
    var seq = ++renderSeq;
    var s = api.state.session;

    /* A one-time link works whoever is signed in. */
    if (route.page === 'welcome') return mount(route, seq, welcome);
    if (!s) {
      if (route.page !== 'signin' && route.page !== 'home') {
        try { sessionStorage.setItem(AFTER_KEY, location.hash); } catch (e) { /* private mode */ }
      }
      return mount(route, seq, signin);
    }
    if (s.must_set_password) return mount(route, seq, choosePassword);
    if (route.page === 'signin') { location.replace('#/'); return; }
    var fn = pages[route.page] || notFound;
    if (route.page === 'home') fn = home;
    return mount(route, seq, fn);
  }

  function mount(route, seq, fn) {
    renderShell(route);
    d.clear(main);
    d.clear(flashArea);
    if (pendingFlash) {
      flashArea.appendChild(ui.notice(pendingFlash[0], pendingFlash[1]));
      pendingFlash = null;
    }
    var view = el('div', { class: 'view view-' + route.page });
    main.appendChild(view);
    var ctx = {
      params: route.params, query: route.query, route: route,
      alive: function () { return seq === renderSeq; },
      title: setTitle,
      go: function (h) {
        if (h === location.hash) render();
        else location.hash = h;
      },
      flash: function (kind, text) { pendingFlash = [kind, text]; },
      rerender: function () { render(); },
      focusHeading: function () { if (seq === renderSeq) focusHeading(); }
    };
    try {
      fn(view, ctx);
    } catch (err) {
      view.appendChild(ui.errorBox(err, 'This page failed'));
      if (window.console) console.error(err);
    }
    focusHeading();
    firstRender = false;
  }

  /* --- signing in ------------------------------------------------------------------------ */

  function afterSignIn() {
    return api.loadMethods().then(function () {
      var to = '#/';
      try {
        to = sessionStorage.getItem(AFTER_KEY) || '#/';
        sessionStorage.removeItem(AFTER_KEY);
      } catch (e) { /* private mode */ }
      if (!/^#\//.test(to) || /^#\/(welcome|signin)/.test(to)) to = '#/';
      if (location.hash === to) render();
      else location.hash = to;
    });
  }

  function afterSignOut(text) {
    api.state.session = null;
    pendingFlash = ['ok', text];
    if (location.hash === '#/signin') render();
    else location.hash = '#/signin';
  }

  function signin(view, ctx) {
    setTitle('Sign in');
    view.appendChild(ui.heading('Sign in', 'The learning records of this place, the stories other places share, and the patterns across them.'));
    var msg = ui.slot();
    var name = ui.field('Name', ui.input({ name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true }));
    var pw = ui.field('Password', ui.input({ type: 'password', name: 'password', autocomplete: 'current-password', required: true }));
    var form = el('form', { class: 'signin-form narrow', method: 'post', novalidate: true }, msg, name, pw,
      el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in')),
      el('p', { class: 'hint' }, 'New here? Use the one-time sign-in link your admin gave you: it lets you choose your password. ' +
        'Forgotten your password? Ask your admin for a new link.'));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var n = name.control.value.trim(), p = pw.control.value;
      ui.setFieldError(name, n ? null : 'Give your name.');
      ui.setFieldError(pw, p ? null : 'Give your password.');
      if (!n) { name.control.focus(); return; }
      if (!p) { pw.control.focus(); return; }
      ui.submitting(form, function () { return api.signIn(n, p); }).then(function () {
        pw.control.value = '';
        return afterSignIn();
      }, function (err) {
        var text = err.code === 'rate_limited' ? err.message :
          err.status === 401 || err.code === 'unauthenticated' || err.code === 'access_denied' ?
            'That name and password do not match (or no password is set yet for that name: use your sign-in link).' :
            ui.errorText(err);
        ui.fill(msg, ui.notice('error', text));
        pw.control.value = '';
        pw.control.focus();
      });
    });
    view.appendChild(form);
  }

  /* A one-time link is used only when its reader says so, and over a
   * session only once they have read whose it is: a page of another site
   * that opens a link of this node (one its author holds) must not sign
   * the browser into the author's account unnoticed. */
  function welcome(view, ctx) {
    var token = ctx.params[0] || '';
    /* The token leaves the address bar (and the history) at once. */
    try { history.replaceState(null, '', location.pathname + location.search + '#/'); } catch (e) { /* ignore */ }
    setTitle('Welcome');
    var s = api.state.session;
    var use = el('button', { type: 'button', class: 'btn btn-primary' }, 'Use this link');
    var actions = el('div', { class: 'form-actions' }, use);
    if (s) {
      view.appendChild(ui.heading('Welcome', 'You are signed in here as ' + s.user + '.'));
      view.appendChild(ui.notice('info', 'This one-time link is for an account of its own. Using it signs ' +
        s.user + ' out of this browser and signs you in with the link\'s account. If you did not ask for a link, ' +
        'stay signed in as ' + s.user + '.'));
      var stay = el('button', { type: 'button', class: 'btn' }, 'Stay signed in as ' + s.user);
      /* the address is #/ already (the token left it): render it */
      stay.addEventListener('click', function () { render(); });
      actions.appendChild(stay);
    } else {
      view.appendChild(ui.heading('Welcome', 'Your one-time link signs you in to this node once; then you ' +
        'choose your password.'));
    }
    view.appendChild(actions);
    use.addEventListener('click', function () {
      use.disabled = true;
      redeemLink(view, ctx, token);
    });
    use.focus();
  }

  function redeemLink(view, ctx, token) {
    d.clear(view);
    view.appendChild(ui.heading('Welcome', 'Signing you in with your one-time link\u2026'));
    api.redeem(token).then(function (s) {
      if (!ctx.alive()) return;
      if (s.must_set_password) {
        renderShell(null);
        d.clear(view);
        choosePassword(view, ctx, true);
        focusHeadingNow();
        return;
      }
      return api.loadMethods().then(function () {
        pendingFlash = ['ok', 'Welcome, ' + s.user + '. You are signed in.'];
        render();
      });
    }, function (err) {
      if (!ctx.alive()) return;
      d.clear(view);
      view.appendChild(ui.heading('This link does not work'));
      view.appendChild(ui.notice('error', err.code === 'rate_limited' ? err.message :
        'It was used already, has expired, or was not copied whole. Ask your admin for a new link. (' + ui.errorText(err) + ')'));
      view.appendChild(el('p', null, el('a', { href: '#/signin' }, 'Sign in with a password')));
      focusHeadingNow();
    });
  }

  function focusHeadingNow() {
    var h = document.getElementById('page-title');
    if (h) h.focus();
  }

  function choosePassword(view, ctx, welcomed) {
    var s = api.state.session || {};
    setTitle('Choose your password');
    view.appendChild(ui.heading('Choose your password', (welcomed ? 'Welcome, ' + s.user + '. ' : '') +
      'You will sign in with your name, ' + s.user + ', and this password from now on.'));
    var msg = ui.slot();
    var pw = ui.field('New password', ui.input({ type: 'password', name: 'new-password', autocomplete: 'new-password', minlength: '10', required: true }),
      { hint: 'At least 10 characters. A few unrelated words make a good one.' });
    var pw2 = ui.field('The same password again', ui.input({ type: 'password', name: 'new-password-2', autocomplete: 'new-password', required: true }));
    var form = el('form', { class: 'password-form narrow', novalidate: true }, msg,
      el('input', { type: 'text', name: 'username', autocomplete: 'username', hidden: true, readonly: true, props: { value: s.user || '' } }),
      pw, pw2, el('div', { class: 'form-actions' }, el('button', { type: 'submit', class: 'btn btn-primary' }, 'Save my password')));
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var a = pw.control.value, b = pw2.control.value;
      /* Characters, as hlsd counts them (an emoji is one, not two). */
      var e1 = Array.from(a).length < 10 ? 'Use at least 10 characters.' : null;
      var e2 = !e1 && a !== b ? 'The two passwords differ.' : null;
      ui.setFieldError(pw, e1);
      ui.setFieldError(pw2, e2);
      if (e1) { pw.control.focus(); return; }
      if (e2) { pw2.control.focus(); return; }
      ui.submitting(form, function () { return api.setPassword(a); }).then(function () {
        return api.loadSession();
      }).then(function (sess) {
        if (!sess) { afterSignOut('Your password is saved. Sign in with it.'); return; }
        pendingFlash = ['ok', 'Your password is saved.'];
        return afterSignIn();
      }, function (err) {
        ui.fill(msg, ui.errorBox(err, 'Password not saved'));
        pw.control.focus();
      });
    });
    view.appendChild(form);
  }

  /* --- home -------------------------------------------------------------------------- */

  function home(view, ctx) {
    var s = api.state.session;
    setTitle('Home');
    view.appendChild(ui.heading(s.place || 'Home', 'Hello, ' + s.user + '. You are signed in as ' +
      (ROLE_LABEL[s.role] || s.role).toLowerCase() + '.'));
    var cards = el('div', { class: 'home-cards' });
    view.appendChild(cards);

    function card(title, text, hash, linkText, extra) {
      var c = el('section', { class: 'card home-card' }, el('h2', null, title), el('p', null, text));
      if (extra) c.appendChild(extra);
      if (hash) c.appendChild(el('p', null, el('a', { href: hash, class: 'btn' }, linkText)));
      cards.appendChild(c);
      return c;
    }

    if (!isPartner()) {
      if (api.can('record.add')) card('Record learning', 'What you tried, what happened and what you learnt, with the consent of the people in it.', '#/record', 'Record learning');
      var rs = ui.slot();
      card('Our records', 'Every learning record kept here: search them, export them, give or withdraw consent.', '#/records', 'Our records', rs);
      var rv = ui.slot();
      card('Review', 'Stories wait here for a person to approve them before they leave this place.', '#/review', 'Review', rv);
      api.call('status', {}).then(function (st) {
        if (!ctx.alive()) return;
        ui.fill(rs, el('p', { class: 'big-number' }, d.plural(st.records.total, 'record'),
          el('span', { class: 'muted' }, ' (' + st.records.network + ' for the network, ' + st.records.peers + ' for peers, ' +
            st.records.aggregate + ' counted only, ' + st.records.private + ' private)')));
      }, function () {});
      api.call('share.review', {}).then(function (l) {
        if (!ctx.alive()) return;
        ui.fill(rv, el('p', { class: 'big-number' }, l.length === 1 ? '1 story waits' : d.fmtNum(l.length) + ' stories wait'));
      }, function () {});
    }
    card('Learning from other places', 'Stories other places chose to share: what they tried and what they learnt.', '#/stories', 'Read their stories');
    var ps = ui.slot();
    card('Patterns across places', 'Signals in the weekly counts of every place: a prompt to talk with the places behind them.', '#/patterns', 'See the patterns', ps);
    api.call('patterns', { limit: 1 }, { busyTries: 3 }).then(function (r) {
      if (!ctx.alive()) return;
      ui.fill(ps, el('p', { class: 'big-number' }, d.plural(r.total, 'live pattern'),
        r.patterns && r.patterns[0] ? el('span', { class: 'muted' }, ' (strongest: ' + HLS.patterns.themeOf(r.patterns[0]) + ')') : null));
    }, function () {});
    card('Network', 'This node, the places it hears from, its peers and its pattern feeds.', '#/network', 'Network');
  }

  function notFound(view, ctx) {
    setTitle('Not found');
    view.appendChild(ui.heading('There is no such page'));
    view.appendChild(el('p', null, el('a', { href: '#/' }, 'Go to the home page')));
  }

  /* --- start ---------------------------------------------------------------------------- */

  function start() {
    main = document.getElementById('main');
    nav = document.getElementById('nav');
    who = document.getElementById('who');
    brand = document.getElementById('brand');
    flashArea = document.getElementById('flash');
    busyNote = document.getElementById('busy');

    var skip = document.getElementById('skip');
    if (skip) skip.addEventListener('click', function (e) { e.preventDefault(); main.focus(); });

    api.hooks.onUnauthenticated = function () {
      if (!api.state.session) return;
      api.state.session = null;
      try { sessionStorage.setItem(AFTER_KEY, location.hash); } catch (e) { /* ignore */ }
      pendingFlash = ['info', 'You were signed out (your session ended). Sign in again to go on.'];
      render();
    };
    api.hooks.onBusy = function (message, attempt) {
      busyNote.hidden = false;
      busyNote.textContent = 'The node is still working out the patterns' + (message ? ' (' + message + ')' : '') +
        '. Trying again\u2026 (' + attempt + ')';
    };
    api.hooks.onBusyEnd = function () { busyNote.hidden = true; busyNote.textContent = ''; };

    window.addEventListener('hashchange', render);
    main.appendChild(ui.loading('Starting\u2026'));
    var first = parseHash();
    var sessionP = api.loadSession();
    sessionP.then(function (s) {
      return s ? api.loadMethods() : null;
    }).then(render, function (err) {
      d.clear(main);
      main.appendChild(ui.heading('The node did not answer'));
      main.appendChild(ui.errorBox(err));
      main.appendChild(el('p', null, 'Reload the page to try again.'));
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
