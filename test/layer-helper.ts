/** Test support for packager code: lay a LayerSpec's entries out under a directory, as an image extractor would. */
import {chmodSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import type {LayerSpec} from '../src/packager/oci/types.js'

export function extractLayerSpec(layer: LayerSpec, root: string): void {
  for (const entry of layer.entries) {
    const target = path.join(root, entry.path)
    mkdirSync(path.dirname(target), {recursive: true})
    if (entry.type === 'directory') mkdirSync(target, {recursive: true})
    else if (entry.type === 'symlink') symlinkSync(entry.linkTarget!, target)
    else if (entry.source && 'file' in entry.source) copyFileSync(entry.source.file, target)
    else if (entry.source && 'bytes' in entry.source) writeFileSync(target, entry.source.bytes)
    if (entry.type !== 'symlink') chmodSync(target, entry.mode)
  }
}
