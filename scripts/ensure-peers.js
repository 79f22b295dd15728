// Installs the real peers the tests run against (test/peers: AWS's aws-lambda-ric, a native build that
// needs cmake) once. With SAI_PEERS_CACHE set (CI sets it), a build is reused across clean clones,
// keyed by the peers' lock file.
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync} from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const dir = fileURLToPath(new URL('../test/peers/', import.meta.url))
const built = path.join(dir, 'node_modules/aws-lambda-ric/rapid-client.node')
if (existsSync(built)) process.exit(0)

const key = createHash('sha256').update(readFileSync(path.join(dir, 'package-lock.json'))).digest('hex').slice(0, 16)
const cache = process.env.SAI_PEERS_CACHE ? path.join(process.env.SAI_PEERS_CACHE, key) : undefined
if (cache && existsSync(path.join(cache, 'node_modules/aws-lambda-ric/rapid-client.node'))) {
  cpSync(path.join(cache, 'node_modules'), path.join(dir, 'node_modules'), {recursive: true, verbatimSymlinks: true})
  console.error(`test peers: reused the build in ${cache}`)
  process.exit(0)
}

if (spawnSync('cmake', ['--version']).status !== 0) {
  console.error('test peers: aws-lambda-ric (AWS\'s runtime interface client, a test peer) builds native code with cmake, which is missing.\n  Try this: apt-get install cmake (Debian), then run npm test again.')
  process.exit(1)
}
console.error('test peers: installing aws-lambda-ric (native build, about 40 s, once)...')
const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {cwd: dir, stdio: 'inherit'})
if (install.status !== 0 || !existsSync(built)) {
  console.error('test peers: npm ci in test/peers failed (see above).')
  process.exit(1)
}
if (cache) {
  const partial = `${cache}.partial-${process.pid}`
  rmSync(partial, {recursive: true, force: true})
  mkdirSync(partial, {recursive: true})
  cpSync(path.join(dir, 'node_modules'), path.join(partial, 'node_modules'), {recursive: true, verbatimSymlinks: true})
  rmSync(cache, {recursive: true, force: true})
  renameSync(partial, cache)
}
