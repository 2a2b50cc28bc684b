// Known-answer vectors for Secret Handshake and box-stream, produced by the
// reference implementation (npm secret-handshake and pull-box-stream) with
// fixed keys and fixed ephemeral randomness. hlsd's unit tests must
// reproduce every byte (tests/unit/test_shs.c).
//
//   node tests/interop/make_vectors.js > docs/test-vectors/shs.json
'use strict'
const sodium = require('chloride')
const shs = require('secret-handshake/crypto')
const boxes = require('pull-box-stream')
const pull = require('pull-stream')

const hex = (b) => Buffer.from(b).toString('hex')
const fill = (start) => Buffer.from(Array.from({ length: 32 }, (_, i) => (start + i) & 0xff))

const net = fill(0x10)            // network key
const clientSeed = fill(0x40)     // client's Ed25519 seed
const serverSeed = fill(0x80)     // server's Ed25519 seed
const clientRandom = fill(0xc0)   // ephemeral randomness
const serverRandom = fill(0xe0)
const client = sodium.crypto_sign_seed_keypair(clientSeed)
const server = sodium.crypto_sign_seed_keypair(serverSeed)

let c = shs.initialize({ app_key: net, local: client, remote: { publicKey: server.publicKey }, random: clientRandom })
let s = shs.initialize({ app_key: net, local: server, random: serverRandom })

const msg1 = shs.createChallenge(c)
s = shs.verifyChallenge(s, msg1)
const msg2 = shs.createChallenge(s)
c = shs.clientVerifyChallenge(c, msg2)
const msg3 = shs.clientCreateAuth(c)
s = shs.serverVerifyAuth(s, msg3)
const msg4 = shs.serverCreateAccept(s)
c = shs.clientVerifyAccept(c, msg4)
if (!c || !s) throw new Error('handshake failed')
c = shs.clean(c)
s = shs.clean(s)

const keys = {
  client_to_server: { key: hex(c.encryptKey), nonce: hex(c.remote.app_mac.slice(0, 24)) },
  server_to_client: { key: hex(s.encryptKey), nonce: hex(s.remote.app_mac.slice(0, 24)) },
}
if (hex(c.encryptKey) !== hex(s.decryptKey) || hex(s.encryptKey) !== hex(c.decryptKey)) throw new Error('key mismatch')

// Box-stream messages: a short one, one that spans two boxes (4096 + 904),
// then the goodbye.
const long = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff))
const plain = [Buffer.from('hello from the reference implementation'), long]
function boxAll (key, nonce, cb) {
  pull(pull.values(plain.map((b) => Buffer.from(b))), boxes.createBoxStream(Buffer.from(key, 'hex'), Buffer.from(nonce, 'hex')),
    pull.collect((err, chunks) => cb(err, Buffer.concat(chunks))))
}
boxAll(keys.client_to_server.key, keys.client_to_server.nonce, (err, c2s) => {
  if (err) throw err
  boxAll(keys.server_to_client.key, keys.server_to_client.nonce, (err2, s2c) => {
    if (err2) throw err2
    process.stdout.write(JSON.stringify({
      description: 'Secret Handshake v1 and box-stream, produced by npm secret-handshake@' +
        require('secret-handshake/package.json').version + ' and pull-box-stream@' +
        require('pull-box-stream/package.json').version + ' (tests/interop/make_vectors.js)',
      network_key: hex(net),
      client: { seed: hex(clientSeed), public_key: hex(client.publicKey), ephemeral_random: hex(clientRandom) },
      server: { seed: hex(serverSeed), public_key: hex(server.publicKey), ephemeral_random: hex(serverRandom) },
      messages: { client_hello: hex(msg1), server_hello: hex(msg2), client_auth: hex(msg3), server_accept: hex(msg4) },
      box_stream: keys,
      plaintexts: plain.map(hex),
      client_to_server_stream: hex(c2s),
      server_to_client_stream: hex(s2c),
    }, null, 2) + '\n')
  })
})
