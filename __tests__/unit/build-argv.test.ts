import { describe, expect, it } from '@jest/globals'
import {
  displayArgs,
  chooseBuilder,
  dockerProbe,
  parseBuildxInspect,
  commandName,
  containerOptions,
  containerToolCommands,
  dockerCommands,
  imageLabels,
  loginCommand,
  probeCommand,
  BUILDX_INSPECT,
  type AuthLocation,
  type BuildRequest,
  type ContainerOptions,
  type ProbeResult
} from '../../src/build/argv.js'

const FILES = { digestFile: '/tmp/b/digest', metadataFile: '/tmp/b/metadata.json' }
const MINIMAL: BuildRequest = {
  context: '/src',
  dockerfile: '/src/Dockerfile',
  buildArgs: [],
  platforms: [],
  labels: [],
  reference: 'ghcr.io/acme/web:v1',
  insecure: false
}
const FULL: BuildRequest = {
  context: '/src/app',
  dockerfile: '/src/app/build/Containerfile',
  buildArgs: [
    ['VERSION', '1.2.3'],
    ['EMPTY', ''],
    ['WITH_EQ', 'a=b']
  ],
  target: 'runtime',
  platforms: ['linux/amd64'],
  labels: [['org.opencontainers.image.revision', 'abc']],
  reference: 'localhost:5000/team/api:t',
  insecure: true
}
const VFS_CHROOT: ContainerOptions = { storageDriver: 'vfs', isolation: 'chroot', reasons: [] }
const DEFAULTS: ContainerOptions = { reasons: [] }

describe('docker argv', () => {
  it.each([
    [
      'minimal',
      MINIMAL,
      {},
      [
        'buildx build --file /src/Dockerfile --tag ghcr.io/acme/web:v1 --push',
        '--metadata-file /tmp/b/metadata.json --iidfile /tmp/b/digest /src'
      ].join(' '),
      undefined
    ],
    [
      'every input, insecure registry, temporary DOCKER_CONFIG',
      { ...FULL, platforms: ['linux/amd64', 'linux/arm64'] },
      { dockerConfig: '/tmp/b/docker-config' },
      [
        'buildx build --file /src/app/build/Containerfile',
        '--build-arg VERSION=1.2.3 --build-arg EMPTY= --build-arg WITH_EQ=a=b',
        '--label org.opencontainers.image.revision=abc --target runtime --platform linux/amd64,linux/arm64',
        '--tag localhost:5000/team/api:t --output type=image,push=true,registry.insecure=true',
        '--metadata-file /tmp/b/metadata.json --iidfile /tmp/b/digest /src/app'
      ].join(' '),
      { DOCKER_CONFIG: '/tmp/b/docker-config' }
    ]
  ])('%s', (_name, request, auth, argv, env) => {
    const [command, ...more] = dockerCommands(request, FILES, auth)
    expect(more).toEqual([])
    expect(command.tool).toBe('docker')
    expect(command.args.join(' ')).toBe(argv)
    expect(command.env).toEqual(env)
    expect(command.retryable).toBe(true)
  })

  it('keeps each value one argument, spaces included (no shell)', () => {
    const [command] = dockerCommands({ ...MINIMAL, buildArgs: [['MSG', 'hello world; rm -rf /']] }, FILES)
    expect(command.args).toContain('MSG=hello world; rm -rf /')
  })
})

describe('buildah and podman argv', () => {
  it.each<['buildah' | 'podman', BuildRequest, ContainerOptions, AuthLocation, string[]]>([
    [
      'buildah',
      MINIMAL,
      DEFAULTS,
      {},
      [
        'bud --file /src/Dockerfile --tag ghcr.io/acme/web:v1 /src',
        'push --digestfile /tmp/b/digest ghcr.io/acme/web:v1 docker://ghcr.io/acme/web:v1'
      ]
    ],
    [
      'podman',
      MINIMAL,
      DEFAULTS,
      {},
      [
        'build --file /src/Dockerfile --tag ghcr.io/acme/web:v1 /src',
        'push --digestfile /tmp/b/digest ghcr.io/acme/web:v1 docker://ghcr.io/acme/web:v1'
      ]
    ],
    [
      'buildah',
      FULL,
      VFS_CHROOT,
      { authFile: '/tmp/b/auth.json' },
      [
        [
          '--storage-driver vfs bud --file /src/app/build/Containerfile',
          '--build-arg VERSION=1.2.3 --build-arg EMPTY= --build-arg WITH_EQ=a=b',
          '--label org.opencontainers.image.revision=abc --target runtime --platform linux/amd64',
          '--isolation chroot --authfile /tmp/b/auth.json --tls-verify=false --tag localhost:5000/team/api:t /src/app'
        ].join(' '),
        [
          '--storage-driver vfs push --authfile /tmp/b/auth.json --tls-verify=false --digestfile /tmp/b/digest',
          'localhost:5000/team/api:t docker://localhost:5000/team/api:t'
        ].join(' ')
      ]
    ],
    [
      'podman',
      { ...MINIMAL, platforms: ['linux/amd64', 'linux/arm64/v8'] },
      { storageDriver: 'overlay', reasons: [] },
      {},
      [
        '--storage-driver overlay manifest rm ghcr.io/acme/web:v1',
        [
          '--storage-driver overlay build --file /src/Dockerfile --platform linux/amd64,linux/arm64/v8',
          '--manifest ghcr.io/acme/web:v1 /src'
        ].join(' '),
        [
          '--storage-driver overlay manifest push --all --digestfile /tmp/b/digest',
          'ghcr.io/acme/web:v1 docker://ghcr.io/acme/web:v1'
        ].join(' ')
      ]
    ]
  ])('%s %#', (tool, request, options, auth, argvs) => {
    const commands = containerToolCommands(tool, request, FILES, options, auth)
    expect(commands.map(c => c.args.join(' '))).toEqual(argvs)
    expect(commands.every(c => c.tool === tool)).toBe(true)
    // only steps that talk to the registry with the pushed image are retried
    expect(commands.map(c => Boolean(c.retryable))).toEqual(argvs.map(a => / push /.test(` ${a} `)))
  })

  it('lets only the removal of a stale manifest list fail', () => {
    const commands = containerToolCommands(
      'buildah',
      { ...MINIMAL, platforms: ['linux/amd64', 'linux/arm64'] },
      FILES,
      DEFAULTS
    )
    expect(commands.map(c => Boolean(c.mayFail))).toEqual([true, false, false])
  })
})

describe('loginCommand', () => {
  it.each([
    [
      'docker',
      'ghcr.io',
      false,
      { dockerConfig: '/t/dc' },
      'login --username bot --password-stdin ghcr.io',
      { DOCKER_CONFIG: '/t/dc' }
    ],
    [
      'docker',
      'docker.io',
      false,
      { dockerConfig: '/t/dc' },
      'login --username bot --password-stdin',
      { DOCKER_CONFIG: '/t/dc' }
    ],
    [
      'buildah',
      'localhost:5000',
      true,
      { authFile: '/t/auth.json' },
      'login --authfile /t/auth.json --tls-verify=false --username bot --password-stdin localhost:5000',
      undefined
    ],
    [
      'podman',
      'ghcr.io',
      false,
      { authFile: '/t/auth.json' },
      'login --authfile /t/auth.json --username bot --password-stdin ghcr.io',
      undefined
    ]
  ] as const)('%s %s', (tool, domain, insecure, auth, argv, env) => {
    const command = loginCommand(tool, domain, 'bot', 's3cret-pw', insecure, auth)
    expect(command.args.join(' ')).toBe(argv)
    expect(command.env).toEqual(env)
    expect(command.stdin).toBe('s3cret-pw')
    expect(command.args.join(' ')).not.toContain('s3cret-pw')
  })
})

describe('imageLabels', () => {
  const created = new Date('2026-01-02T03:04:05.000Z')
  const context = { repository: 'acme/web', sha: 'abc123', serverUrl: 'https://github.example.com/' }

  it.each([
    [
      'OCI labels from the run context',
      context,
      [],
      [
        ['org.opencontainers.image.source', 'https://github.example.com/acme/web'],
        ['org.opencontainers.image.revision', 'abc123'],
        ['org.opencontainers.image.created', '2026-01-02T03:04:05.000Z']
      ]
    ],
    [
      'unknown repository and sha: only created',
      { serverUrl: 'https://github.com' },
      [['team', 'web']],
      [
        ['org.opencontainers.image.created', '2026-01-02T03:04:05.000Z'],
        ['team', 'web']
      ]
    ],
    [
      'user labels win on the same key',
      context,
      [
        ['org.opencontainers.image.source', 'https://example.com/mirror'],
        ['tier', 'front']
      ],
      [
        ['org.opencontainers.image.revision', 'abc123'],
        ['org.opencontainers.image.created', '2026-01-02T03:04:05.000Z'],
        ['org.opencontainers.image.source', 'https://example.com/mirror'],
        ['tier', 'front']
      ]
    ]
  ] as const)('%s', (_name, ctx, user, expected) => {
    expect(
      imageLabels(
        ctx,
        user.map(([k, v]) => [k, v]),
        created
      )
    ).toEqual(expected)
  })
})

describe('containerOptions', () => {
  it.each([
    ['in a container, nothing configured', {}, true, false, 'vfs', 'chroot'],
    ['in a container with a storage.conf', {}, true, true, undefined, 'chroot'],
    ['on a VM', {}, false, false, undefined, undefined],
    ['env wins in a container', { STORAGE_DRIVER: 'overlay', BUILDAH_ISOLATION: 'oci' }, true, false, 'overlay', 'oci'],
    ['env wins over storage.conf', { STORAGE_DRIVER: 'btrfs' }, false, true, 'btrfs', undefined],
    ['isolation from env on a VM', { BUILDAH_ISOLATION: 'rootless' }, false, false, undefined, 'rootless']
  ])('%s', (_name, env, inContainer, storageConfigured, storageDriver, isolation) => {
    const options = containerOptions(env, { inContainer, storageConfigured })
    expect(options.storageDriver).toBe(storageDriver)
    expect(options.isolation).toBe(isolation)
    expect(options.reasons).toHaveLength(2)
  })
})

describe('chooseBuilder', () => {
  const p = (tool: ProbeResult['tool'], state: ProbeResult['state'], why?: string): ProbeResult => ({
    tool,
    state,
    why
  })
  it.each([
    ['docker answers', [p('docker', 'usable')], 'docker'],
    ['docker without daemon, buildah installed', [p('docker', 'failing'), p('buildah', 'usable')], 'buildah'],
    ['only podman', [p('docker', 'missing'), p('buildah', 'missing'), p('podman', 'usable')], 'podman'],
    ['order wins over probe order', [p('podman', 'usable'), p('buildah', 'usable')], 'buildah']
  ])('%s → %s', (_name, probes, tool) => {
    expect(chooseBuilder(probes).tool).toBe(tool)
  })

  it('names what it looked for, what each probe saw, and how to install one', () => {
    const probes = [p('docker', 'failing', 'no daemon'), p('buildah', 'missing'), p('podman', 'failing')]
    expect(() => chooseBuilder(probes)).toThrow(
      /looked for docker \(installed, but no daemon\), buildah \(not installed\), podman \(installed, but `podman --version` failed\)\. Install one .*apt-get install -y buildah/
    )
  })
})

// `docker buildx inspect` as buildx v0.38 prints it (BUILDX_BUILDER, else the current builder).
const inspect = (driver: string, status: string) => `Name:          ci
Driver:        ${driver}
Last Activity: 2026-12-06 23:41:00 +0000 UTC

Nodes:
Name:             ci0
Endpoint:         unix:///run/buildkit/buildkitd.sock
Status:           ${status}
BuildKit version: v0.34.2
Platforms:        linux/amd64, linux/amd64/v2, linux/386
Labels:
 org.mobyproject.buildkit.worker.executor: oci
`

describe('parseBuildxInspect', () => {
  it('reads the builder, not the node, name and driver', () => {
    expect(parseBuildxInspect(inspect('remote', 'running'))).toEqual({
      name: 'ci',
      driver: 'remote',
      statuses: ['running']
    })
  })
  it('finds nothing in an error', () => {
    expect(parseBuildxInspect('ERROR: no builder "x" found')).toEqual({ statuses: [] })
  })
})

describe('dockerProbe', () => {
  it.each([
    ['daemon answers', 0, undefined, 'usable', /daemon answered/],
    [
      'no daemon, remote builder running',
      1,
      { exitCode: 0, output: inspect('remote', 'running') },
      'usable',
      /"ci" \(driver remote\) needs no daemon/
    ],
    [
      'no daemon, container builder not started',
      1,
      { exitCode: 0, output: inspect('docker-container', 'inactive') },
      'usable',
      /driver docker-container/
    ],
    [
      'no daemon, default docker builder',
      1,
      { exitCode: 0, output: inspect('docker', 'running') },
      'failing',
      /driver docker\) needs it \(set BUILDX_BUILDER/
    ],
    [
      'no daemon, remote builder unreachable',
      1,
      { exitCode: 0, output: inspect('remote', 'error') },
      'failing',
      /is error/
    ],
    [
      'no daemon, no buildx plugin',
      1,
      { exitCode: 1, output: "docker: 'buildx' is not a docker command." },
      'failing',
      /`docker buildx inspect` failed/
    ]
  ])('%s → %s', (_name, info, inspected, state, why) => {
    const probe = dockerProbe(info, inspected)
    expect(probe.state).toBe(state)
    expect(probe.why).toMatch(why)
  })
})

describe('commandName', () => {
  it.each([
    [['--storage-driver', 'vfs', 'bud', '--file', 'f', '.'], 'buildah bud'],
    [['--storage-driver', 'vfs', 'manifest', 'push', '--all', 'x'], 'buildah manifest push'],
    [['push', '--tls-verify=false', 'x', 'docker://x'], 'buildah push'],
    [['--version'], 'buildah'],
    [['manifest', 'rm', 'ghcr.io/a:t'], 'buildah manifest rm'],
    [['build', '.'], 'buildah build']
  ])('%j → %s', (args, name) => {
    expect(commandName({ tool: 'buildah', args })).toBe(name)
  })
})

describe('displayArgs', () => {
  it.each([
    [
      ['build', '--build-arg', 'NPM_TOKEN=npm_secret', '-t', 'x'],
      ['build', '--build-arg', 'NPM_TOKEN=***', '-t', 'x']
    ],
    [
      ['--build-arg=A=b=c', '--label', 'k=v'],
      ['--build-arg=A=***', '--label', 'k=v']
    ],
    [
      ['--build-arg', 'NAME_ONLY'],
      ['--build-arg', 'NAME_ONLY']
    ]
  ])('%j', (args, expected) => {
    expect(displayArgs(args)).toEqual(expected)
  })
})

describe('argv rules in detail', () => {
  it.each([
    [
      ['--label', 'org.opencontainers.image.title=web'],
      ['--label', 'org.opencontainers.image.title=web']
    ],
    [['--build-arg=NAME_ONLY'], ['--build-arg=NAME_ONLY']]
  ])('displayArgs leaves other arguments alone: %j', (args, expected) => {
    expect(displayArgs(args)).toEqual(expected)
  })

  it.each([
    [['push'], 'buildah push'],
    [['manifest', 'push', 'all'], 'buildah manifest push'],
    [['--storage-driver=vfs', 'bud', '--file', 'f'], 'buildah bud'],
    [['manifest', 'ghcr.io/a:t'], 'buildah manifest'],
    [['push', '/tmp/ctx'], 'buildah push']
  ])('commandName %j → %s', (args, name) => {
    expect(commandName({ tool: 'buildah', args })).toBe(name)
  })

  it('imageLabels drops every trailing slash of the server URL', () => {
    expect(imageLabels({ repository: 'a/b', serverUrl: 'https://ghe.example.com//' }, [], new Date(0))[0]).toEqual([
      'org.opencontainers.image.source',
      'https://ghe.example.com/a/b'
    ])
  })

  it.each([
    [
      {},
      true,
      false,
      [
        'storage driver vfs (inside a container, no storage.conf, no STORAGE_DRIVER)',
        'isolation chroot (inside a container, no BUILDAH_ISOLATION)'
      ]
    ],
    [
      {},
      true,
      true,
      ['storage driver from storage.conf', 'isolation chroot (inside a container, no BUILDAH_ISOLATION)']
    ],
    [{}, false, false, ["the builder's default storage driver", "the builder's default isolation"]],
    [
      { STORAGE_DRIVER: 'overlay', BUILDAH_ISOLATION: 'oci' },
      true,
      true,
      ['storage driver overlay from STORAGE_DRIVER', 'isolation oci from BUILDAH_ISOLATION']
    ]
  ])(
    'containerOptions says why: %j in a container %s, storage.conf %s',
    (env, inContainer, storageConfigured, reasons) => {
      expect(containerOptions(env, { inContainer, storageConfigured }).reasons).toEqual(reasons)
    }
  )

  it.each(['docker', 'buildah', 'podman'] as const)('a %s login is retried', tool => {
    expect(loginCommand(tool, 'ghcr.io', 'bot', 'pw', false, {}).retryable).toBe(true)
  })

  it('docker login without a temporary config sets no environment', () => {
    expect(loginCommand('docker', 'ghcr.io', 'bot', 'pw', false, {}).env).toBeUndefined()
  })

  it.each([
    ['docker', { tool: 'docker', args: ['info', '--format', '{{.ServerVersion}}'] }],
    ['buildah', { tool: 'buildah', args: ['--version'] }],
    ['podman', { tool: 'podman', args: ['--version'] }]
  ] as const)('probeCommand %s', (tool, command) => {
    expect(probeCommand(tool)).toEqual(command)
  })

  it('asks buildx for its builder', () => {
    expect(BUILDX_INSPECT).toEqual({ tool: 'docker', args: ['buildx', 'inspect'] })
  })

  it('parseBuildxInspect reads indented and CRLF output', () => {
    expect(
      parseBuildxInspect('  Name: ci\r\n  Driver: remote\r\n  Nodes:\r\n  Name: ci0\r\n  Status: Running\r\n')
    ).toEqual({
      name: 'ci',
      driver: 'remote',
      statuses: ['running']
    })
  })

  it('parseBuildxInspect takes no field from inside a label line', () => {
    expect(
      parseBuildxInspect(
        'Name: ci\nDriver: remote\nNodes:\nName: ci0\nStatus: running\nLabels:\n com.example/Status: stopped\n'
      )
    ).toEqual({ name: 'ci', driver: 'remote', statuses: ['running'] })
  })

  const noDaemon = '`docker info` failed: no daemon reachable'
  it.each<[string, number, { exitCode: number; output: string } | undefined, ProbeResult]>([
    ['daemon answers', 0, undefined, { tool: 'docker', state: 'usable', why: 'its daemon answered `docker info`' }],
    [
      'no buildx',
      1,
      undefined,
      { tool: 'docker', state: 'failing', why: `${noDaemon}, and \`docker buildx inspect\` failed` }
    ],
    [
      'a nameless builder without a driver',
      1,
      { exitCode: 0, output: 'Nodes:\nStatus: running\n' },
      {
        tool: 'docker',
        state: 'failing',
        why: `${noDaemon}, and buildx builder "?" (driver unknown) needs it (set BUILDX_BUILDER to a remote or docker-container builder)`
      }
    ],
    [
      'a remote builder without nodes',
      1,
      { exitCode: 0, output: 'Name: ci\nDriver: remote\n' },
      { tool: 'docker', state: 'failing', why: `${noDaemon}, and buildx builder "ci" (driver remote) is down` }
    ],
    [
      'a remote builder with two stopped nodes',
      1,
      { exitCode: 0, output: 'Name: ci\nDriver: remote\nNodes:\nStatus: stopped\nStatus: error\n' },
      {
        tool: 'docker',
        state: 'failing',
        why: `${noDaemon}, and buildx builder "ci" (driver remote) is stopped, error`
      }
    ],
    [
      'one node of two running',
      1,
      { exitCode: 0, output: 'Name: ci\nDriver: remote\nNodes:\nStatus: error\nStatus: running\n' },
      { tool: 'docker', state: 'usable', why: 'buildx builder "ci" (driver remote) needs no daemon' }
    ]
  ])('dockerProbe: %s', (_name, info, inspected, result) => {
    expect(dockerProbe(info, inspected)).toEqual(result)
  })

  it('chooseBuilder says how to install one', () => {
    expect(() => chooseBuilder([])).toThrow(
      new Error(
        'builder "auto" found no usable image builder; looked for docker (not installed), buildah (not installed), ' +
          'podman (not installed). Install one — Docker with buildx (and a running daemon, or a BUILDX_BUILDER ' +
          'that needs none), or buildah (`sudo apt-get install -y buildah`), or podman ' +
          '(`sudo apt-get install -y podman`) — or set the builder input.'
      )
    )
  })
})
