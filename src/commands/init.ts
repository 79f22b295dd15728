import {Args, Flags} from '@oclif/core'
import {SaiError} from '../errors/sai-error.js'
import {initFunction, type InitResult} from '../services/init.js'
import {formatDims} from '../runtime/tensors.js'
import {BaseCommand} from '../cli/base-command.js'

export default class Init extends BaseCommand {
  static override summary = 'Create a function from an ONNX model: sai.yaml and a sample event.'

  static override description = `Loads the model with onnxruntime, reads its inputs and outputs (names, dtypes, dims), and writes <dir>/sai.yaml and <dir>/events/sample.json: a request in sai's tensor format filled with valid data. Symbolic dims get small defaults (1 for the first, 32 for the rest) unless --dim gives them a size. The sample is run through the model once, so it is known to work.`

  static override examples = [
    {description: 'Start a function for a model', command: '<%= config.bin %> init det --model ./ch_PP-OCRv4_det_infer.onnx'},
    {description: 'Size the symbolic dims of the sample', command: '<%= config.bin %> init det --model det.onnx --dim p2o.DynamicDimension.1=320 --dim p2o.DynamicDimension.2=320'},
  ]

  static override args = {
    dir: Args.string({description: 'Directory of the function (created if missing).', required: true}),
  }

  static override flags = {
    model: Flags.string({char: 'm', summary: 'The .onnx model file.', required: true}),
    name: Flags.string({summary: 'Function name (default: the directory name).'}),
    dim: Flags.string({summary: 'Size of a symbolic dim in the sample, NAME=SIZE; repeat the flag for several.', multiple: true, multipleNonGreedy: true}),
    memory: Flags.integer({summary: 'Memory size in MB.', default: 1024, min: 128, max: 10_240}),
    force: Flags.boolean({summary: 'Overwrite an existing sai.yaml and sample.', default: false}),
  }

  async run(): Promise<InitResult> {
    const {args, flags} = await this.parse(Init)
    const dims: Record<string, number> = {}
    for (const entry of flags.dim ?? []) {
      const match = /^(.+)=(\d+)$/.exec(entry)
      if (!match || Number(match[2]) < 1) {
        throw new SaiError('SAI_SPEC_INVALID', `--dim "${entry}": expected NAME=SIZE with a positive integer size`, {hint: 'e.g. --dim height=224'})
      }
      dims[match[1]!] = Number(match[2])
    }
    this.progress(`inspecting ${flags.model}...`)
    const result = await initFunction({dir: args.dir, model: flags.model, name: flags.name, dims, memory: flags.memory, force: flags.force})
    const list = (tensors: {name: string; type: string; shape: (string | number)[]}[]) => tensors.map((t) => `    ${t.name}: ${t.type} ${formatDims(t.shape)}`).join('\n')
    this.progress(`model: ${result.model.path} (${(result.model.bytes / 1e6).toFixed(1)} MB)\n  inputs:\n${list(result.model.inputs)}\n  outputs:\n${list(result.model.outputs)}`)
    this.progress(`wrote ${result.specPath}\nwrote ${result.samplePath} (${Object.entries(result.sample).map(([k, v]) => `${k} ${formatDims(v.dims)}`).join(', ')}; checked: the model returns ${Object.entries(result.sampleOutputs).map(([k, v]) => `${k} ${formatDims(v.dims)}`).join(', ')})`)
    this.progress(`next: sai emulate --spec ${result.specPath}   then   sai invoke ${result.name} --payload @${result.samplePath}`)
    return result
  }
}
