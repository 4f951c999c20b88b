import { describe, expect, it } from '@jest/globals'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { BuilderMissingError, CommandFailedError, execCommand, OutputTail } from '../../src/build/builder.js'
import { RecordingHost } from '../../test/helpers/recording-host.js'

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

describe('execCommand', () => {
  const bin = mkdtempSync(path.join(os.tmpdir(), 'build-output-test-'))
  writeFileSync(path.join(bin, 'buildah'), '#!/bin/sh\necho "buildah $*"\nexit 3\n')
  chmodSync(path.join(bin, 'buildah'), 0o755)
  writeFileSync(path.join(bin, 'podman'), '#!/bin/sh\necho not executable\n')

  it('runs the builder found on the PATH it is given', async () => {
    const result = await execCommand({ tool: 'buildah', args: ['version'] }, new RecordingHost(), false, { PATH: bin })
    expect(result).toEqual({ exitCode: 3, tail: ['buildah version'] })
  })

  it.each(['docker', 'podman'] as const)(
    'says %s is not installed when PATH has no executable of that name',
    async tool => {
      await expect(execCommand({ tool, args: ['version'] }, new RecordingHost(), false, { PATH: bin })).rejects.toEqual(
        new BuilderMissingError(tool)
      )
    }
  )
})
