/**
 * Built layers, kept between builds: a layer whose inputs have not changed (same entries, same
 * files by path, size and mtime, same SOURCE_DATE_EPOCH and media type) is reused, not re-gzipped.
 * Gzip is nearly all of a build's time; the base and the dependencies rarely change.
 */
import {createHash} from 'node:crypto'
import {copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {buildLayer, type BuildLayerOptions, type BuiltLayer} from './layer.js'
import type {LayerSpec} from './types.js'

/** Bump when the layer format changes, so old entries are never mistaken for new ones. */
const CACHE_VERSION = 1

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SAI_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'sai')
}

function cacheKey(spec: LayerSpec, options: BuildLayerOptions): string | undefined {
  const hash = createHash('sha256').update(JSON.stringify({v: CACHE_VERSION, epoch: options.sourceDateEpoch ?? 0, mediaType: options.mediaType ?? null}))
  for (const entry of spec.entries) {
    hash.update(`\0${entry.path}\0${entry.type}\0${entry.mode}\0${entry.linkTarget ?? ''}\0`)
    const source = entry.source
    if (!source) continue
    if ('bytes' in source) hash.update(source.bytes)
    else if ('file' in source) {
      const stat = statSync(source.file)
      hash.update(`${path.resolve(source.file)}\0${stat.size}\0${stat.mtimeMs}\0${stat.ino}`)
    } else return undefined // a stream (a registry blob) cannot be fingerprinted without reading it
  }
  return hash.digest('hex')
}

export async function buildLayerCached(spec: LayerSpec, options: BuildLayerOptions & {cacheDir?: string}): Promise<BuiltLayer & {cached: boolean}> {
  const key = options.cacheDir === undefined ? undefined : cacheKey(spec, options)
  if (key === undefined || options.cacheDir === undefined) return {...(await buildLayer(spec, options)), cached: false}
  const dir = path.join(options.cacheDir, 'layers')
  const record = path.join(dir, `${key}.json`)
  if (existsSync(record)) {
    const layer = JSON.parse(readFileSync(record, 'utf8')) as BuiltLayer
    if (existsSync(layer.file) && statSync(layer.file).size === layer.descriptor.size) return {...layer, name: spec.name, cached: true}
  }
  const built = await buildLayer(spec, options)
  mkdirSync(dir, {recursive: true})
  const blob = path.join(dir, built.descriptor.digest.replace(':', '-'))
  // Copy, then rename: a build interrupted midway leaves no half-written blob under a valid name.
  copyFileSync(built.file, `${blob}.partial`)
  renameSync(`${blob}.partial`, blob)
  const cachedLayer: BuiltLayer = {...built, file: blob}
  writeFileSync(`${record}.partial`, JSON.stringify(cachedLayer))
  renameSync(`${record}.partial`, record)
  return {...cachedLayer, cached: false}
}
