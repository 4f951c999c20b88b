import { type RenderedSummary } from '../host/host.js'
import { driftLine, type DriftRow, type ResourceRow, type RunReport } from './run-report.js'

const HEADLINE: Record<RunReport['status'], string> = {
  deployed: '✅ Deployed',
  committed: '✅ Committed (applying left to the cluster operator)',
  unchanged: '✅ Unchanged (the environment already runs this image)',
  reconciled: '🔄 Reconciled (Git was current; the cluster was brought back to it)',
  drifted: '⚠️ Drifted (the cluster differs from Git; nothing committed or applied)',
  proposed: '📝 Proposed in a pull request',
  planned: '📋 Planned (dry run: nothing committed or applied)',
  'rolled-back': '↩️ Rolled back after a failed rollout',
  failed: '❌ Failed',
  cancelled: '⏹️ Cancelled (the cluster was left as it was)'
}

function link(text: string, url: string | undefined): string {
  return url ? `[${text}](${url})` : text
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>')
}

function resourceTable(rows: ResourceRow[]): string[] {
  if (rows.length === 0) return []
  return [
    '| kind | name | result | seconds | message |',
    '|---|---|---|---|---|',
    ...rows.map(
      row =>
        `| ${row.kind} | ${escapeCell(row.namespace ? `${row.namespace}/${row.name}` : row.name)} | ${row.status} | ${
          row.seconds === undefined ? '' : row.seconds.toFixed(1)
        } | ${escapeCell(row.message)} |`
    )
  ]
}

function driftTable(rows: DriftRow[]): string[] {
  if (rows.length === 0) return []
  return [
    '### Drift (cluster against Git, before this run)',
    '',
    '| state | kind | name | fields | other managers |',
    '|---|---|---|---|---|',
    ...rows.map(
      row =>
        `| ${row.state} | ${row.kind} | ${escapeCell(row.namespace ? `${row.namespace}/${row.name}` : row.name)} | ${escapeCell(
          row.fields.join(', ')
        )} | ${escapeCell(row.managers.join(', '))} |`
    ),
    ''
  ]
}

function fence(text: string, lang = ''): string[] {
  return ['', '```' + lang, text.trimEnd(), '```', '']
}

/** `create    ClusterRoleBinding pwn`, with a count per action first. */
function planLines(report: RunReport): string[] {
  if (!report.plan || report.plan.length === 0) return []
  const counts = new Map<string, number>()
  for (const { action } of report.plan) counts.set(action, (counts.get(action) ?? 0) + 1)
  return [
    [...counts].map(([action, count]) => `${count} ${action}`).join(', '),
    ...report.plan.map(({ object, action }) => `${action.padEnd(9)} ${object}`)
  ]
}

/** The job summary as markdown (GITHUB_STEP_SUMMARY) and as plain text (CLI stderr). */
export function renderSummary(report: RunReport): RenderedSummary {
  const md: string[] = [`## GitOps Push Deploy: ${HEADLINE[report.status]}`, '']
  const facts: Array<[string, string]> = []
  if (report.image) facts.push(['Image', `\`${report.previousImage || '(none)'}\` → \`${report.image}\``])
  if (report.envCommit) facts.push(['Env commit', link(report.envCommit.sha.slice(0, 7), report.envCommit.url)])
  if (report.revertCommit)
    facts.push(['Revert commit', link(report.revertCommit.sha.slice(0, 7), report.revertCommit.url)])
  if (report.pullRequestUrl) facts.push(['Pull request', link(report.pullRequestUrl, report.pullRequestUrl)])
  if (report.rolloutSeconds !== undefined) facts.push(['Rollout', `${report.rolloutSeconds.toFixed(1)} s`])
  if (report.deploymentId !== undefined) facts.push(['GitHub Deployment', String(report.deploymentId)])
  for (const [name, value] of facts) md.push(`- **${name}:** ${value}`)
  md.push('', ...driftTable(report.drift ?? []))
  md.push('', ...resourceTable(report.resources))
  if (report.failure) md.push('', '### Failure', ...fence(report.failure))
  if (report.rollback) {
    md.push(
      '',
      `### Rollback: ${report.rollback.ok ? 'succeeded' : 'FAILED'} (${report.rollback.seconds.toFixed(1)} s)`
    )
    md.push('', ...resourceTable(report.rollback.resources))
    if (report.rollback.failure) md.push(...fence(report.rollback.failure))
  }
  if (report.timings.length > 0) {
    md.push('', `<sub>${report.timings.map(([name, seconds]) => `${name}: ${seconds.toFixed(2)} s`).join(' · ')}</sub>`)
  }
  const plan = planLines(report)
  if (plan.length > 0) md.push('', `### Plan (server-side dry run)`, ...fence(plan.join('\n')))
  if (report.diff) md.push('', '<details><summary>Env-repo diff</summary>', ...fence(report.diff, 'diff'), '</details>')

  const text: string[] = [`GitOps Push Deploy: ${HEADLINE[report.status]}`]
  for (const [name, value] of facts)
    text.push(`  ${name}: ${value.replace(/\[([^\]]*)\]\(([^)]*)\)/g, '$1 ($2)').replace(/`/g, '')}`)
  const rows = (title: string, list: ResourceRow[]): void => {
    if (list.length === 0) return
    text.push(`  ${title}:`)
    for (const row of list) {
      const seconds = row.seconds === undefined ? '' : ` ${row.seconds.toFixed(1)}s`
      text.push(
        `    ${row.kind}/${row.namespace ? `${row.namespace}/` : ''}${row.name}: ${row.status}${seconds}${row.message ? ` — ${row.message}` : ''}`
      )
    }
  }
  if (report.drift && report.drift.length > 0) {
    text.push('  Drift:')
    for (const row of report.drift) text.push(`    ${driftLine(row)}`)
  }
  rows('Resources', report.resources)
  if (report.failure) text.push('  Failure:', ...report.failure.split('\n').map(line => `    ${line}`))
  if (report.rollback) {
    text.push(`  Rollback: ${report.rollback.ok ? 'succeeded' : 'FAILED'} (${report.rollback.seconds.toFixed(1)} s)`)
    rows('Rollback resources', report.rollback.resources)
    if (report.rollback.failure) text.push(...report.rollback.failure.split('\n').map(line => `    ${line}`))
  }
  if (report.timings.length > 0) {
    text.push(`  Timings: ${report.timings.map(([name, seconds]) => `${name} ${seconds.toFixed(2)}s`).join(', ')}`)
  }
  if (plan.length > 0) text.push('  Plan (server-side dry run):', ...plan.map(line => `    ${line}`))
  if (report.diff)
    text.push(
      '  Env-repo diff:',
      ...report.diff
        .trimEnd()
        .split('\n')
        .map(line => `    ${line}`)
    )
  return { markdown: `${md.join('\n')}\n`, text: text.join('\n') }
}
