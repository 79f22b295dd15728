/**
 * `--base host`: a base layer built from this machine instead of pulled — for offline builds and the
 * smallest image. It holds node, exactly the shared libraries node and onnxruntime's binding link
 * (as ldd resolves them, at their host paths, host symlinks kept), CA certificates, /tmp and a
 * non-root user. No shell, no package manager: nothing a Lambda function does not load.
 */
import {SaiError} from '../../errors/sai-error.js'
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {lstat, readlink, realpath, stat} from 'node:fs/promises'
import {createRequire} from 'node:module'
import path from 'node:path'
import {promisify} from 'node:util'
import type {LayerEntry, LayerSpec} from '../oci/types.js'
import {addEntry, type LambdaArchitecture} from '../prune/dependencies.js'

const run = promisify(execFile)

/** Where Lambda's nodejs images keep node: the same PATH, entrypoint and scripts work on either base. */
export const NODE_IMAGE_PATH = '/var/lang/bin/node'
/** sai's bundled runtime (dist/runtime/bootstrap.js); the layer that ships it must put it here. */
export const SAI_RUNTIME_IMAGE_PATH = '/var/runtime/sai/bootstrap.js'
/** onnxruntime-node's prebuilt linux binaries are built against glibc 2.28. */
export const MINIMUM_GLIBC = '2.28'
/** The user Lambda runs functions as (`id` on Lambda: uid=993(sbx_user1051) gid=990), so local runs hit the same permission errors. */
export const LAMBDA_USER = {name: 'sbx_user1051', uid: 993, gid: 990} as const

const CA_BUNDLE_IMAGE_PATH = '/etc/ssl/certs/ca-certificates.crt'
const CA_BUNDLE_CANDIDATES = [CA_BUNDLE_IMAGE_PATH, '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/ca-bundle.pem', '/etc/ssl/cert.pem']
// getaddrinfo dlopens these (before glibc 2.34 they are separate libraries), so ldd never lists them.
const NSS_LIBRARIES = ['libnss_files.so.2', 'libnss_dns.so.2', 'libresolv.so.2']

/** The image config a base contributes (OCI field names). */
export interface ImageConfigFragment {
  Env: string[]
  Entrypoint: string[]
  WorkingDir: string
  User: string
}

export interface HostBaseOptions {
  /** The node to ship; default: the one running sai. */
  nodePath?: string
  /** onnxruntime's binding whose libraries to include; default sai's own for this platform; null: node's only. */
  onnxruntimeBinding?: string | null
  /** The runtime the entrypoint starts. */
  runtimePath?: string
}

export interface HostLibrary {
  name: string
  /** As ldd printed it: the image holds it at this same path. */
  path: string
  /** "node", "onnxruntime" or "dlopen (NSS)". */
  neededBy: string[]
}

export interface HostBase {
  layer: LayerSpec
  config: ImageConfigFragment
  /** Lambda's name for it (compare with the spec's `architecture`). */
  architecture: LambdaArchitecture
  /** The OCI/Docker name, for the image config and manifest. */
  ociArchitecture: 'amd64' | 'arm64'
  os: 'linux'
  glibc: string
  node: {version: string; hostPath: string; imagePath: string}
  libraries: HostLibrary[]
  /** Bytes of every file in the layer, uncompressed. */
  bytes: number
  /** Things left out that a function might miss (e.g. no CA bundle on this host). */
  warnings: string[]
}

/** This machine cannot provide a base: not Linux, an architecture Lambda does not run, or no ldd. */
export class HostBaseError extends SaiError {
  constructor(message: string, hint: string) {
    super('SAI_HOST_BASE_UNSUPPORTED', message, {hint})
  }
}

/** The host's C library cannot run onnxruntime-node's binaries. */
export class GlibcVersionError extends SaiError {
  constructor(readonly found: string, readonly required: string = MINIMUM_GLIBC) {
    super('SAI_GLIBC_TOO_OLD', `--base host needs glibc ${required} or newer (onnxruntime-node's binaries are built against it); this machine has ${found}`, {
      hint: 'build on a machine with glibc 2.28 or newer (Debian 10+, Ubuntu 18.10+, RHEL/Amazon Linux 2023+), or use a registry base such as public.ecr.aws/lambda/nodejs:22',
    })
  }
}

export async function hostBase(options: HostBaseOptions = {}): Promise<HostBase> {
  const hostNode = await realpath(options.nodePath ?? process.execPath)
  const probe = await run(hostNode, ['-p', 'JSON.stringify([process.version, process.platform, process.arch, process.report.getReport().header.glibcVersionRuntime ?? null])'])
  const [version, platform, arch, glibc] = JSON.parse(probe.stdout) as [string, string, string, string | null]
  if (platform !== 'linux') throw new HostBaseError(`--base host needs a Linux machine: Lambda runs Linux binaries, and this node is built for ${platform}`, 'use a registry base such as public.ecr.aws/lambda/nodejs:22, or build on Linux')
  const architecture = ({x64: 'x86_64', arm64: 'arm64'} as const)[arch as 'x64' | 'arm64']
  if (!architecture) throw new HostBaseError(`--base host: Lambda runs x86_64 and arm64, and this node is built for ${arch}`, 'use a registry base such as public.ecr.aws/lambda/nodejs:22')
  if (glibc === null) throw new GlibcVersionError(await describeLibc())
  if (compareVersions(glibc, MINIMUM_GLIBC) < 0) throw new GlibcVersionError(`glibc ${glibc}`)

  const binding = options.onnxruntimeBinding === undefined ? defaultBinding(arch) : options.onnxruntimeBinding
  const libraries = new Map<string, HostLibrary>()
  const addLibraries = async (file: string, neededBy: string, skipInside?: string) => {
    for (const library of await ldd(file)) {
      if (skipInside && library.path.startsWith(skipInside + path.sep)) continue
      const known = libraries.get(library.path)
      if (known) known.neededBy.push(neededBy)
      else libraries.set(library.path, {...library, neededBy: [neededBy]})
    }
  }
  await addLibraries(hostNode, 'node')
  // libonnxruntime.so.1 sits beside the binding and ships in the dependencies layer.
  if (binding) await addLibraries(binding, 'onnxruntime', path.dirname(await realpath(binding)))
  const libc = [...libraries.values()].find((library) => library.name === 'libc.so.6')
  for (const name of NSS_LIBRARIES) {
    const file = libc && path.join(path.dirname(libc.path), name)
    if (file && existsSync(file) && !libraries.has(file)) libraries.set(file, {name, path: file, neededBy: ['dlopen (NSS)']})
  }

  const entries = new Map<string, LayerEntry>()
  const warnings: string[] = []
  addEntry(entries, {path: NODE_IMAGE_PATH, type: 'file', mode: 0o755, source: {file: hostNode}})
  for (const library of libraries.values()) await mirrorHostPath(entries, library.path)
  const caBundle = CA_BUNDLE_CANDIDATES.find((file) => existsSync(file))
  if (caBundle) addEntry(entries, {path: CA_BUNDLE_IMAGE_PATH, type: 'file', mode: 0o644, source: {file: await realpath(caBundle)}})
  else warnings.push(`no CA bundle found (looked for ${CA_BUNDLE_CANDIDATES.join(', ')}): node's built-in roots still work, --use-openssl-ca will not`)
  const {name, uid, gid} = LAMBDA_USER
  const text = (value: string) => ({bytes: Buffer.from(value)})
  addEntry(entries, {path: '/etc/passwd', type: 'file', mode: 0o644, source: text(`root:x:0:0:root:/root:/sbin/nologin\n${name}:x:${uid}:${gid}::/tmp:/sbin/nologin\n`)})
  addEntry(entries, {path: '/etc/group', type: 'file', mode: 0o644, source: text(`root:x:0:\n${name}:x:${gid}:\n`)})
  // Docker and Lambda may mount their own; these keep `localhost` resolvable where they do not.
  addEntry(entries, {path: '/etc/hosts', type: 'file', mode: 0o644, source: text('127.0.0.1\tlocalhost\n::1\tlocalhost\n')})
  addEntry(entries, {path: '/etc/nsswitch.conf', type: 'file', mode: 0o644, source: text('passwd: files\ngroup: files\nhosts: files dns\n')})
  addEntry(entries, {path: '/tmp', type: 'directory', mode: 0o1777})
  // Mount points: a read-only root file system (Lambda's) cannot grow them at start.
  for (const mountPoint of ['/proc', '/sys']) addEntry(entries, {path: mountPoint, type: 'directory', mode: 0o555})
  addEntry(entries, {path: '/dev', type: 'directory', mode: 0o755})
  addEntry(entries, {path: '/var/task', type: 'directory', mode: 0o755})

  const libraryDirs = [...new Set([...libraries.values()].map((library) => path.dirname(library.path)))]
  return {
    layer: {name: 'base', entries: [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))},
    config: {
      Env: [
        'PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
        // Lambda's values: ICU (Intl, toLocaleString) takes its default locale and zone from these.
        'LANG=en_US.UTF-8',
        'TZ=:UTC',
        // The image has no ld.so.cache, and the loader's built-in directories differ between distros.
        `LD_LIBRARY_PATH=${[...libraryDirs, '/var/task/lib', '/opt/lib'].join(':')}`,
        `SSL_CERT_FILE=${CA_BUNDLE_IMAGE_PATH}`,
        'LAMBDA_TASK_ROOT=/var/task',
        'LAMBDA_RUNTIME_DIR=/var/runtime',
      ],
      // No shell in this image: node starts the runtime directly (one process less than a wrapper script).
      Entrypoint: [NODE_IMAGE_PATH, options.runtimePath ?? SAI_RUNTIME_IMAGE_PATH],
      WorkingDir: '/var/task',
      User: `${uid}:${gid}`,
    },
    architecture,
    ociArchitecture: architecture === 'x86_64' ? 'amd64' : 'arm64',
    os: 'linux',
    glibc,
    node: {version, hostPath: hostNode, imagePath: NODE_IMAGE_PATH},
    libraries: [...libraries.values()],
    bytes: await layerBytes(entries.values()),
    warnings,
  }
}

/** ldd's lines: "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)", "/lib64/ld-linux-x86-64.so.2 (0x…)", "libx.so => not found". */
export function parseLdd(output: string): Array<{name: string; path: string | null}> {
  const libraries: Array<{name: string; path: string | null}> = []
  for (const line of output.split('\n').map((text) => text.trim())) {
    const linked = /^(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line)
    const missing = /^(\S+) => not found$/.exec(line)
    const loader = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line)
    if (linked) libraries.push({name: linked[1]!, path: linked[2]!})
    else if (missing) libraries.push({name: missing[1]!, path: null})
    else if (loader) libraries.push({name: path.basename(loader[1]!), path: loader[1]!})
  }
  return libraries
}

async function ldd(file: string): Promise<Array<{name: string; path: string}>> {
  let output: string
  try {
    output = (await run('ldd', [file])).stdout
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & {stdout?: string; stderr?: string}
    if (failure.code === 'ENOENT') throw new HostBaseError('--base host needs ldd to find the shared libraries node links, and ldd is not installed', 'install it (Debian/Ubuntu: libc-bin, Fedora/RHEL: glibc-common)')
    throw new HostBaseError(`ldd ${file} failed: ${(failure.stderr || failure.stdout || failure.message).trim()}`, 'check that the file is a dynamically linked executable or library for this machine')
  }
  const libraries = parseLdd(output)
  const missing = libraries.filter((library) => library.path === null).map((library) => library.name)
  if (missing.length > 0) throw new HostBaseError(`${file} links libraries this machine does not have: ${missing.join(', ')}`, 'install them, or use a registry base such as public.ecr.aws/lambda/nodejs:22')
  return libraries as Array<{name: string; path: string}>
}

function defaultBinding(arch: string): string | null {
  try {
    const manifest = createRequire(import.meta.url).resolve('onnxruntime-node/package.json')
    const binding = path.join(path.dirname(manifest), 'bin', 'napi-v6', 'linux', arch, 'onnxruntime_binding.node')
    return existsSync(binding) ? binding : null
  } catch {
    return null
  }
}

async function describeLibc(): Promise<string> {
  const output = await run('ldd', ['--version']).then(
    (result) => result.stdout + result.stderr,
    (error: {stdout?: string; stderr?: string}) => `${error.stdout ?? ''}${error.stderr ?? ''}`,
  )
  return /musl/i.test(output) ? `musl libc (${output.split('\n').find((line) => /version/i.test(line))?.trim() ?? 'version unknown'})` : 'no glibc'
}

export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number)
  const right = b.split('.').map(Number)
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0)
    if (difference !== 0) return Math.sign(difference)
  }
  return 0
}

/**
 * Adds a host file at its own path, recreating every symlink on the way (merged-/usr's /lib → usr/lib,
 * libstdc++.so.6 → libstdc++.so.6.0.30, /lib64/ld-linux-x86-64.so.2 → …), so the paths ldd and the
 * ELF interpreter field name resolve in the image as they do here.
 */
async function mirrorHostPath(entries: Map<string, LayerEntry>, hostPath: string, depth = 0): Promise<void> {
  if (depth > 40) throw new HostBaseError(`${hostPath}: too many levels of symbolic links`, 'fix the symlink loop on this machine')
  const parts = hostPath.split('/').filter(Boolean)
  for (let i = 0; i < parts.length; i++) {
    const current = '/' + parts.slice(0, i + 1).join('/')
    const info = await lstat(current)
    if (info.isSymbolicLink()) {
      const target = await readlink(current)
      addEntry(entries, {path: current, type: 'symlink', mode: 0o777, linkTarget: target})
      return mirrorHostPath(entries, path.resolve(path.dirname(current), target, ...parts.slice(i + 1)), depth + 1)
    }
    if (i === parts.length - 1) addEntry(entries, {path: current, type: 'file', mode: info.mode & 0o111 ? 0o755 : 0o644, source: {file: current}})
  }
}

async function layerBytes(entries: Iterable<LayerEntry>): Promise<number> {
  let total = 0
  for (const entry of entries) {
    if (entry.source && 'bytes' in entry.source) total += entry.source.bytes.length
    else if (entry.source && 'file' in entry.source) total += (await stat(entry.source.file)).size
    else if (entry.source) total += entry.source.size
  }
  return total
}
