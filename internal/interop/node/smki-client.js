'use strict'
/*
 * Runs the reference DCC Boxed SMKI client, npm @smartdcc/dccboxed-keystore
 * (its certificateSearch `search` and `query`, and BoxedKeyStore.query), against
 * an SMKI repository, for the Go acceptance test of `opendcc smki serve`
 * (internal/cli/smkiserve_test.go).
 *
 * usage: node smki-client.js PACKAGE_DIR ADDRESS OPERATIONS_JSON
 *
 *   PACKAGE_DIR      node_modules/@smartdcc/dccboxed-keystore
 *   ADDRESS          what a DCC Boxed user passes, e.g. 127.0.0.1:8083
 *   OPERATIONS_JSON  [{"op":"search","sr":{...}}, {"op":"query","serial":"hex"},
 *                     {"op":"keystore","eui":"...","keyUsage":"keyAgreement"}]
 *
 * Prints one JSON array: per operation {op, results|result|error}. A
 * certificate is {serial, eui, role, keyUsage, der}: serial as Node's
 * X509Certificate reports it (hex), eui/role/keyUsage as the client's
 * metadata parser read them, der base64.
 */
const path = require('node:path')

const [pkgDir, address, opsJSON] = process.argv.slice(2)
if (!pkgDir || !address || !opsJSON) {
  process.stderr.write('usage: node smki-client.js PACKAGE_DIR ADDRESS OPERATIONS_JSON\n')
  process.exit(2)
}
const cs = require(path.join(pkgDir, 'dist', 'certificateSearch.js'))
const ks = require(pkgDir)

function describe(meta, x509) {
  return {
    serial: x509.serialNumber,
    eui: meta.eui.toString(),
    role: typeof meta.role === 'number' ? meta.role : null,
    keyUsage: meta.keyUsage,
    der: x509.raw.toString('base64'),
  }
}

async function run(op) {
  switch (op.op) {
    case 'search': {
      const rs = await cs.search(op.sr, address)
      return { results: rs.map((r) => describe(r.meta, r.x509)) }
    }
    case 'query': {
      const r = await cs.query(op.serial, address)
      return { result: r ? describe(r.meta, r.x509) : null }
    }
    case 'keystore': {
      const store = await ks.BoxedKeyStore.new(address)
      try {
        const rs = await store.query({
          eui: op.eui,
          keyUsage: ks.KeyUsage[op.keyUsage],
          lookup: 'certificate',
        })
        const list = rs === null ? [] : Array.isArray(rs) ? rs : [rs]
        return { results: list.map((r) => describe(r, r.certificate)) }
      } finally {
        await store.cleanup()
      }
    }
    default:
      throw new Error(`unknown operation ${op.op}`)
  }
}

async function main() {
  const out = []
  for (const op of JSON.parse(opsJSON)) {
    try {
      out.push({ op: op.op, ...(await run(op)) })
    } catch (e) {
      out.push({ op: op.op, error: String((e && e.message) || e) })
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n')
  process.exit(1)
})
