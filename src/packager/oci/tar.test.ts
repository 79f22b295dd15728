import {execFileSync} from 'node:child_process'
import {mkdtemp, readFile, readlink, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {planTar, readTar, tarChunks, TarFormatError, TarInputError, type TarReadEntry} from './tar.js'
import type {LayerEntry} from './types.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sai-tar-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

async function tarBytes(entries: LayerEntry[], mtime = 0): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of tarChunks(entries, {mtime})) chunks.push(chunk)
  return Buffer.concat(chunks)
}

async function readAll(input: Buffer | Readable): Promise<Array<Omit<TarReadEntry, 'body' | 'buffer'> & {content: Buffer}>> {
  const entries = []
  for await (const entry of readTar(Buffer.isBuffer(input) ? Readable.from([input]) : input)) {
    const {body: _body, buffer, ...header} = entry
    entries.push({...header, content: await buffer()})
  }
  return entries
}

const file = (path: string, text: string, mode = 0o644): LayerEntry => ({path, type: 'file', mode, source: {bytes: Buffer.from(text)}})

const LONG_DIR = `var/task/${'deeply-nested-directory/'.repeat(5)}`
const LONG_COMPONENT = 'x'.repeat(120)

describe('planTar', () => {
  it('adds every parent directory, sorts by path and marks directories with a slash', () => {
    const plan = planTar([file('/var/task/lib/b.js', 'b'), file('/var/task/a.js', 'a'), file('/opt/x', 'x')])
    expect(plan.map((entry) => entry.name)).toEqual(['opt/', 'opt/x', 'var/', 'var/task/', 'var/task/a.js', 'var/task/lib/', 'var/task/lib/b.js'])
    expect(plan.find((entry) => entry.name === 'var/')?.mode).toBe(0o755)
  })

  it('keeps an explicit directory entry (and its mode) over the implied one, in any order', () => {
    const plan = planTar([file('/tmp/x', 'x'), {path: '/tmp', type: 'directory', mode: 0o1777}])
    expect(plan.map((entry) => [entry.name, entry.mode])).toEqual([
      ['tmp/', 0o1777],
      ['tmp/x', 0o644],
    ])
  })

  it('rejects duplicates, files used as directories, escaping paths and files without content', () => {
    expect(() => planTar([file('/a', '1'), file('/a', '2')])).toThrow(TarInputError)
    expect(() => planTar([file('/a', '1'), file('/a/b', '2')])).toThrow(/inside it/)
    expect(() => planTar([file('/a/b', '2'), file('/a', '1')])).toThrow(/inside it/)
    expect(() => planTar([file('/a/../etc/passwd', 'x')])).toThrow(/"\."/)
    expect(() => planTar([{path: '/a', type: 'file', mode: 0o644}])).toThrow(/needs a source/)
    expect(() => planTar([{path: '/a', type: 'file', mode: 0o10644, source: {bytes: Buffer.alloc(0)}}])).toThrow(/mode/)
  })
})

describe('tar writer', () => {
  it('is byte-identical for the same entries, whatever order they come in', async () => {
    const entries = [file('/b/2', 'two'), file('/a/1', 'one'), {path: '/a/link', type: 'symlink' as const, mode: 0o777, linkTarget: '1'}]
    const first = await tarBytes(entries, 1700000000)
    const second = await tarBytes([...entries].reverse(), 1700000000)
    expect(first.equals(second)).toBe(true)
    expect(first.length % 512).toBe(0)
    expect(first.subarray(-1024).every((byte) => byte === 0)).toBe(true)
  })

  it('writes long names (ustar prefix, then PAX), non-ASCII names and long link targets that GNU tar reads back', async () => {
    const big = join(dir, 'big.bin')
    const bigContent = Buffer.alloc(3 * 1024 * 1024 + 17, 7)
    bigContent.write('start')
    await writeFile(big, bigContent)
    const longTarget = `../${'t'.repeat(150)}`
    const entries: LayerEntry[] = [
      file(`/${LONG_DIR}handler.mjs`, 'export const handler = 1\n'),
      file(`/opt/${LONG_COMPONENT}/model.onnx`, 'onnx'),
      file('/opt/données/模型.txt', 'unicode'),
      {path: '/opt/link', type: 'symlink', mode: 0o777, linkTarget: longTarget},
      {path: '/opt/big.bin', type: 'file', mode: 0o755, source: {file: big}},
      file('/opt/empty', ''),
    ]
    const archive = join(dir, 'out.tar')
    await writeFile(archive, await tarBytes(entries, 1234567890))

    const listing = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', archive], {encoding: 'utf8', env: {...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8'}})
    const lines = listing.trim().split('\n')
    expect(lines).toHaveLength(planTar(entries).length)
    for (const line of lines) expect(line).toMatch(/^\S+ 0\/0 +\d+ 2009-02-13 23:31:30 /)
    expect(lines.map((line) => line.split(' 23:31:30 ')[1])).toEqual(planTar(entries).map((entry) => (entry.type === 'symlink' ? `${entry.name} -> ${entry.linkTarget}` : entry.name)))
    expect(listing).toMatch(new RegExp(`-rwxr-xr-x 0/0 +${bigContent.length} .* opt/big.bin`))

    const out = join(dir, 'extracted')
    execFileSync('mkdir', [out])
    execFileSync('tar', ['-xf', archive, '-C', out])
    expect(await readFile(join(out, LONG_DIR, 'handler.mjs'), 'utf8')).toBe('export const handler = 1\n')
    expect(await readFile(join(out, 'opt', LONG_COMPONENT, 'model.onnx'), 'utf8')).toBe('onnx')
    expect(await readFile(join(out, 'opt/données/模型.txt'), 'utf8')).toBe('unicode')
    expect(await readlink(join(out, 'opt/link'))).toBe(longTarget)
    expect((await readFile(join(out, 'opt/big.bin'))).equals(bigContent)).toBe(true)
    expect((await stat(join(out, 'opt/big.bin'))).mode & 0o777).toBe(0o755)
  })

  it('fits a long path into the ustar prefix field when it splits at a slash, and uses PAX otherwise', async () => {
    const split = await tarBytes([file(`/${LONG_DIR}handler.mjs`, 'x')])
    expect(split.includes('PaxHeaders')).toBe(false)
    const pax = await tarBytes([file(`/opt/${LONG_COMPONENT}`, 'x')])
    expect(pax.includes(`path=opt/${LONG_COMPONENT}\n`)).toBe(true)
  })

  it('reads back what it wrote: paths, types, modes, link targets and content', async () => {
    const entries: LayerEntry[] = [
      file(`/opt/${LONG_COMPONENT}/w.bin`, 'weights', 0o600),
      {path: '/opt/l', type: 'symlink', mode: 0o777, linkTarget: 'w'},
      {path: '/opt/s', type: 'file', mode: 0o644, source: {size: 6, open: () => Readable.from([Buffer.from('st'), Buffer.from('ream')])}},
    ]
    const read = await readAll(await tarBytes(entries, 42))
    expect(read.map((entry) => [entry.path, entry.type, entry.mode, entry.uid, entry.gid, entry.uname, entry.mtime])).toEqual([
      ['opt/', 'directory', 0o755, 0, 0, '', 42],
      ['opt/l', 'symlink', 0o777, 0, 0, '', 42],
      ['opt/s', 'file', 0o644, 0, 0, '', 42],
      [`opt/${LONG_COMPONENT}/`, 'directory', 0o755, 0, 0, '', 42],
      [`opt/${LONG_COMPONENT}/w.bin`, 'file', 0o600, 0, 0, '', 42],
    ])
    expect(read[1]!.linkTarget).toBe('w')
    expect(read[2]!.content.toString()).toBe('stream')
    expect(read[4]!.content.toString()).toBe('weights')
  })

  it('fails when a streamed source is not the size it declared', async () => {
    const entry = (size: number): LayerEntry => ({path: '/s', type: 'file', mode: 0o644, source: {size, open: () => Readable.from([Buffer.from('abc')])}})
    await expect(tarBytes([entry(2)])).rejects.toThrow(/longer than/)
    await expect(tarBytes([entry(4)])).rejects.toThrow(/ended after 3 of 4/)
  })
})

describe('tar reader', () => {
  it('reads GNU tar archives (GNU long names, PAX, gzip) and skips bodies left unread', async () => {
    const src = join(dir, 'src')
    const nested = join(src, 'a'.repeat(110), 'b'.repeat(110))
    execFileSync('mkdir', ['-p', nested])
    await writeFile(join(nested, 'file.txt'), 'deep')
    await writeFile(join(src, 'top.txt'), 'top')
    for (const format of ['gnu', 'pax']) {
      const archive = join(dir, `${format}.tar.gz`)
      execFileSync('tar', [`--format=${format}`, '-czf', archive, '-C', src, '.'])
      const read = await readAll(Readable.from([await readFile(archive)]))
      const byPath = new Map(read.map((entry) => [entry.path, entry]))
      expect(byPath.get(`./${'a'.repeat(110)}/${'b'.repeat(110)}/file.txt`)?.content.toString()).toBe('deep')
      expect(byPath.get('./top.txt')?.content.toString()).toBe('top')

      const names: string[] = []
      for await (const entry of readTar(Readable.from([await readFile(archive)]))) names.push(entry.path)
      expect(names).toEqual(read.map((entry) => entry.path))
    }
  })

  it('rejects something that is not a tar, and a truncated one', async () => {
    await expect(readAll(Buffer.alloc(1024, 0x41))).rejects.toThrow(TarFormatError)
    const whole = await tarBytes([file('/a', 'x'.repeat(2000))])
    await expect(readAll(whole.subarray(0, 1000))).rejects.toThrow(/truncated/)
    await expect(readAll(gzipSync(whole).subarray(0, 40))).rejects.toThrow()
  })
})
