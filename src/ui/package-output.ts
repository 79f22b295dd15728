/** What `sai package` shows when it is done: the layers, what pruning saved, and where the image went. */
import {chalkStderr as chalk} from 'chalk'
import Table from 'cli-table3'
import type {PackageResult} from '../services/package.js'

export const formatBytes = (bytes: number): string =>
  bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : bytes >= 1e3 ? `${(bytes / 1e3).toFixed(1)} kB` : `${bytes} B`

export function formatPackageResult(result: PackageResult): string {
  const table = new Table({
    head: ['layer', 'compressed', 'uncompressed', 'entries', 'digest'].map((h) => chalk.bold(h)),
    style: {head: [], border: []},
    chars: {mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': ''},
  })
  for (const layer of result.layers) {
    table.push([`${layer.origin === 'base' ? chalk.dim(layer.name) : layer.name}${layer.cached ? chalk.dim(' (cached)') : ''}`, formatBytes(layer.bytes), layer.uncompressedBytes ? formatBytes(layer.uncompressedBytes) : '–', layer.entries || '–', chalk.dim(layer.digest.slice(0, 19))])
  }
  const {dependencies: deps} = result
  const zip = result.zip
  const lines = [
    chalk.bold.cyan(`${result.function}: ${result.output}`),
    ...(zip
      ? [`zip for ${zip.runtime}: ${formatBytes(zip.bytes)} zipped, ${formatBytes(zip.uncompressedBytes)} unzipped, ${zip.entries} entries; set the function's handler to ${chalk.bold(zip.handler)}`]
      : [table.toString(), `base: ${result.base}; ${result.architecture}; manifest ${result.manifestDigest}`, `added on top of the base: ${formatBytes(result.addedBytes)} compressed`]),
    `dependencies pruned: ${formatBytes(deps.bytesBefore)} → ${formatBytes(deps.bytesAfter)} (${deps.packages.filter((p) => p.bytesAfter > 0).map((p) => `${p.name} ${formatBytes(p.bytesAfter)}`).join(', ') || 'none'})`,
  ]
  if (result.bundled) lines.push(`bundled: ${result.bundled.inputs} module(s), ${formatBytes(result.bundled.sourceBytes)} of the function's own JS → ${result.bundled.module} (${formatBytes(result.bundled.bytes)})`)
  const model = result.model
  if (model && (model.quantize || model.optimize)) {
    const steps = [model.quantize && `${model.quantize.mode}: ${model.quantize.summary}`, model.optimize && `optimized (${model.optimize.level}, ${model.optimize.format})`].filter(Boolean).join('; ')
    lines.push(`model: ${formatBytes(model.original.bytes)} → ${formatBytes(model.packaged.bytes)} (${steps})`)
    if (model.quantize?.gainsLittle) lines.push(chalk.yellow(`  ${model.quantize.mode} gains little on this model: ${model.quantize.left.map((l) => `${l.opType} left as is (${l.reason})`).join('; ') || 'few weights to convert'}`))
    const a = model.accuracy
    if (a) {
      const worst = [...a.outputs].sort((x, y) => x.cosine - y.cosine)[0]
      lines.push(`  accuracy on ${a.samples} ${a.inputs === 'requests' ? 'sample event(s)' : 'random input(s)'}: cosine ${worst?.cosine.toFixed(5)} (gate ${a.minCosine}), max abs error ${worst?.maxAbsError.toPrecision(3)}${worst?.top1Agreement === undefined ? '' : `, top-1 agreement ${(100 * worst.top1Agreement).toFixed(1)}%`}`)
      lines.push(`  session create ${a.before.sessionCreateMs.toFixed(1)} → ${a.after.sessionCreateMs.toFixed(1)} ms; warm inference ${a.before.warmInferenceMs.toFixed(2)} → ${a.after.warmInferenceMs.toFixed(2)} ms`)
      for (const note of a.notes) lines.push(chalk.dim(`  ${note}`))
    }
  }
  lines.push(chalk.dim(result.advice))
  if (result.pushed) lines.push(`pushed: ${result.pushed.uploaded} blob(s) uploaded (${formatBytes(result.pushed.bytesUploaded)}), ${result.pushed.skipped} already there, ${result.pushed.mounted} mounted`)
  return lines.join('\n')
}
