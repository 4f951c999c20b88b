import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from '@jest/globals'
import {
  chartPlan,
  chartRoots,
  type ChartRelease,
  helmRenderer,
  hookOf,
  missingDependencies,
  parseChartFile,
  renderCharts,
  templateArgs
} from '../../src/kube/helm.js'
import { Deadline } from '../../src/lib/deadline.js'
import { hookGroups, hooksToDelete, runHooks } from '../../src/kube/hooks.js'
import { type PreparedObject } from '../../src/kube/apply.js'
import { ManifestError, readManifests, renderFiles } from '../../src/render/manifests.js'
import { type KubeObject } from '../../src/kube/types.js'

const file = (path: string, content = ''): { path: string; content: string } => ({ path, content })
const chart = (dir: string, name = dir.split('/').pop()): Array<{ path: string; content: string }> => [
  file(`${dir}/Chart.yaml`, `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`),
  file(`${dir}/values.yaml`, 'image: {repository: web, tag: "1"}\n'),
  file(`${dir}/templates/deploy.yaml`, 'kind: {{ .Values.kind }}\n')
]

describe('chartPlan', () => {
  it('renders a local chart as it is, named after its folder; sub-charts belong to it', () => {
    const files = [...chart('apps/web'), ...chart('apps/web/charts/redis'), file('apps/other.yaml')]
    expect(chartRoots(files)).toEqual(['apps/web'])
    const plan = chartPlan(files)
    expect(plan.problems).toEqual([])
    expect(plan.releases).toEqual([
      { source: 'apps/web/Chart.yaml', local: 'apps/web', releaseName: 'web', valuesFiles: [] }
    ])
    expect([...plan.owned].sort()).toEqual(
      files
        .filter(f => f.path !== 'apps/other.yaml')
        .map(f => f.path)
        .sort()
    )
  })

  it('takes the release name from the input, and the chart file over both', () => {
    const files = [...chart('env/app')]
    expect(chartPlan(files, 'shop').releases[0].releaseName).toBe('shop')
    const withFile = [
      ...files,
      file('env/helm-chart.yaml', 'chart: ./app\nreleaseName: web-prod\nvaluesFiles: [values-prod.yaml]'),
      file('env/values-prod.yaml', 'replicas: 3')
    ]
    const plan = chartPlan(withFile, 'shop')
    expect(plan.problems).toEqual([])
    expect(plan.releases).toEqual([
      {
        source: 'env/helm-chart.yaml',
        local: 'env/app',
        releaseName: 'web-prod',
        namespace: undefined,
        valuesFiles: ['env/values-prod.yaml'],
        values: undefined
      }
    ])
    expect(plan.owned.has('env/values-prod.yaml')).toBe(true)
    // a chart file without releaseName: its folder's name (the env's, not the chart's)
    expect(chartPlan([...files, file('env/helm-chart.yaml', 'chart: app')]).releases[0].releaseName).toBe('env')
    expect(chartPlan([...chart('app'), file('helm-chart.yaml', 'chart: app')]).releases[0].releaseName).toBe('app')
  })

  it('reads a chart from a registry with its values files and inline values', () => {
    const plan = chartPlan([
      file(
        'apps/podinfo/helm-chart.yaml',
        [
          'chart: podinfo',
          'repoURL: oci://ghcr.io/stefanprodan/charts',
          'version: 6.7.0',
          'namespace: web',
          'valuesFiles: [values-prod.yaml]',
          'values: {replicaCount: 2}'
        ].join('\n')
      ),
      file('apps/podinfo/values-prod.yaml', 'image: {repository: ghcr.io/acme/web, tag: "1"}')
    ])
    expect(plan.problems).toEqual([])
    expect(plan.releases).toEqual([
      {
        source: 'apps/podinfo/helm-chart.yaml',
        remote: { chart: 'podinfo', repoURL: 'oci://ghcr.io/stefanprodan/charts', version: '6.7.0' },
        releaseName: 'podinfo',
        namespace: 'web',
        valuesFiles: ['apps/podinfo/values-prod.yaml'],
        values: { replicaCount: 2 }
      }
    ])
  })

  it.each([
    ['chart: ./missing', 'env/helm-chart.yaml: chart "./missing" is no chart folder (with Chart.yaml) under env-path'],
    [
      'chart: oci://r/c\nversion: 1.0.0\nvaluesFiles: [nope.yaml]',
      'env/helm-chart.yaml: values file "nope.yaml" not found under env-path'
    ]
  ])('reports %j', (content, problem) => {
    expect(chartPlan([file('env/helm-chart.yaml', content)]).problems).toEqual([problem])
  })
})

describe('parseChartFile', () => {
  it.each([
    ['version: 1.0.0', 'chart is required'],
    ['chart: web\nrepoURL: ftp://x', 'repoURL must start with oci://, https:// or http://'],
    ['chart: web\nrepoURL: https://charts.example.com', 'version is required for a chart from a registry'],
    ['chart: oci://r/web', 'version is required for a chart from a registry'],
    ['chart: ./web\nversion: 1.0.0', 'version applies only to a chart from a registry'],
    ['chart: oci://r/web\nrepoURL: oci://r\nversion: 1', 'chart must be a chart name when repoURL is set'],
    ['chart: ./web\nvaluesFiles: values.yaml', 'valuesFiles must be a list of file paths'],
    ['chart: ./web\nvalues: [1]', 'values must be a mapping'],
    ['chart: ./web\ntargetRevision: 1', 'targetRevision is not a chart file field'],
    ['- chart', 'is not a mapping'],
    ['chart: a\nchart: b', 'Map keys must be unique']
  ])('%j: %s', (content, problem) => {
    const parsed = parseChartFile(file('helm-chart.yaml', content))
    expect('problems' in parsed && parsed.problems.some(p => p.startsWith(`helm-chart.yaml: ${problem}`))).toBe(true)
  })
})

describe('templateArgs', () => {
  const release = (over: Partial<ChartRelease>): ChartRelease => ({
    source: 'x/helm-chart.yaml',
    releaseName: 'web',
    valuesFiles: [],
    ...over
  })
  it.each([
    [
      'local chart',
      release({ local: 'x/app' }),
      ['template', 'web', '/w/x/app', '--namespace', 'prod', '--include-crds', '--skip-tests', '--values', '/w/v.yaml']
    ],
    [
      'OCI repoURL',
      release({ remote: { chart: 'podinfo', repoURL: 'oci://127.0.0.1:5001/charts/', version: '1.0.0' } }),
      [
        'template',
        'web',
        'oci://127.0.0.1:5001/charts/podinfo',
        '--version',
        '1.0.0',
        '--plain-http',
        '--namespace',
        'prod',
        '--include-crds',
        '--skip-tests',
        '--values',
        '/w/v.yaml'
      ]
    ],
    [
      'chart repository',
      release({
        remote: { chart: 'podinfo', repoURL: 'https://charts.example.com', version: '1.0.0' },
        namespace: 'n'
      }),
      [
        'template',
        'web',
        'podinfo',
        '--repo',
        'https://charts.example.com',
        '--version',
        '1.0.0',
        '--namespace',
        'n',
        '--include-crds',
        '--skip-tests',
        '--values',
        '/w/v.yaml'
      ]
    ]
  ])('%s', (_, r, args) => {
    expect(
      templateArgs(r, { namespace: 'prod', plainHttp: true }, { chartPath: '/w/x/app', valuesPaths: ['/w/v.yaml'] })
    ).toEqual(args)
  })
})

describe('missingDependencies', () => {
  it('names dependencies not unpacked under charts/', () => {
    const files = [
      file('app/Chart.yaml', 'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: redis}\n- {name: db}'),
      file('app/charts/redis/Chart.yaml', 'name: redis')
    ]
    expect(missingDependencies(files, 'app')).toEqual(['db'])
    expect(missingDependencies([file('Chart.yaml', 'name: a')], '.')).toEqual([])
  })
})

describe('hookOf', () => {
  const object = (annotations?: Record<string, string>): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', annotations }
  })
  it.each([
    [undefined, undefined],
    [
      { 'helm.sh/hook': 'pre-install,pre-upgrade' },
      { phase: 'pre', weight: 0, deletePolicies: ['before-hook-creation'] }
    ],
    [
      { 'helm.sh/hook': 'post-upgrade', 'helm.sh/hook-weight': '-5', 'helm.sh/hook-delete-policy': 'hook-succeeded' },
      { phase: 'post', weight: -5, deletePolicies: ['hook-succeeded'] }
    ],
    [{ 'helm.sh/hook': 'test' }, 'skip'],
    [{ 'helm.sh/hook': 'pre-rollback,post-delete' }, 'skip']
  ])('%j → %j', (annotations, expected) => {
    expect(hookOf(object(annotations))).toEqual(expected)
  })
})

describe('hook order and delete policy', () => {
  const hook = (name: string, phase: 'pre' | 'post', weight: number, deletePolicies: string[]): PreparedObject =>
    ({ describe: name, hook: { phase, weight, deletePolicies } }) as unknown as PreparedObject
  const hooks = [
    hook('a', 'pre', 5, ['hook-succeeded']),
    hook('b', 'pre', -1, ['hook-failed']),
    hook('c', 'post', 0, []),
    hook('d', 'pre', 5, ['before-hook-creation', 'hook-succeeded', 'hook-failed']),
    { describe: 'main' } as PreparedObject
  ]
  it('groups each phase by weight, lowest first', () => {
    expect(hookGroups(hooks, 'pre').map(g => g.map(p => p.describe))).toEqual([['b'], ['a', 'd']])
    expect(hookGroups(hooks, 'post').map(g => g.map(p => p.describe))).toEqual([['c']])
  })
  it('deletes per hook-succeeded / hook-failed', () => {
    expect(hooksToDelete(hooks, true).map(p => p.describe)).toEqual(['a', 'd'])
    expect(hooksToDelete(hooks, false).map(p => p.describe)).toEqual(['b', 'd'])
  })
})

describe('rendering charts (helm replaced by a recorder)', () => {
  it('runs helm template per release with the files on disk, logs in to OCI only on the registry host', async () => {
    const calls: Array<{ args: string[]; input?: string; values?: string }> = []
    const files = [
      ...chart('env/app'),
      file('env/app/charts/sub/Chart.yaml', 'apiVersion: v2\nname: sub\nversion: 0.1.0'),
      file('env/helm-chart.yaml', 'chart: ./app\nvaluesFiles: [prod.yaml]\nvalues: {a: 1}'),
      file('env/prod.yaml', 'replicas: 2'),
      file('env/oci/helm-chart.yaml', 'chart: oci://127.0.0.1:5002/charts/web\nversion: 1.2.3'),
      file('env/other/helm-chart.yaml', 'chart: oci://ghcr.io/x/web\nversion: 1.0.0')
    ]
    const rendered = await renderCharts(
      chartPlan(files).releases,
      files,
      '/work',
      { namespace: 'prod', registry: { host: '127.0.0.1:5002', username: 'u', password: 'secret' }, plainHttp: true },
      async (args, options) => {
        const inline = args.find(a => a.endsWith('.json'))
        calls.push({ args, input: options.input, values: inline && readFileSync(inline, 'utf8') })
        expect(options.env.HELM_REGISTRY_CONFIG).toContain('gitops-push-deploy-helm-')
        return args[0] === 'template' ? `# ${args[1]}` : ''
      }
    )
    expect(rendered.map(r => ('yaml' in r ? r.yaml : r.error))).toEqual(['# env', '# oci', '# other'])
    expect(calls.map(c => c.args.slice(0, 3).join(' '))).toEqual([
      'template env /work/env/app',
      'registry login 127.0.0.1:5002',
      'template oci oci://127.0.0.1:5002/charts/web',
      'template other oci://ghcr.io/x/web'
    ])
    expect(calls[0].args).toContain('/work/env/prod.yaml')
    expect(calls[0].values).toBe('{"a":1}')
    // the password goes to stdin, never to the command line
    expect(calls[1].input).toBe('secret')
    expect(calls.flatMap(c => c.args)).not.toContain('secret')
  })

  it('builds dependencies missing from charts/ first', async () => {
    const files = [
      file('app/Chart.yaml', 'apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies: [{name: db, version: 1.0.0}]')
    ]
    const calls: string[] = []
    await renderCharts(chartPlan(files).releases, files, '/w', { namespace: 'n' }, async args => {
      calls.push(args.slice(0, 2).join(' '))
      return ''
    })
    expect(calls).toEqual(['dependency build', 'template app'])
  })

  it('says helm is missing, naming the chart', async () => {
    const path = process.env.PATH
    process.env.PATH = '/nonexistent'
    try {
      const error = await readManifests(chart('apps/web'), files =>
        renderFiles(files, [helmRenderer({ namespace: 'default' })])
      ).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ManifestError)
      expect((error as ManifestError).problems).toEqual([
        'helm template web apps/web/Chart.yaml: helm is not on PATH; install helm (v3) to deploy a Helm chart'
      ])
    } finally {
      process.env.PATH = path
    }
  })

  it('says helm is missing when the helm on PATH cannot be run, naming the chart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-helm-'))
    writeFileSync(join(dir, 'helm'), '#!/bin/sh\n', { mode: 0o644 }) // not executable
    const path = process.env.PATH
    process.env.PATH = dir
    try {
      const error = await readManifests(chart('apps/web'), files =>
        renderFiles(files, [helmRenderer({ namespace: 'default' })])
      ).catch((e: unknown) => e)
      expect((error as ManifestError).problems).toEqual([
        'helm template web apps/web/Chart.yaml: helm is not on PATH; install helm (v3) to deploy a Helm chart'
      ])
    } finally {
      process.env.PATH = path
      rmSync(dir, { recursive: true })
    }
  })

  it('applies rendered objects in the release namespace, drops test hooks and keeps other hooks marked', async () => {
    const rendered = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: t, annotations: {helm.sh/hook: test}}',
      'apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, annotations: {helm.sh/hook: pre-upgrade}}'
    ].join('\n---\n')
    const manifests = await readManifests(
      [...chart('apps/web'), file('apps/web/helm-chart.yaml', 'chart: .\nnamespace: shop'), file('apps/cm.yaml', '')],
      files => renderFiles(files, [helmRenderer({ namespace: 'default', run: async () => rendered })])
    )
    expect(manifests.map(m => [m.object.metadata.name, m.namespace, m.hook?.phase, m.source])).toEqual([
      ['c', 'shop', undefined, 'helm template web apps/web/helm-chart.yaml (document 1)'],
      ['j', 'shop', 'pre', 'helm template web apps/web/helm-chart.yaml (document 3)']
    ])
  })
})

describe('runHooks (applier and tracker recorded)', () => {
  const hook = (name: string, weight: number, deletePolicies: string[], phase: 'pre' | 'post' = 'pre') =>
    ({
      describe: `Job ns/${name}`,
      object: { apiVersion: 'batch/v1', kind: 'Job', metadata: { name } },
      namespace: 'ns',
      hook: { phase, weight, deletePolicies }
    }) as unknown as PreparedObject

  function recorder(failing: string[] = []) {
    const calls: string[] = []
    const applier = {
      async deleteAndWait(p: PreparedObject) {
        calls.push(`delete ${p.object.metadata.name}`)
        return true
      },
      async applyWaves(group: PreparedObject[]) {
        calls.push(`apply ${group.map(p => p.object.metadata.name).join(',')}`)
        const applied = group.map(p => ({
          apiVersion: 'batch/v1',
          kind: 'Job',
          namespace: 'ns',
          name: p.object.metadata.name,
          resourceVersion: '1',
          uid: 'u',
          created: true
        }))
        return { applied, failed: [] }
      }
    }
    const track = async (targets: Array<{ name: string }>) => {
      calls.push(`wait ${targets.map(t => t.name).join(',')}`)
      const bad = targets.find(t => failing.includes(t.name))
      return {
        ok: !bad,
        resources: [],
        failure: bad ? `Job ns/${bad.name}: BackoffLimitExceeded` : undefined,
        seconds: 0
      }
    }
    return { calls, applier, track }
  }

  it('runs each weight in turn, replacing old copies first and deleting per policy', async () => {
    const { calls, applier, track } = recorder()
    const prepared = [
      hook('b', 1, ['hook-succeeded']),
      hook('a', 0, ['before-hook-creation']),
      hook('later', 0, [], 'post')
    ]
    const result = await runHooks(applier, track, prepared, 'pre', new Deadline(60_000), () => {})
    expect(result.ok).toBe(true)
    expect(calls).toEqual(['delete a', 'apply a', 'wait a', 'apply b', 'wait b', 'delete b'])
  })

  it('stops at the first failing group and deletes per hook-failed', async () => {
    const { calls, applier, track } = recorder(['a'])
    const prepared = [hook('a', 0, ['hook-failed']), hook('b', 1, [])]
    const result = await runHooks(applier, track, prepared, 'pre', new Deadline(60_000), () => {})
    expect(result).toEqual({
      ok: false,
      resources: [],
      failure: 'Helm pre-hook failed: Job ns/a: BackoffLimitExceeded'
    })
    expect(calls).toEqual(['apply a', 'wait a', 'delete a'])
  })

  it("waits within the run's deadline and starts no group once it ran out", async () => {
    const { calls, applier } = recorder()
    let now = 0
    const deadline = new Deadline(2_000, { now: () => now, sleep: async ms => void (now += ms) })
    const handed: Deadline[] = []
    // A hook Job that takes longer than the budget left: the wait spends all of it.
    const track = async (targets: Array<{ name: string }>, _since: Date, until: Deadline) => {
      handed.push(until)
      calls.push(`wait ${targets.map(t => t.name).join(',')}`)
      await until.sleep(60_000)
      return { ok: true, resources: [], seconds: 0 }
    }
    const prepared = [hook('a', 0, []), hook('b', 1, [])]
    const result = await runHooks(applier, track, prepared, 'pre', deadline, () => {})
    expect(handed).toEqual([deadline])
    expect(handed[0]).toBe(deadline)
    expect(now).toBe(2_000)
    expect(result).toEqual({
      ok: false,
      resources: [],
      failure: 'Helm pre-hooks (weight 1) not run: the 2s timeout ran out'
    })
    expect(calls).toEqual(['apply a', 'wait a'])
  })
})
