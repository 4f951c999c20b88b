// The `edit` command on a 100-file env path: edit + render check (both trees rendered), end to
// end from reading the checkout to writing it. Without kustomize builds (100 plain manifests)
// and with three overlays over a 97-file base (six kubectl kustomize builds: before and after).
// Goals (issue 11): under 1 s and under 2 s. Prints the median and the slowest of RUNS runs.
// Usage: node bench/gitops-edit-render.mjs   (needs kubectl or kustomize on PATH for the overlays)
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { importSource } from './lib/import-source.mjs'

const RUNS = 5
const IMAGE = 'registry.local:5000/team/api'
const { runEdit } = await importSource("export { runEdit } from './src/cli-edit.ts'\n")

function deployment(i, image) {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${i}
spec:
  selector:
    matchLabels: {app: app-${i}}
  template:
    metadata:
      labels: {app: app-${i}}
    spec:
      containers:
      - name: app
        image: ${image}
        env:
        - {name: INDEX, value: "${i}"}
`
}

function write(dir, files) {
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true })
    writeFileSync(path.join(dir, file), content)
  }
}

/** 100 files: every tenth names the image, the rest other images. */
function plain() {
  const files = {}
  for (let i = 0; i < 100; i++)
    files[`env/app-${i}.yaml`] = deployment(i, i % 10 === 0 ? `${IMAGE}:1.9` : `nginx:1.${i}`)
  return files
}

/** 97 base files and three overlays setting the tag (100 files). */
function overlays() {
  const files = {}
  const base = []
  for (let i = 0; i < 96; i++) {
    files[`env/base/app-${i}.yaml`] = deployment(i, i % 10 === 0 ? `${IMAGE}:1.9` : `nginx:1.${i}`)
    base.push(`- app-${i}.yaml`)
  }
  files['env/base/kustomization.yaml'] = `resources:\n${base.join('\n')}\n`
  for (const name of ['dev', 'staging', 'prod']) {
    files[`env/overlays/${name}/kustomization.yaml`] =
      `namespace: ${name}\nresources:\n- ../../base\nimages:\n- name: ${IMAGE}\n  newTag: "1.9"\n`
  }
  return files
}

async function measure(label, files) {
  const source = mkdtempSync(path.join(os.tmpdir(), 'bench-edit-'))
  write(source, files)
  const times = []
  try {
    for (let run = 0; run < RUNS; run++) {
      const dir = `${source}-run${run}`
      cpSync(source, dir, { recursive: true })
      let errors = ''
      const started = performance.now()
      const code = await runEdit(['--image', IMAGE, '--tag', '1.10', '--env-path', 'env', '--dir', dir], {
        stdout: () => undefined,
        stderr: text => (errors += text)
      })
      times.push(performance.now() - started)
      rmSync(dir, { recursive: true, force: true })
      if (code !== 0) throw new Error(`${label}: exit ${code}\n${errors}`)
    }
  } finally {
    rmSync(source, { recursive: true, force: true })
  }
  times.sort((a, b) => a - b)
  const median = times[Math.floor(times.length / 2)]
  console.log(
    `${label.padEnd(44)} median ${(median / 1000).toFixed(2)} s, slowest ${(times.at(-1) / 1000).toFixed(2)} s`
  )
}

await measure('100 plain manifests (no kustomize build)', plain())
await measure('97-file base + 3 overlays (6 kustomize builds)', overlays())
