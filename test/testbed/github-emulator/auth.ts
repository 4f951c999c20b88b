// Authentication: the token of a request (token, bearer or basic auth) and the user it acts as.
import type { IncomingMessage } from 'node:http'
import type { ConfigStore, TokenConfig } from './config.ts'
import { numericId, type UserInfo } from './context.ts'
import { HttpError } from './http.ts'

export function authenticate(req: IncomingMessage, config: ConfigStore): TokenConfig {
  const h = req.headers.authorization
  if (!h) throw new HttpError(401, 'Requires authentication')
  let value: string | null = null
  const m = /^(?:token|bearer)\s+(\S+)\s*$/i.exec(h)
  if (m) value = m[1]
  else {
    const b = /^basic\s+(\S+)$/i.exec(h)
    if (b) {
      const [user, pass] = Buffer.from(b[1], 'base64').toString('utf8').split(':')
      value = pass && pass !== 'x-oauth-basic' ? pass : user
    }
  }
  const token = value ? config.findToken(value) : undefined
  if (!token) throw new HttpError(401, 'Bad credentials')
  return token
}

export function userOf(token: TokenConfig): UserInfo {
  const login = token.login ?? 'testbed-user'
  return {
    login,
    name: token.name ?? login,
    email: token.email ?? `${numericId(`user:${login}`)}+${login}@users.noreply.github.com`
  }
}
