/* hlsd web app: the HTTP API (docs/control.md's methods at /api/call/METHOD),
 * the session, and what the signed-in role may do. */
(function () {
  'use strict';
  var HLS = (window.HLS = window.HLS || {});

  var ROLES = ['viewer', 'practitioner', 'lead', 'admin'];
  /* Used until /api/methods answers (and for methods it does not list):
   * the least role of each method this app calls (protocol/methods.def).
   * The server checks every call anyway. */
  var DEFAULT_ROLES = {
    'status': 'viewer', 'record.add': 'practitioner', 'record.list': 'viewer', 'record.show': 'viewer',
    'record.edit': 'practitioner', 'record.delete': 'practitioner', 'themes': 'viewer',
    'themes.network': 'viewer', 'consent.set': 'lead', 'consent.withdraw': 'lead',
    'share.preview': 'viewer', 'share.review': 'viewer', 'share.approve': 'lead', 'share.reject': 'lead',
    'share.log': 'viewer', 'peer.list': 'viewer', 'peer.add': 'admin', 'peer.remove': 'admin',
    'peer.block': 'admin', 'peer.unblock': 'admin', 'places': 'viewer', 'stories': 'viewer',
    'stories.show': 'viewer', 'patterns': 'viewer', 'patterns.show': 'viewer',
    'patterns.summary': 'viewer', 'feed.list': 'viewer', 'feed.subscribe': 'admin',
    'feed.unsubscribe': 'admin', 'feed.token': 'admin', 'user.list': 'admin', 'user.add': 'admin',
    'user.remove': 'admin', 'user.reset': 'admin'
  };

  var state = {
    session: null, /* {user, role, csrf, place, region, node_id, node_role, must_set_password} */
    methods: null  /* name -> method row of 'commands' */
  };

  function ApiError(code, message, status) {
    this.name = 'ApiError';
    this.code = code || 'internal_error';
    this.message = message || 'Something went wrong.';
    this.status = status || 0;
  }
  ApiError.prototype = Object.create(Error.prototype);
  ApiError.prototype.constructor = ApiError;

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  /* Listeners: onUnauthenticated() when a call finds the session gone;
   * onBusy(message, attempt) while the pattern engine loads. */
  var hooks = { onUnauthenticated: null, onBusy: null, onBusyEnd: null };

  function request(method, path, body, opts) {
    opts = opts || {};
    var headers = { 'Accept': 'application/json' };
    var init = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (method === 'POST') {
      headers['Content-Type'] = 'application/json';
      if (!opts.noCsrf && state.session && state.session.csrf) headers['X-CSRF-Token'] = state.session.csrf;
      init.body = JSON.stringify(body || {});
    }
    return fetch(path, init).then(function (resp) {
      return resp.text().then(function (txt) {
        var data = null;
        try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
        if (data && data.ok === true) return data.result;
        if (data && data.ok === false && data.error) {
          throw new ApiError(data.error.code, data.error.message, resp.status);
        }
        throw new ApiError(resp.ok ? 'malformed' : 'http_' + resp.status,
          'The node answered something this page cannot read (HTTP ' + resp.status + ').', resp.status);
      });
    }, function () {
      throw new ApiError('network', 'The node could not be reached. Is hlsd running?', 0);
    });
  }

  /* POST /api/call/METHOD with args; retries 'busy' (the pattern engine is
   * still loading) every second, up to opts.busyTries (default 8) times. */
  function call(method, args, opts) {
    opts = opts || {};
    var tries = opts.busyTries === undefined ? 8 : opts.busyTries;
    var attempt = 0;
    function once() {
      return request('POST', '/api/call/' + encodeURIComponent(method), args || {}).then(function (r) {
        if (attempt > 0 && hooks.onBusyEnd) hooks.onBusyEnd();
        return r;
      }, function (err) {
        if (err.code === 'busy' && attempt < tries) {
          attempt += 1;
          if (hooks.onBusy) hooks.onBusy(err.message, attempt);
          return sleep(1000).then(once);
        }
        if (attempt > 0 && hooks.onBusyEnd) hooks.onBusyEnd();
        if ((err.code === 'unauthenticated' || err.status === 401) && hooks.onUnauthenticated) {
          hooks.onUnauthenticated(err);
        }
        throw err;
      });
    }
    return once();
  }

  function loadSession() {
    return request('GET', '/api/session').then(function (s) {
      state.session = s;
      return s;
    }, function (err) {
      if (err.code === 'unauthenticated' || err.status === 401) {
        state.session = null;
        return null;
      }
      throw err;
    });
  }

  function signIn(name, password) {
    return request('POST', '/api/session', { name: name, password: password }, { noCsrf: true }).then(function (s) {
      state.session = s;
      state.methods = null;
      return s;
    });
  }

  function redeem(token) {
    return request('POST', '/api/session/redeem', { token: token }, { noCsrf: true }).then(function (s) {
      state.session = s;
      state.methods = null;
      return s;
    });
  }

  function setPassword(password) {
    return request('POST', '/api/session/password', { password: password });
  }

  function signOut() {
    return request('POST', '/api/session/end', {}).then(function () {
      state.session = null;
      state.methods = null;
    }, function (err) {
      state.session = null;
      state.methods = null;
      if (err.code === 'unauthenticated') return;
      throw err;
    });
  }

  function loadMethods() {
    if (state.methods) return Promise.resolve(state.methods);
    return request('GET', '/api/methods').then(function (list) {
      var map = {};
      (list || []).forEach(function (m) { if (m && m.name) map[m.name] = m; });
      state.methods = map;
      return map;
    }, function () {
      /* Not fatal: the defaults above decide what is shown, the server
       * decides what is done. */
      state.methods = {};
      return state.methods;
    });
  }

  function rank(role) { var i = ROLES.indexOf(role); return i < 0 ? -1 : i; }

  function methodRole(method) {
    var m = state.methods && state.methods[method];
    return (m && m.role) || DEFAULT_ROLES[method] || 'admin';
  }

  /* May the signed-in person call this method? */
  function can(method) {
    if (!state.session) return false;
    if (state.methods && Object.keys(state.methods).length > 0 && !state.methods[method] && !DEFAULT_ROLES[method]) {
      return false;
    }
    return rank(state.session.role) >= rank(methodRole(method));
  }

  function atLeast(role) { return !!state.session && rank(state.session.role) >= rank(role); }

  /* Records carry created_by: "web:NAME" for a web user (or a Unix user's
   * name for hls). Practitioners may edit and delete only their own. */
  function ownsRecord(r) {
    if (!state.session || !r) return false;
    var u = state.session.user;
    return r.created_by === 'web:' + u || r.created_by === u;
  }

  function mayChangeRecord(r, method) {
    if (!can(method)) return false;
    if (atLeast('lead')) return true;
    return ownsRecord(r);
  }

  HLS.api = {
    state: state, hooks: hooks, ApiError: ApiError, ROLES: ROLES,
    call: call, loadSession: loadSession, signIn: signIn, redeem: redeem, setPassword: setPassword,
    signOut: signOut, loadMethods: loadMethods, can: can, atLeast: atLeast, ownsRecord: ownsRecord,
    mayChangeRecord: mayChangeRecord, methodRole: methodRole
  };
})();
