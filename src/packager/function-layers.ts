/**
 * The layers `sai package` adds on top of a base, in the order that caches best (and that Lambda's
 * chunk-level dedup rewards): sai's runtime with the pruned dependencies, then the model, then the
 * function's own code — the part that changes most often last.
 */
import {lstatSync, readdirSync, readlinkSync, realpathSync} from 'node:fs'
import path from 'node:path'
import {SAI_BOOTSTRAP} from '../emulator/emulator.js'
import type {FunctionSpec} from '../spec/load.js'
import {SAI_RUNTIME_IMAGE_PATH} from './base/host.js'
import type {LayerEntry, LayerSpec} from './oci/types.js'
import {addEntry, SymlinkEscapeError} from './prune/dependencies.js'

export const TASK_ROOT = '/var/task'
export const MODEL_DIR = `${TASK_ROOT}/model`


/** Never part of the function layer: installed packages (pruned into their own layer) and VCS data. */
const SKIPPED_DIRS = new Set(['node_modules', '.git', '.hg', '.svn'])

function layerOf(name: string, entries: LayerEntry[]): LayerSpec {
  const map = new Map<string, LayerEntry>()
  for (const entry of entries) addEntry(map, entry)
  return {name, entries: [...map.values()]}
}

/** sai's runtime added to the dependencies layer the pruner built: both change with sai's version, not the function's. */
export function runtimeLayer(dependencies: LayerSpec): LayerSpec {
  return layerOf('runtime and dependencies', [...dependencies.entries, {path: SAI_RUNTIME_IMAGE_PATH, type: 'file', mode: 0o644, source: {file: SAI_BOOTSTRAP}}])
}

export function modelLayer(modelFile: string, imageName: string): LayerSpec {
  return layerOf('model', [{path: `${MODEL_DIR}/${imageName}`, type: 'file', mode: 0o644, source: {file: modelFile}}])
}

/**
 * The function directory as /var/task: its code, config and sample events; not its node_modules
 * (pruned separately) nor the model (a layer of its own). A symlink must stay inside the directory.
 */
export function functionLayer(spec: FunctionSpec): LayerSpec {
  const root = realpathSync(spec.dir)
  const model = spec.modelPath === undefined ? undefined : path.resolve(spec.modelPath)
  const entries: LayerEntry[] = [{path: TASK_ROOT, type: 'directory', mode: 0o755}]
  const walk = (dir: string, imageDir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const file = path.join(dir, name)
      const imagePath = `${imageDir}/${name}`
      const stat = lstatSync(file)
      if (stat.isDirectory()) {
        if (SKIPPED_DIRS.has(name)) continue
        entries.push({path: imagePath, type: 'directory', mode: 0o755})
        walk(file, imagePath)
      } else if (stat.isSymbolicLink()) {
        const target = path.resolve(dir, readlinkSync(file))
        const real = safeRealpath(target)
        if (real === undefined || !(real === root || real.startsWith(root + path.sep))) throw new SymlinkEscapeError(file, target, root)
        entries.push({path: imagePath, type: 'symlink', mode: 0o777, linkTarget: readlinkSync(file)})
      } else if (stat.isFile() && path.resolve(file) !== model) {
        // Lambda runs the function as a non-root user: everything readable, executables kept executable.
        entries.push({path: imagePath, type: 'file', mode: stat.mode & 0o111 ? 0o755 : 0o644, source: {file}})
      }
    }
  }
  walk(spec.dir, TASK_ROOT)
  return layerOf('function', entries)
}

function safeRealpath(file: string): string | undefined {
  try {
    return realpathSync(file)
  } catch {
    return undefined
  }
}
