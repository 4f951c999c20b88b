// GitHub REST API emulator for the test bed, backed by bare git repositories.
// Usage: node test/testbed/github-emulator/main.ts --port N --git-root DIR [--config FILE] [--host 127.0.0.1]
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { OidcIssuer } from './oidc.ts'
import { Emulator } from './server.ts'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    host: { type: 'string', default: '127.0.0.1' },
    'git-root': { type: 'string' },
    config: { type: 'string' },
    // GitHub's OIDC issuer over HTTPS: port, TLS certificate and key (PEM), RS256 signing key (PEM).
    'oidc-port': { type: 'string' },
    'oidc-tls-cert': { type: 'string' },
    'oidc-tls-key': { type: 'string' },
    'oidc-signing-key': { type: 'string' }
  }
})

if (!values['git-root']) {
  process.stderr.write('usage: main.ts --port N --git-root DIR [--config FILE]\n')
  process.exit(2)
}

let oidc: OidcIssuer | undefined
if (values['oidc-port']) {
  const [tlsCert, tlsKey, signingKey] = [values['oidc-tls-cert'], values['oidc-tls-key'], values['oidc-signing-key']]
  if (!tlsCert || !tlsKey || !signingKey) {
    process.stderr.write('--oidc-port needs --oidc-tls-cert, --oidc-tls-key and --oidc-signing-key\n')
    process.exit(2)
  }
  oidc = new OidcIssuer({ tlsCert, tlsKey, signingKey, host: values.host, port: Number(values['oidc-port']) })
  await oidc.listen()
  process.stdout.write(`github-emulator: OIDC issuer ${oidc.issuer}\n`)
}

const emulator = new Emulator({
  oidc,
  gitRoot: resolve(values['git-root']),
  configFile: values.config ? resolve(values.config) : null,
  host: values.host,
  port: Number(values.port)
})

const port = await emulator.listen()
process.stdout.write(
  `github-emulator listening on http://${values.host}:${port} (git root ${resolve(values['git-root'])})\n`
)

process.on('SIGHUP', () => {
  const r = emulator.config.reload()
  process.stdout.write(`github-emulator: config reloaded: ${r.ok ? 'ok' : r.error}\n`)
})
const stop = (): void => {
  void Promise.all([emulator.close(), oidc?.close()]).then(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
