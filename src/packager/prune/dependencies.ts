/**
 * The "dependencies" layer: the production node_modules a function needs at run time, pruned.
 *
 * What is needed: onnxruntime-node when the function has a model (sai's runtime imports it), plus the
 * packages the function itself uses — the "dependencies" of its own package.json when it has one,
 * otherwise the bare specifiers its handler imports. Their closure is resolved on disk the way Node
 * resolves it (walking node_modules upwards, stopping at the project root), so the image holds
 * exactly what Node would load, laid out at the same relative paths under /var/task/node_modules.
 */
import {SaiError} from '../../errors/sai-error.js'
import {existsSync, statSync} from 'node:fs'
import {lstat, readFile, readdir, readlink, realpath, stat} from 'node:fs/promises'
import {createRequire, isBuiltin} from 'node:module'
import path from 'node:path'
import {splitHandler} from '../../runtime/handler-loader.js'
import type {LayerEntry, LayerSpec} from '../oci/types.js'

export type LambdaArchitecture = 'x86_64' | 'arm64'

export interface PruneOptions {
  /** The function directory (a FunctionSpec's `dir`). */
  dir: string
  /** Present when the function serves a model: sai's runtime then needs onnxruntime-node. */
  modelPath?: string
  /** "<module>.<export>" relative to `dir`, as in the spec. */
  handler?: string
  architecture: LambdaArchitecture
  /** Replaces discovery: exactly these packages (e.g. the externals left by bundleFunction). */
  packages?: string[]
  /** Where the tree goes in the image. */
  imageRoot?: string
  /**
   * sai's runtime directory in the image. ESM ignores NODE_PATH, so the runtime's bare
   * `import('onnxruntime-node')` only finds the function's packages through a node_modules link
   * beside it; null leaves the link out.
   */
  runtimeDir?: string | null
}

export interface PackageReport {
  name: string
  version: string
  /** Where it sits in the image. */
  imagePath: string
  /** Where it was read from (symlinks resolved). */
  sourceDir: string
  /** The whole package as installed (nested node_modules excluded: they are packages of their own). */
  bytesBefore: number
  /** 0 for a package a production install would bring in but nothing loads at run time. */
  bytesAfter: number
}

export interface PrunedDependencies {
  layer: LayerSpec
  /** The packages asked for, and why. */
  roots: Array<{name: string; reason: 'model runtime' | 'package.json' | 'handler import' | 'requested'}>
  packages: PackageReport[]
  /** What a production install of the same roots holds (`npm ci --omit=dev`, full packages). */
  bytesBefore: number
  bytesAfter: number
  /** The directory the node_modules search stops at (lock file, or the outermost node_modules). */
  projectRoot: string
}

/** A symlink whose target lies outside the function's project: the image would not contain it. */
export class SymlinkEscapeError extends SaiError {
  constructor(readonly link: string, readonly target: string, readonly root: string) {
    super('SAI_SYMLINK_ESCAPES', `the symlink ${link} points to ${target}, outside the project ${root}; the image cannot contain it`, {
      hint: 'copy the target into the project (or install the package from a registry) instead of linking outside it, e.g. a global `npm link`',
    })
  }
}

/**
 * SAI_DEPENDENCY_MISSING: a package the function needs is not installed (or esbuild, to bundle);
 * SAI_DEPENDENCY_LAYOUT: two copies of a package would land on one image path;
 * SAI_BUNDLE_FAILED: esbuild could not bundle the handler.
 */
export class DependencyError extends SaiError {
  constructor(code: 'SAI_DEPENDENCY_MISSING' | 'SAI_DEPENDENCY_LAYOUT' | 'SAI_BUNDLE_FAILED', message: string, hint: string) {
    super(code, message, {hint})
  }
}

const DEFAULT_IMAGE_ROOT = '/var/task/node_modules'
const DEFAULT_RUNTIME_DIR = '/var/runtime/sai'
const LOCK_FILES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml']

interface PackageJson {
  name?: string
  version?: string
  main?: string
  module?: string
  bin?: string | Record<string, string>
  exports?: unknown
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
}

/** What a package needs at run time and which of its files, where its package.json says more than it loads. */
interface PackageRule {
  dependencies?: (pkg: PackageJson) => string[]
  keep?: (relativePath: string, architecture: LambdaArchitecture) => boolean
}

const PACKAGE_RULES: Record<string, PackageRule> = {
  // adm-zip and global-agent serve only its postinstall (the CUDA download). The binding it loads is
  // bin/napi-v6/<platform>/<arch>; execution-provider libraries (CUDA, TensorRT, ...) are dlopened
  // only when such a provider is asked for, and Lambda has no GPU.
  'onnxruntime-node': {
    dependencies: () => ['onnxruntime-common'],
    keep: (file, architecture) =>
      file === 'package.json' ||
      file.startsWith('dist/') ||
      (file.startsWith(`bin/napi-v6/linux/${architecture === 'x86_64' ? 'x64' : 'arm64'}/`) && !path.basename(file).startsWith('libonnxruntime_providers_')),
  },
}

const DROPPED_DIRECTORIES = new Set(['test', 'tests', '__tests__', '__mocks__', 'docs', 'doc', 'example', 'examples', 'benchmark', 'benchmarks', 'coverage', '.github', '.nyc_output', '.vscode', '.idea', '.circleci'])
const DROPPED_FILE = /(\.map|\.d\.[cm]?ts|\.[cm]?tsx?|\.md|\.markdown|\.tsbuildinfo)$|^(tsconfig.*\.json|\.eslintrc.*|\.prettierrc.*|\.editorconfig|\.npmignore|\.gitignore|\.gitattributes|\.travis\.yml|\.babelrc.*|jest\.config\..*|vitest\.config\..*)$/i
const LICENSE_FILE = /^(licen[cs]e|notice|copying|authors)(\b|[.\-_])/i

/** Whether a file of a package survives generic pruning; `entryPoints` (main, exports, bin) always do. */
export function keepPackageFile(relativePath: string, entryPoints: ReadonlySet<string> = new Set()): boolean {
  if (entryPoints.has(relativePath)) return true
  const parts = relativePath.split('/')
  const name = parts[parts.length - 1]!
  if (parts.slice(0, -1).some((dir) => DROPPED_DIRECTORIES.has(dir))) return false
  if (LICENSE_FILE.test(name)) return true
  return !DROPPED_FILE.test(name)
}

export async function pruneDependencies(options: PruneOptions): Promise<PrunedDependencies> {
  const functionDir = path.resolve(options.dir)
  const imageRoot = options.imageRoot ?? DEFAULT_IMAGE_ROOT
  const projectRoot = findProjectRoot(functionDir)
  const roots = await findRoots(options, functionDir, projectRoot)

  const taskDir = path.posix.dirname(imageRoot)
  const origins = roots.map(({name, reason}) => ({name, by: `${functionDir} (${reason})`, from: functionDir, fromImage: taskDir, boundary: projectRoot}))
  // sai's own onnxruntime-node stands in when the function's project has none: the runtime is sai's.
  const fallback = saiProjectRoot()
  const resolveRoot: Resolver = async (name, from, boundary) => {
    const location = await locate(name, from, boundary)
    if (location) return {location, boundary}
    const saiCopy = name === 'onnxruntime-node' && fallback ? await locate(name, fallback, fallback) : undefined
    return saiCopy ? {location: saiCopy, boundary: fallback!} : undefined
  }

  const runtime = await collect(origins, imageRoot, resolveRoot, (name, pkg) => PACKAGE_RULES[name]?.dependencies?.(pkg) ?? declaredDependencies(pkg))
  const installed = await collect(origins, imageRoot, resolveRoot, (_name, pkg) => declaredDependencies(pkg), {lenient: true})

  const entries = new Map<string, LayerEntry>()
  const packages: PackageReport[] = []
  for (const node of installed.values()) {
    const bytesBefore = await directoryBytes(node.sourceDir)
    const kept = runtime.get(node.imagePath)
    let bytesAfter = 0
    if (kept) {
      if (kept.linkFrom) addEntry(entries, {path: kept.linkFrom, type: 'symlink', mode: 0o777, linkTarget: path.posix.relative(path.posix.dirname(kept.linkFrom), kept.imagePath)})
      bytesAfter = await addPackageFiles(entries, kept, options.architecture)
    }
    packages.push({name: node.name, version: node.version, imagePath: node.imagePath, sourceDir: node.sourceDir, bytesBefore, bytesAfter})
  }
  const runtimeDir = options.runtimeDir === undefined ? DEFAULT_RUNTIME_DIR : options.runtimeDir
  if (runtime.size > 0 && runtimeDir !== null) {
    const link = path.posix.join(runtimeDir, 'node_modules')
    addEntry(entries, {path: link, type: 'symlink', mode: 0o777, linkTarget: path.posix.relative(runtimeDir, imageRoot)})
  }
  packages.sort((a, b) => a.imagePath.localeCompare(b.imagePath))
  return {
    layer: {name: 'dependencies', entries: [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))},
    roots,
    packages,
    bytesBefore: packages.reduce((sum, p) => sum + p.bytesBefore, 0),
    bytesAfter: packages.reduce((sum, p) => sum + p.bytesAfter, 0),
    projectRoot,
  }
}

async function findRoots(options: PruneOptions, functionDir: string, projectRoot: string): Promise<PrunedDependencies['roots']> {
  if (options.packages) return options.packages.map((name) => ({name, reason: 'requested' as const}))
  const roots: PrunedDependencies['roots'] = options.modelPath === undefined ? [] : [{name: 'onnxruntime-node', reason: 'model runtime'}]
  const add = (name: string, reason: PrunedDependencies['roots'][number]['reason']) => {
    if (!roots.some((root) => root.name === name)) roots.push({name, reason})
  }
  const ownManifest = path.join(functionDir, 'package.json')
  if (existsSync(ownManifest)) {
    const pkg = await readPackageJson(functionDir)
    for (const name of Object.keys(pkg.dependencies ?? {})) add(name, 'package.json')
    for (const name of Object.keys(pkg.optionalDependencies ?? {})) if (await locate(name, functionDir, projectRoot)) add(name, 'package.json')
  } else if (options.handler !== undefined) {
    const {modulePath} = splitHandler(options.handler)
    const base = path.resolve(functionDir, modulePath)
    const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((candidate) => existsSync(candidate))
    if (file) for (const name of await scanImports(file, functionDir)) add(name, 'handler import')
  }
  return roots
}

/**
 * The packages a module and the local modules it imports use, by a static scan of import, export
 * and require specifiers (comments skipped). Dynamic specifiers built at run time cannot be seen:
 * list such packages in a package.json beside the function.
 */
export async function scanImports(entryFile: string, functionDir: string): Promise<string[]> {
  const packages = new Set<string>()
  const seen = new Set<string>()
  const queue = [path.resolve(entryFile)]
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    for (const specifier of specifiers(await readFile(file, 'utf8'))) {
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        const local = resolveLocalModule(path.resolve(path.dirname(file), specifier))
        if (local && isInside(local, functionDir) && /\.[cm]?js$/.test(local)) queue.push(local)
      } else if (!isBuiltin(specifier) && !/^[a-z]+:/.test(specifier) && !specifier.startsWith('#')) {
        packages.add(packageName(specifier))
      }
    }
  }
  return [...packages].sort()
}

// Comments and strings are consumed whole, so import-like text inside them is never read as code.
const TOKEN = /\/\*[\s\S]*?\*\/|\/\/[^\n]*|(\bfrom\s*|\bimport\s*(?:\(\s*)?|\brequire\s*\(\s*)|("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`)/g

/** The string literals that directly follow `from`, `import`, `import(` or `require(`. */
function specifiers(source: string): string[] {
  const found: string[] = []
  let expectedAt = -1
  for (const match of source.matchAll(TOKEN)) {
    const [, keyword, literal] = match
    if (literal !== undefined && match.index === expectedAt && !literal.startsWith('`')) found.push(literal.slice(1, -1))
    expectedAt = keyword === undefined ? -1 : match.index + match[0].length
  }
  return found
}

function resolveLocalModule(base: string): string | undefined {
  const candidates = [base, ...['.js', '.mjs', '.cjs', '.json'].map((ext) => base + ext), ...['index.js', 'index.mjs', 'index.cjs'].map((index) => path.join(base, index))]
  return candidates.find((candidate) => statSync(candidate, {throwIfNoEntry: false})?.isFile())
}

export function packageName(specifier: string): string {
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!
}

/** "?name": taken when installed. Peers count as optional: a package that declares one loads it only for a feature that uses it. */
function declaredDependencies(pkg: PackageJson): string[] {
  const optional = [...Object.keys(pkg.optionalDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]
  return [...Object.keys(pkg.dependencies ?? {}).filter((name) => !optional.includes(name)), ...optional.map((name) => `?${name}`)]
}

/** The install root: the nearest directory with a lock file, else the outermost with node_modules, else the function's. */
function findProjectRoot(functionDir: string): string {
  let outermostModules: string | undefined
  for (let dir = functionDir; ; dir = path.dirname(dir)) {
    if (LOCK_FILES.some((lock) => existsSync(path.join(dir, lock)))) return dir
    if (existsSync(path.join(dir, 'node_modules'))) outermostModules = dir
    if (path.dirname(dir) === dir) return outermostModules ?? functionDir
  }
}

function saiProjectRoot(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('onnxruntime-node/package.json')
    return path.dirname(path.dirname(path.dirname(manifest)))
  } catch {
    return undefined
  }
}

/** Node's lookup: <dir>/node_modules/<name>, from `from` up to `boundary`. */
async function locate(name: string, from: string, boundary: string): Promise<string | undefined> {
  for (let dir = from; isInside(dir, boundary); dir = path.dirname(dir)) {
    if (path.basename(dir) !== 'node_modules') {
      const candidate = path.join(dir, 'node_modules', name)
      if (existsSync(path.join(candidate, 'package.json'))) return candidate
    }
    if (dir === boundary || path.dirname(dir) === dir) break
  }
  return undefined
}

interface PackageNode {
  name: string
  version: string
  /** Where Node finds it in the image; for a link (pnpm), the link's target. */
  imagePath: string
  /** A symlink in the image pointing at imagePath. */
  linkFrom?: string
  sourceDir: string
  boundary: string
  entryPoints: Set<string>
}

interface Origin {
  name: string
  /** Who needs it, for messages. */
  by: string
  from: string
  fromImage: string
  boundary: string
}

type Resolver = (name: string, from: string, boundary: string) => Promise<{location: string; boundary: string} | undefined>

/**
 * The closure of `origins` under `dependenciesOf`, keyed by image path. Each package keeps its disk
 * position relative to its node_modules, so Node resolves in the image what it resolves on disk;
 * a check at the end proves it for every edge (merging two node_modules levels could break that).
 */
async function collect(origins: Origin[], imageRoot: string, resolve: Resolver, dependenciesOf: (name: string, pkg: PackageJson) => string[], {lenient = false} = {}): Promise<Map<string, PackageNode>> {
  const nodes = new Map<string, PackageNode>()
  const edges: Array<{fromImage: string; name: string; to: string}> = []
  const queue = [...origins]
  for (let origin = queue.shift(); origin !== undefined; origin = queue.shift()) {
    const optional = origin.name.startsWith('?')
    const name = optional ? origin.name.slice(1) : origin.name
    const found = await resolve(name, origin.from, origin.boundary)
    if (!found) {
      if (optional || lenient) continue
      throw new DependencyError('SAI_DEPENDENCY_MISSING', `${name} is needed by ${origin.by} but is not installed in ${origin.boundary} or any node_modules below it`, `run \`npm install ${name}\` (or \`npm ci\`) in ${origin.boundary}`)
    }
    const {location} = found
    const node = await placePackage(name, location, found.boundary, imageRoot)
    edges.push({fromImage: origin.fromImage, name, to: node.imagePath})
    const existing = nodes.get(node.imagePath)
    if (existing) {
      if (existing.sourceDir !== node.sourceDir && !lenient) throw layoutConflict(node.imagePath, existing.sourceDir, node.sourceDir)
      continue
    }
    nodes.set(node.imagePath, node)
    const pkg = await readPackageJson(node.sourceDir)
    const base = node.linkFrom ? node.sourceDir : location
    for (const dependency of dependenciesOf(name, pkg)) queue.push({name: dependency, by: `${name}@${node.version}`, from: base, fromImage: node.imagePath, boundary: node.boundary})
  }
  // The estimate of a plain production install (lenient) reports sizes only; nothing of it ships unchecked.
  if (lenient) return nodes
  const present = new Map<string, string>()
  for (const node of nodes.values()) {
    present.set(node.imagePath, node.imagePath)
    if (node.linkFrom) present.set(node.linkFrom, node.imagePath)
  }
  for (const edge of edges) {
    const found = imageLocate(edge.name, edge.fromImage, present)
    if (found !== edge.to) throw layoutConflict(`${edge.fromImage} → ${edge.name}`, edge.to, found ?? 'nothing')
  }
  return nodes
}

function layoutConflict(where: string, first: string, second: string): DependencyError {
  return new DependencyError(
    'SAI_DEPENDENCY_LAYOUT',
    `the dependency layout cannot be reproduced in the image: ${where} would be ${first} on disk but ${second} in the image (two node_modules levels hold different copies)`,
    'install the function\'s dependencies in one place: a package.json beside the function with its own `npm ci`, or only the project root\'s',
  )
}

function imageLocate(name: string, fromImage: string, present: Map<string, string>): string | undefined {
  for (let dir = fromImage; ; dir = path.posix.dirname(dir)) {
    if (path.posix.basename(dir) !== 'node_modules') {
      const found = present.get(path.posix.join(dir, 'node_modules', name))
      if (found) return found
    }
    if (dir === '/') return undefined
  }
}

async function placePackage(name: string, location: string, boundary: string, imageRoot: string): Promise<PackageNode> {
  const real = await realpath(location)
  if (!isInside(real, boundary)) {
    const link = await outermostLink(location)
    throw new SymlinkEscapeError(link, await readlink(link), boundary)
  }
  const logical = toImagePath(location, boundary, imageRoot)
  const pkg = await readPackageJson(real)
  const base = {name, version: pkg.version ?? '0.0.0', sourceDir: real, boundary, entryPoints: entryPoints(pkg)}
  // A link into another node_modules (pnpm's store) stays a link, so its siblings still resolve;
  // a link to a workspace folder is copied in place, as that folder is not part of the image.
  if (real !== location && real.split(path.sep).includes('node_modules')) {
    return {...base, imagePath: toImagePath(real, boundary, imageRoot), linkFrom: logical}
  }
  return {...base, imagePath: logical}
}

async function outermostLink(file: string): Promise<string> {
  let current = file
  for (let dir = file; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if ((await lstat(dir)).isSymbolicLink()) current = dir
  }
  return current
}

/** /project/node_modules/a/node_modules/b → <imageRoot>/a/node_modules/b */
function toImagePath(location: string, boundary: string, imageRoot: string): string {
  const parts = path.relative(boundary, location).split(path.sep)
  const first = parts.indexOf('node_modules')
  return path.posix.join(imageRoot, ...parts.slice(first + 1))
}

function entryPoints(pkg: PackageJson): Set<string> {
  const files = new Set<string>()
  const add = (value: unknown) => {
    if (typeof value === 'string' && !value.includes('*')) {
      const normal = path.posix.normalize(value).replace(/^\.\//, '')
      for (const suffix of ['', '.js', '.json', '/index.js']) files.add(normal + suffix)
    } else if (value && typeof value === 'object') {
      for (const inner of Object.values(value)) add(inner)
    }
  }
  add(pkg.main ?? 'index.js')
  add(pkg.module)
  add(pkg.bin)
  add(pkg.exports)
  return files
}

async function addPackageFiles(entries: Map<string, LayerEntry>, node: PackageNode, architecture: LambdaArchitecture): Promise<number> {
  const rule = PACKAGE_RULES[node.name]?.keep
  const keep = (relative: string) =>
    (!rule || rule(relative, architecture) || (!relative.includes('/') && LICENSE_FILE.test(relative))) && keepPackageFile(relative, node.entryPoints)
  let bytes = 0
  const visited = new Set<string>()
  const walk = async (sourceDir: string, relativeDir: string): Promise<void> => {
    const realDir = await realpath(sourceDir)
    if (visited.has(realDir)) return
    visited.add(realDir)
    for (const dirent of (await readdir(sourceDir, {withFileTypes: true})).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (dirent.name === 'node_modules') continue
      const source = path.join(sourceDir, dirent.name)
      const relative = relativeDir ? `${relativeDir}/${dirent.name}` : dirent.name
      const imagePath = path.posix.join(node.imagePath, relative)
      if (dirent.isSymbolicLink()) {
        const target = await realpath(source).catch(() => undefined)
        const text = await readlink(source)
        if (target === undefined || !isInside(target, node.boundary)) throw new SymlinkEscapeError(source, target ?? path.resolve(sourceDir, text), node.boundary)
        if (isInside(target, node.sourceDir)) {
          // Kept a link, as in the package (libfoo.so → libfoo.so.1): a copy would double the bytes.
          const targetRelative = path.relative(node.sourceDir, target).split(path.sep).join('/')
          if (keep(relative) && keep(targetRelative)) addEntry(entries, {path: imagePath, type: 'symlink', mode: 0o777, linkTarget: path.posix.relative(path.posix.dirname(imagePath), path.posix.join(node.imagePath, targetRelative))})
        } else if ((await stat(target)).isDirectory()) {
          await walk(target, relative)
        } else if (keep(relative)) {
          bytes += await addFile(entries, imagePath, target)
        }
      } else if (dirent.isDirectory()) {
        await walk(source, relative)
      } else if (dirent.isFile() && keep(relative)) {
        bytes += await addFile(entries, imagePath, source)
      }
    }
  }
  await walk(node.sourceDir, '')
  return bytes
}

async function addFile(entries: Map<string, LayerEntry>, imagePath: string, source: string): Promise<number> {
  const info = await stat(source)
  addEntry(entries, {path: imagePath, type: 'file', mode: info.mode & 0o111 ? 0o755 : 0o644, source: {file: source}})
  return info.size
}

/** Adds an entry and every parent directory: Lambda rejects layer tars without them. */
export function addEntry(entries: Map<string, LayerEntry>, entry: LayerEntry): void {
  for (let dir = path.posix.dirname(entry.path); dir !== '/' && !entries.has(dir); dir = path.posix.dirname(dir)) {
    entries.set(dir, {path: dir, type: 'directory', mode: 0o755})
  }
  if (!entries.has(entry.path)) entries.set(entry.path, entry)
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0
  for (const dirent of await readdir(dir, {withFileTypes: true})) {
    if (dirent.name === 'node_modules') continue
    const file = path.join(dir, dirent.name)
    if (dirent.isDirectory()) total += await directoryBytes(file)
    else if (dirent.isFile()) total += (await stat(file)).size
  }
  return total
}

async function readPackageJson(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as PackageJson
}

function isInside(file: string, dir: string): boolean {
  const relative = path.relative(dir, file)
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative))
}

export interface BundleOptions {
  /** Left as imports; they must then be in the dependencies layer (pass them as `packages`). */
  external?: string[]
}

export interface BundledFunction {
  /** The handler and everything it imports, as one ES module (to be placed as <module>.mjs). */
  code: Buffer
  /** Source files that went in, relative to the working directory as esbuild reports them. */
  inputs: string[]
  /** Packages still imported at run time. */
  externals: string[]
}

/**
 * Bundles a handler into one ES module: one file parses and loads faster than a tree of modules at
 * every cold start. CommonJS dependencies call `require` for Node built-ins, which ESM output lacks,
 * hence the createRequire banner. esbuild is loaded only here, so packaging without bundling does
 * not need it installed.
 */
export async function bundleFunction(handlerPath: string, options: BundleOptions = {}): Promise<BundledFunction> {
  const esbuild = await import('esbuild').catch((error: unknown) => {
    throw new DependencyError('SAI_DEPENDENCY_MISSING', `bundling the function needs esbuild, which could not be loaded: ${(error as Error).message}`, 'install esbuild (`npm install esbuild`) or package without bundling')
  })
  const external = options.external ?? ['onnxruntime-node']
  const result = await esbuild.build({
    entryPoints: [handlerPath],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external,
    legalComments: 'none',
    logLevel: 'silent',
    banner: {js: "import {createRequire as __saiCreateRequire} from 'node:module';const require = __saiCreateRequire(import.meta.url);"},
  }).catch((error: unknown) => {
    throw new DependencyError('SAI_BUNDLE_FAILED', `bundling ${handlerPath} failed: ${(error as Error).message}`, 'fix the error shown (or package without bundling)')
  })
  const output = result.outputFiles[0]!
  const imported = Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external && !isBuiltin(i.path)).map((i) => packageName(i.path)))
  return {code: Buffer.from(output.contents), inputs: Object.keys(result.metafile.inputs).sort(), externals: [...new Set(imported)].sort()}
}
