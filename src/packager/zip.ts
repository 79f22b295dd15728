/**
 * Lambda zip packages: the function's files, its model, its pruned node_modules and sai's handler
 * module at the zip's root (Lambda's /var/task). Deterministic: sorted entries, fixed timestamps,
 * fixed modes — the same inputs give the same bytes.
 */
import {createWriteStream, mkdirSync, renameSync, rmSync, statSync, symlinkSync} from 'node:fs'
import path from 'node:path'
import {buffer} from 'node:stream/consumers'
import {pipeline} from 'node:stream/promises'
import yauzl from 'yauzl'
import yazl from 'yazl'
import {TASK_ROOT} from './function-layers.js'
import type {LayerEntry} from './oci/types.js'

/** Lambda's limits on a zip package (AWS docs gettingstarted-limits.html). */
export const ZIP_LIMITS = {zippedBytes: 50 * 1024 * 1024, unzippedBytes: 250 * 1024 * 1024}

/** DOS timestamps start in 1980 and carry local time: build one from the UTC fields, so every time zone writes the same bytes. */
function dosDate(sourceDateEpoch: number): Date {
  const utc = new Date(Math.max(sourceDateEpoch * 1000, Date.UTC(1980, 0, 1)))
  return new Date(utc.getUTCFullYear(), utc.getUTCMonth(), utc.getUTCDate(), utc.getUTCHours(), utc.getUTCMinutes(), utc.getUTCSeconds())
}

export interface WrittenZip {
  file: string
  bytes: number
  uncompressedBytes: number
  entries: number
}

/** Writes entries (image paths under /var/task) as a zip, beside `file` first and renamed into place at the end. */
export async function writeZip(entries: readonly LayerEntry[], file: string, sourceDateEpoch: number): Promise<WrittenZip> {
  const zip = new yazl.ZipFile()
  const mtime = dosDate(sourceDateEpoch)
  const prefix = `${TASK_ROOT}/`
  let uncompressedBytes = 0
  let count = 0
  for (const entry of [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (!entry.path.startsWith(prefix)) continue
    const name = entry.path.slice(prefix.length)
    const options = {mtime, forceDosTimestamp: true}
    if (entry.type === 'directory') zip.addEmptyDirectory(name, {...options, mode: 0o40755})
    else if (entry.type === 'symlink') zip.addBuffer(Buffer.from(entry.linkTarget!), name, {...options, mode: 0o120777, compress: false})
    else if (entry.source && 'file' in entry.source) {
      uncompressedBytes += statSync(entry.source.file).size
      zip.addFile(entry.source.file, name, {...options, mode: 0o100000 | entry.mode})
    } else if (entry.source && 'bytes' in entry.source) {
      uncompressedBytes += entry.source.bytes.length
      zip.addBuffer(entry.source.bytes, name, {...options, mode: 0o100000 | entry.mode})
    } else continue
    count++
  }
  zip.end()
  const partial = `${file}.partial`
  try {
    await pipeline(zip.outputStream, createWriteStream(partial))
    renameSync(partial, file)
  } catch (error) {
    rmSync(partial, {force: true})
    throw error
  }
  return {file, bytes: statSync(file).size, uncompressedBytes, entries: count}
}

/** The next entry of a lazily read zip, or undefined at its end; every listener is removed again (no pile-up over many entries). */
function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    const settle = (entry: yauzl.Entry | undefined, error?: Error) => {
      zip.off('entry', onEntry).off('end', onEnd).off('error', onError)
      if (error) reject(error)
      else resolve(entry)
    }
    const onEntry = (entry: yauzl.Entry) => settle(entry)
    const onEnd = () => settle(undefined)
    const onError = (error: Error) => settle(undefined, error)
    zip.on('entry', onEntry).on('end', onEnd).on('error', onError)
    zip.readEntry()
  })
}

/** One file of a zip held in memory, read from its central directory (undefined: no such entry); throws if it is not a zip. */
export async function readZipEntry(bytes: Buffer, name: string): Promise<Buffer | undefined> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(bytes, {lazyEntries: true}, (error, z) => (error ? reject(error) : resolve(z))))
  try {
    for (;;) {
      const entry = await nextEntry(zip)
      if (!entry) return undefined
      if (entry.fileName !== name) continue
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => zip.openReadStream(entry, (error, s) => (error ? reject(error) : resolve(s))))
      return await buffer(stream)
    }
  } finally {
    zip.close()
  }
}

/** Extracts a zip under `dir`; an entry that would land outside it is refused. */
export async function extractZip(file: string, dir: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(file, {lazyEntries: true}, (error, z) => (error ? reject(error) : resolve(z))))
  try {
    for (;;) {
      const entry = await nextEntry(zip)
      if (!entry) return
      const target = path.resolve(dir, entry.fileName)
      if (!target.startsWith(path.resolve(dir) + path.sep)) throw new Error(`the zip entry ${entry.fileName} would land outside ${dir}`)
      const mode = (entry.externalFileAttributes >>> 16) & 0o177777
      if (entry.fileName.endsWith('/')) {
        mkdirSync(target, {recursive: true})
        continue
      }
      mkdirSync(path.dirname(target), {recursive: true})
      const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) => zip.openReadStream(entry, (error, s) => (error ? reject(error) : resolve(s))))
      if ((mode & 0o170000) === 0o120000) {
        symlinkSync((await buffer(stream)).toString(), target)
      } else {
        await pipeline(stream, createWriteStream(target, {mode: mode & 0o777 || 0o644}))
      }
    }
  } finally {
    zip.close()
  }
}
