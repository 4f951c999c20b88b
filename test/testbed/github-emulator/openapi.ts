// Every request the action sends and every answer the emulator gives, checked against GitHub's
// published REST description (@octokit/openapi, api.github.com). Misfits are kept for the tests
// (GET /_testbed/openapi), which fail on any: the emulator may not be kinder, or looser, than GitHub.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'

const require = createRequire(import.meta.url)

interface Operation {
  method: string
  template: string
  re: RegExp
  params: number
  requestSchema?: unknown
  responses: Record<string, unknown>
}

export interface Misfit {
  id: number
  kind: 'request' | 'response'
  method: string
  path: string
  status?: number
  operation?: string
  errors: string[]
}

type Validate = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; message?: string }> | null }

export class OpenApiCheck {
  misfits: Misfit[] = []
  private seq = 0
  private ops: Operation[] = []
  private ajv: { compile(schema: unknown): Validate }
  private compiled = new Map<string, Validate>()
  private responseRefs: Record<string, unknown>

  constructor() {
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json')
    const spec = openApi30ToAjv(JSON.parse(readFileSync(file, 'utf8'))) as {
      paths: Record<string, Record<string, { requestBody?: unknown; responses?: Record<string, unknown> }>>
      components: { responses: Record<string, unknown> }
    }
    const Ajv = require('ajv').default
    const addFormats = require('ajv-formats').default
    this.ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true })
    addFormats(this.ajv)
    // The description gives optional uri fields `default: ''`, and GitHub answers '' for them.
    const uri = require('ajv-formats/dist/formats').fullFormats.uri as (value: string) => boolean
    ;(this.ajv as unknown as { addFormat(name: string, check: (value: string) => boolean): void }).addFormat(
      'uri',
      value => value === '' || uri(value)
    )
    ;(this.ajv as unknown as { addSchema(s: unknown, key: string): void }).addSchema(
      { components: spec.components },
      'gh'
    )
    this.responseRefs = spec.components.responses
    for (const [template, item] of Object.entries(spec.paths)) {
      const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`)
      const params = (template.match(/\{/g) ?? []).length
      for (const [method, op] of Object.entries(item)) {
        if (!op || typeof op !== 'object' || !op.responses) continue
        const body = op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined
        this.ops.push({
          method: method.toUpperCase(),
          template,
          re,
          params,
          requestSchema: body?.content?.['application/json']?.schema,
          responses: op.responses
        })
      }
    }
  }

  /**
   * Compiles the validators of the biggest answers up front: compiling one takes seconds, which at
   * first use would stall the server past its keep-alive timeout and drop clients' idle connections.
   */
  warm(): void {
    for (const [method, path, status] of [
      ['GET', '/repos/o/r', 200],
      ['POST', '/repos/o/r/pulls', 201],
      ['PATCH', '/repos/o/r/pulls/1', 200],
      ['GET', '/repos/o/r/compare/a...b', 200],
      ['POST', '/repos/o/r/deployments', 201],
      ['POST', '/repos/o/r/deployments/1/statuses', 201]
    ] as const) {
      const op = this.find(method, path)
      const schema = (op?.responses[String(status)] as { content?: Record<string, { schema?: unknown }> })?.content?.[
        'application/json'
      ]?.schema
      if (op && schema) this.validator(`res ${op.method} ${op.template} ${status}`, schema)
    }
  }

  /** The operation for a request: among matching templates the one with the fewest parameters. */
  private find(method: string, path: string): Operation | undefined {
    let best: Operation | undefined
    for (const op of this.ops) {
      if (op.method === method && op.re.test(path) && (!best || op.params < best.params)) best = op
    }
    return best
  }

  private validator(key: string, schema: unknown): Validate {
    let validate = this.compiled.get(key)
    if (!validate) {
      // refs inside the description point at its components, registered as "gh"
      const rooted = JSON.parse(JSON.stringify(schema).replaceAll('"$ref":"#/', '"$ref":"gh#/'))
      validate = this.ajv.compile(rooted)
      this.compiled.set(key, validate)
    }
    return validate
  }

  /** Also GraphQL documents that do not fit GitHub's schema (graphql.ts). */
  record(misfit: Omit<Misfit, 'id'>): void {
    this.misfits.push({ id: ++this.seq, ...misfit })
    if (this.misfits.length > 1000) this.misfits.shift()
  }

  get lastId(): number {
    return this.seq
  }

  /** A request body the action sent (JSON), or a request no operation describes. */
  checkRequest(method: string, path: string, body: unknown): void {
    this.guard('request', method, path, () => this.requestFits(method, path, body))
  }

  /** An answer of the emulator (JSON body). */
  checkResponse(method: string, path: string, status: number, body: unknown): void {
    this.guard('response', method, path, () => this.responseFits(method, path, status, body))
  }

  /** A schema the validator cannot compile is a misfit too, never an emulator crash. */
  private guard(kind: Misfit['kind'], method: string, path: string, check: () => void): void {
    try {
      check()
    } catch (error) {
      this.record({ kind, method, path, errors: [`validator: ${(error as Error).message}`] })
    }
  }

  private requestFits(method: string, path: string, body: unknown): void {
    const op = this.find(method, path)
    if (!op) {
      this.record({ kind: 'request', method, path, errors: ['no operation in the description matches'] })
      return
    }
    if (!op.requestSchema || body === undefined) return
    const validate = this.validator(`req ${op.method} ${op.template}`, op.requestSchema)
    if (!validate(body)) {
      this.record({ kind: 'request', method, path, operation: op.template, errors: describe(validate) })
    }
  }

  private responseFits(method: string, path: string, status: number, body: unknown): void {
    const op = this.find(method, path)
    if (!op) return // reported with the request
    let response = op.responses[String(status)] as { $ref?: string; content?: Record<string, { schema?: unknown }> }
    if (!response) {
      // Bad credentials, missing permissions, rate limits and server errors answer any endpoint on GitHub,
      // documented there or not.
      if (status === 401 || status === 403 || status === 429 || status >= 500) return
      this.record({
        kind: 'response',
        method,
        path,
        status,
        operation: op.template,
        errors: [`status ${status} is not among the documented ${Object.keys(op.responses).join(', ')}`]
      })
      return
    }
    if (response.$ref) response = this.responseRefs[response.$ref.split('/').pop()!] as typeof response
    const schema = response?.content?.['application/json']?.schema
    if (!schema) return
    const validate = this.validator(`res ${op.method} ${op.template} ${status}`, schema)
    if (!validate(body)) {
      this.record({ kind: 'response', method, path, status, operation: op.template, errors: describe(validate) })
    }
  }
}

function describe(validate: Validate): string[] {
  return (validate.errors ?? []).map(e => `${e.instancePath || '/'} ${e.message ?? ''}`)
}

/** OpenAPI 3.0's `nullable` beside a `$ref` or `allOf` (no `type`) as JSON Schema: `anyOf` with null. */
function openApi30ToAjv(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(openApi30ToAjv)
  if (typeof node !== 'object' || node === null) return node
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) out[key] = openApi30ToAjv(value)
  if (out.nullable === true && out.type === undefined) {
    delete out.nullable
    return { anyOf: [out, { type: 'null' }] }
  }
  return out
}
