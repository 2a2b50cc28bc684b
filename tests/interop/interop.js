// Interoperability with hlsd, using the reference implementations (npm
// secret-handshake and pull-box-stream) over real TCP.
//
//   node interop.js client HOST PORT HLSD_NODE_ID NETWORK_KEY
//       dial hlsd, handshake, read its hello frame, send a ping of 10,000
//       random bytes (it spans three box-stream messages) and check the
//       pong echoes it, then end with a goodbye.
//   node interop.js server NETWORK_KEY
//       listen on 127.0.0.1 (a free port); print "listening PORT NODE_ID";
//       accept one connection from hlsd, handshake, read its hello, ping and
//       check the pong, then end.
// Prints "ok ..." lines and exits 0 on success; exits 1 with a reason.
'use strict'
const net = require('net')
const crypto = require('crypto')
const pull = require('pull-stream')
const toPull = require('stream-to-pull-stream')
const Pushable = require('pull-pushable')
const shs = require('secret-handshake')
const chloride = require('chloride')

const fail = (why) => { console.error('FAIL: ' + why); process.exit(1) }
const timer = setTimeout(() => fail('timed out'), 20000)

function fromNodeId (text) {
  const m = /^@([A-Za-z0-9+/]{43}=)\.ed25519$/.exec(text)
  if (!m) fail('bad node id ' + text)
  return Buffer.from(m[1], 'base64')
}
const toNodeId = (pk) => '@' + pk.toString('base64') + '.ed25519'

// hlsd frames: 4-byte big-endian length, then a msgpack array.
function frame (payload) {
  const h = Buffer.alloc(4)
  h.writeUInt32BE(payload.length, 0)
  return Buffer.concat([h, payload])
}
function pingFrame (type, data) { // [type, bin] with a bin16 header (data is 256..65535 bytes)
  const head = Buffer.from([0x92, type, 0xc5, data.length >> 8, data.length & 0xff])
  return frame(Buffer.concat([head, data]))
}

// Run the session part over an established secure duplex stream.
function session (secure, label) {
  const out = Pushable()
  pull(out, secure.sink)
  out.push(frame(Buffer.from([0x92, 0x00, 0x01]))) // our hello [0, 1] comes first
  let buf = Buffer.alloc(0)
  let sawHello = false
  const payload = crypto.randomBytes(10000)
  pull(secure.source, pull.drain((chunk) => {
    buf = Buffer.concat([buf, chunk])
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const len = buf.readUInt32BE(0)
      const f = buf.slice(4, 4 + len)
      buf = buf.slice(4 + len)
      if (f[0] >= 0x91 && f[0] <= 0x9f && f[1] >= 0x10 && f[1] <= 0x7f) continue // gossip (types 16+): not ours
      if (f[0] !== 0x92) fail('frame is not a 2-element array: ' + f.slice(0, 8).toString('hex'))
      if (f[1] === 0x00) { // hello [0, version]
        if (f[2] !== 0x02) fail('hello version ' + f[2]) // hlsd speaks version 2 (protocol.md 7); this client says 1
        sawHello = true
        console.log('ok - ' + label + ': got hlsd hello frame')
        out.push(pingFrame(0x01, payload))
      } else if (f[1] === 0x02) { // pong
        if (!sawHello) fail('pong before hello')
        const data = f.slice(5)
        if (f[2] !== 0xc5 || !data.equals(payload)) fail('pong does not echo the ping')
        console.log('ok - ' + label + ': ping of ' + payload.length + ' bytes echoed by hlsd')
        out.end() // goodbye
      } else if (f[1] === 0x01) { // hlsd pinging us: answer
        out.push(frame(Buffer.concat([Buffer.from([0x92, 0x02]), f.slice(2)])))
      }
    }
  }, (err) => {
    if (err && err !== true) fail(label + ': stream error ' + err.message)
    if (!sawHello) fail(label + ': stream ended before hlsd hello')
    clearTimeout(timer)
    console.log('ok - ' + label + ': stream ended cleanly')
    process.exit(0)
  }))
}

const mode = process.argv[2]
if (mode === 'client') {
  const [host, port, hlsdId, netKey] = process.argv.slice(3)
  const keys = chloride.crypto_sign_keypair()
  const createClient = shs.createClient(keys, Buffer.from(netKey, 'base64'), 10000)
  const socket = net.connect(Number(port), host, () => {
    const stream = toPull.duplex(socket)
    pull(stream, createClient(fromNodeId(hlsdId), (err, secure) => {
      if (err) fail('handshake: ' + err.message)
      console.log('ok - client: handshake with hlsd as ' + toNodeId(keys.publicKey))
      session(secure, 'client')
    }), stream)
  })
  socket.on('error', (e) => fail('socket: ' + e.message))
} else if (mode === 'server') {
  const [netKey] = process.argv.slice(3)
  const keys = chloride.crypto_sign_keypair()
  const createServer = shs.createServer(keys, (id, cb) => cb(null, true), Buffer.from(netKey, 'base64'), 10000)
  const server = net.createServer((socket) => {
    server.close()
    const stream = toPull.duplex(socket)
    pull(stream, createServer((err, secure) => {
      if (err) fail('handshake: ' + err.message)
      console.log('ok - server: handshake with hlsd ' + toNodeId(secure.remote))
      session(secure, 'server')
    }), stream)
  })
  server.listen(0, '127.0.0.1', () => {
    console.log('listening ' + server.address().port + ' ' + toNodeId(keys.publicKey))
  })
} else {
  fail('usage: interop.js client HOST PORT NODE_ID NETWORK_KEY | server NETWORK_KEY')
}
