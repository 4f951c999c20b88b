// The layers of src/ (see README, design notes), checked on every import, type-only included:
//
//   entry points (main, cli, index, stages = the composition root)
//   pipeline          order and failure policy; owns the stage ports
//   build | gitops | kube | report     one folder per stage, none imports another
//   render            env files → objects (kustomize, charts); shared by gitops and kube
//   host              GitHub Actions runner or terminal
//   config            inputs → validated config
//   image             image references
//   lib               generic helpers
//
// An import may only go down. The pipeline sees the stages it drives (build, gitops, kube) as
// types only: it runs them through the ports the composition root wires.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from '@jest/globals'
import ts from 'typescript'

const SRC = path.resolve('src')

const LAYERS: ReadonlyArray<readonly string[]> = [
  ['lib'],
  ['image'],
  ['config'],
  ['host'],
  ['render'],
  ['build', 'gitops', 'kube', 'report'],
  ['pipeline'],
  ['<entry>']
]
/** Stages the pipeline may only import types from. */
const DRIVEN_STAGES = new Set(['build', 'gitops', 'kube'])

interface Import {
  from: string
  to: string
  typeOnly: boolean
}

/** `src/kube/apply.ts` → `kube`; files directly in src/ are entry points. */
function moduleOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep)
  return parts.length === 1 ? '<entry>' : parts[0]
}

function layerOf(module: string): number {
  const index = LAYERS.findIndex(layer => layer.includes(module))
  if (index < 0) throw new Error(`src/${module} is in no layer: add it to LAYERS and to README's diagram`)
  return index
}

/** Relative imports and re-exports of a source text, resolved to .ts files. */
function importsOf(file: string, text: string): Import[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS)
  const found: Import[] = []
  const add = (specifier: ts.Expression | undefined, typeOnly: boolean): void => {
    if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return
    const to = path.resolve(path.dirname(file), specifier.text).replace(/\.js$/, '.ts')
    found.push({ from: file, to, typeOnly })
  }
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause
      const bindings = clause?.namedBindings
      const allTypes =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name &&
            !!bindings &&
            ts.isNamedImports(bindings) &&
            bindings.elements.length > 0 &&
            bindings.elements.every(e => e.isTypeOnly)))
      add(node.moduleSpecifier, allTypes)
    } else if (ts.isExportDeclaration(node)) {
      const allTypes =
        node.isTypeOnly ||
        (!!node.exportClause &&
          ts.isNamedExports(node.exportClause) &&
          node.exportClause.elements.every(e => e.isTypeOnly))
      add(node.moduleSpecifier, allTypes)
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], false)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal as ts.Expression, true)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

/** Every rule an import breaks, as readable lines. */
function layerViolations(imports: readonly Import[]): string[] {
  const problems: string[] = []
  for (const { from, to, typeOnly } of imports) {
    const [a, b] = [moduleOf(from), moduleOf(to)]
    if (a === b) continue
    const where = `${path.relative(SRC, from)} imports ${path.relative(SRC, to)}`
    if (layerOf(b) > layerOf(a)) problems.push(`${where}: ${b} is above ${a}`)
    else if (layerOf(b) === layerOf(a)) problems.push(`${where}: one stage imports another`)
    else if (a === 'pipeline' && DRIVEN_STAGES.has(b) && !typeOnly)
      problems.push(`${where}: the pipeline runs stages only through its ports (import types only)`)
  }
  return problems
}

/** The import cycles among files (strongly connected components of more than one file, or a self-import). */
function importCycles(imports: readonly Import[]): string[][] {
  const edges = new Map<string, string[]>()
  for (const { from, to } of imports) edges.set(from, [...(edges.get(from) ?? []), to])
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  let next = 0
  const connect = (node: string): void => {
    index.set(node, next)
    low.set(node, next++)
    stack.push(node)
    onStack.add(node)
    for (const to of edges.get(node) ?? []) {
      if (!index.has(to)) {
        connect(to)
        low.set(node, Math.min(low.get(node)!, low.get(to)!))
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node)!, index.get(to)!))
    }
    if (low.get(node) !== index.get(node)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(path.relative(SRC, member))
    } while (member !== node)
    if (component.length > 1 || (edges.get(node) ?? []).includes(node)) cycles.push(component.sort())
  }
  for (const node of edges.keys()) if (!index.has(node)) connect(node)
  return cycles
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

const imports = sourceFiles(SRC).flatMap(file => importsOf(file, readFileSync(file, 'utf8')))

describe('architecture of src/', () => {
  it('reads the imports of every file', () => {
    expect(imports.length).toBeGreaterThan(100)
    expect(imports).toContainEqual({
      from: path.join(SRC, 'pipeline', 'pipeline.ts'),
      to: path.join(SRC, 'pipeline', 'ports.ts'),
      typeOnly: false
    })
  })

  it('has no import cycle, type-only imports included', () => {
    expect(importCycles(imports)).toEqual([])
  })

  it('imports only downwards: no stage imports the pipeline or another stage', () => {
    expect(layerViolations(imports)).toEqual([])
  })

  // The checks themselves, on planted imports.
  const file = (relative: string): string => path.join(SRC, relative)
  it.each<[string, Import[], string | undefined]>([
    ['report → pipeline', [{ from: file('report/x.ts'), to: file('pipeline/y.ts'), typeOnly: true }], 'is above'],
    ['stage → stage', [{ from: file('kube/x.ts'), to: file('gitops/y.ts'), typeOnly: true }], 'another'],
    ['config → host', [{ from: file('config/x.ts'), to: file('host/y.ts'), typeOnly: false }], 'is above'],
    ['pipeline runs a stage', [{ from: file('pipeline/x.ts'), to: file('kube/y.ts'), typeOnly: false }], 'ports'],
    ['pipeline reads stage types', [{ from: file('pipeline/x.ts'), to: file('kube/y.ts'), typeOnly: true }], undefined],
    ['entry wires stages', [{ from: file('stages.ts'), to: file('kube/y.ts'), typeOnly: false }], undefined]
  ])('flags %s', (_name, planted, problem) => {
    const found = layerViolations(planted)
    if (problem) expect(found).toEqual([expect.stringContaining(problem)])
    else expect(found).toEqual([])
  })

  it('flags a cycle made of type-only imports', () => {
    const a = file('kube/a.ts')
    const b = file('kube/b.ts')
    expect(
      importCycles([
        { from: a, to: b, typeOnly: true },
        { from: b, to: a, typeOnly: true }
      ])
    ).toEqual([['kube/a.ts', 'kube/b.ts']])
  })

  it('sees type-only imports and re-exports', () => {
    const found = importsOf(
      file('kube/x.ts'),
      "import type { A } from './a.js'\nimport { type B } from './b.js'\nimport { C } from './c.js'\nexport type { D } from './d.js'\nexport * from './e.js'\ntype F = import('./f.js').F\n"
    ).map(i => [path.basename(i.to), i.typeOnly])
    expect(found).toEqual([
      ['a.ts', true],
      ['b.ts', true],
      ['c.ts', false],
      ['d.ts', true],
      ['e.ts', false],
      ['f.ts', true]
    ])
  })
})
