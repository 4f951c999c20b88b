import { describe, expect, it } from '@jest/globals'
import { CommandFailedError, OutputTail } from '../../src/build/builder.js'

describe('OutputTail', () => {
  it('keeps the last lines, bounded in count and width, skipping blank ones', () => {
    const tail = new OutputTail(3, 10)
    for (const line of ['one', '', 'two', 'three  ', 'four', 'x'.repeat(25)]) tail.push(line)
    expect(tail.lines()).toEqual(['three', 'four', `${'x'.repeat(10)}…`])
  })
})

describe('CommandFailedError', () => {
  it('names the subcommand and exit code, then the tail', () => {
    const command = {
      tool: 'buildah' as const,
      args: ['--storage-driver', 'vfs', 'push', '--digestfile', 'd', 'x', 'docker://x']
    }
    const error = new CommandFailedError(command, 125, ['Error: pushing', 'denied'])
    expect(error.message).toBe(
      'buildah push failed with exit code 125; last lines of its output:\n  Error: pushing\n  denied'
    )
  })

  it('says only the exit code when there was no output', () => {
    expect(new CommandFailedError({ tool: 'podman', args: ['build', '.'] }, 1, []).message).toBe(
      'podman build failed with exit code 1'
    )
  })
})
