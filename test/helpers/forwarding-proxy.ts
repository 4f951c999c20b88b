// A forwarding HTTP proxy on loopback for the proxy tests: CONNECT tunnels (HTTPS, and how undici
// sends plain HTTP) and absolute-form requests (how Node's agents send plain HTTP). Every host it is
// asked for is reached on 127.0.0.1 at the port asked for, so a made-up name (`github.proxied.test`)
// reaches a test-bed service only through this proxy: an answer proves the request came this way.
import http from 'node:http'
import { type AddressInfo } from 'node:net'
import net from 'node:net'

export interface ForwardingProxy {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** `host:port` of every tunnel opened and request forwarded, in order. */
  seen: string[]
  close(): Promise<void>
}

export async function startForwardingProxy(): Promise<ForwardingProxy> {
  const seen: string[] = []
  const sockets = new Set<net.Socket>()
  const track = (socket: net.Socket): void => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '')
    const port = target.port || '80'
    seen.push(`${target.hostname}:${port}`)
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port,
        method: req.method,
        path: target.pathname + target.search,
        headers: req.headers
      },
      answer => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      }
    )
    upstream.on('error', () => res.writeHead(502).end())
    req.pipe(upstream)
  })
  server.on('connection', track)
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    // `host:port`, as CONNECT asks
    const target = req.url ?? ''
    seen.push(target)
    const upstream = net.connect(Number(target.slice(target.lastIndexOf(':') + 1)), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    track(upstream)
    upstream.on('error', () => client.destroy())
    client.on('error', () => upstream.destroy())
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
  }
}
