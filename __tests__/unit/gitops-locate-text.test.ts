// The text helpers of locate: line starts and lines of offsets, and the lines of a file that is no
// YAML (a Helm template) naming a repository.
import { describe, expect, it } from '@jest/globals'
import { lineAt, lineStarts, mentionLines } from '../../src/gitops/locate.js'
import { parseImageRepository } from '../../src/image/reference.js'

describe('lineStarts and lineAt', () => {
  it.each<[string, number[]]>([
    ['', [0]],
    ['a', [0]],
    ['a\n', [0, 2]],
    ['\nab\n', [0, 1, 4]],
    ['\n\n', [0, 1, 2]],
    ['a\r\nbc\r\n', [0, 3, 7]]
  ])('%j starts lines at %j', (source, starts) => {
    expect(lineStarts(source)).toEqual(starts)
  })

  it.each(['', 'a', 'a\n', '\nab\n', '\n\n', 'ab\ncd\n\nef', 'a\r\nbc\r\n'])(
    '%j: every offset is on its line',
    source => {
      const starts = lineStarts(source)
      for (let offset = 0; offset <= source.length + 1; offset++) {
        expect([offset, lineAt(starts, offset)]).toEqual([offset, source.slice(0, offset).split('\n').length])
      }
    }
  )
})

describe('mentionLines', () => {
  const API = parseImageRepository('team/api')

  it('finds the lines naming the repository, with its tag or digest filled in by the template', () => {
    const template = [
      'spec:', // 1
      '  containers:', // 2
      '    - image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"', // 3: named by values only
      '    - image: team/api:{{ .Values.tag }}', // 4
      '    - image: "docker.io/team/api@{{ .Values.digest }}"', // 5
      '    - image: team/api:$(TAG)', // 6
      '    - image: team/api:${TAG}', // 7
      '    - image: team/api-canary:1', // 8: another repository
      '    - image: ghcr.io/team/api:1', // 9: another registry
      '      args: [--upstream, team/api]', // 10
      '      # {{ .Values.api.tag }} of team/web', // 11
      '{{- if .Values.api }}team/api{{ end }}' // 12
    ].join('\n')
    expect(mentionLines(template, API)).toEqual([4, 5, 6, 7, 10, 12])
  })

  it('keeps the port of a registry while cutting a tag', () => {
    const repository = parseImageRepository('registry.local:5000/team/api')
    const template = [
      'image: registry.local:5000/team/api:$(TAG)',
      'image: registry.local:5000/team/api@$DIGEST',
      'image: registry.local/team/api:$(TAG)',
      'image: {{ .Values.registry }}:5000/team/api'
    ].join('\n')
    expect(mentionLines(template, repository)).toEqual([1, 2])
  })

  it('names a Docker Hub official image by its short name', () => {
    expect(mentionLines('FROM nginx:{{ .Values.tag }}\nFROM nginx-extras\n', parseImageRepository('nginx'))).toEqual([
      1
    ])
  })
})
