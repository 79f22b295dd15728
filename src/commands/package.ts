import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {defaultCacheDir, packageFunction, parseOutput, type PackageResult} from '../services/package.js'
import {formatPackageResult} from '../ui/package-output.js'

export default class Package extends BaseCommand {
  static override summary = 'Build the function into a reproducible, Lambda-valid container image — no Docker daemon needed.'

  static override description = `Writes the image's layers and config itself: base → sai's runtime with the production dependencies (onnxruntime-node cut to the target platform) → the model → the function's code. Every byte is reproducible: fixed mtimes (SOURCE_DATE_EPOCH, default 0), uid/gid 0, sorted entries, deterministic gzip — the same inputs give the same digest.

Before anything is written or pushed, the image is checked against AWS Lambda's rules (single-platform manifest, consistent media types, compressed layers, parent directories in every layer, absolute WORKDIR and ENTRYPOINT, architecture, 10 GB, 4 KB of environment), and every violation is reported at once.

Bases: --base host builds a minimal base from this machine's node and the libraries it links (offline, the smallest image); --base HOST/REPO:TAG references a registry image (pulled only when an output needs its layers).`

  static override examples = [
    {description: 'An OCI image layout on this machine\'s node', command: '<%= config.bin %> package --spec fixtures/ocr-det --output oci:build/det'},
    {description: 'A docker-archive for `docker load`', command: '<%= config.bin %> package --output docker-archive:det.tar'},
    {description: 'Push to a registry on top of a base stored there', command: '<%= config.bin %> package --base 127.0.0.1:5000/lambda/nodejs:22 --output registry:127.0.0.1:5000/det:1'},
  ]

  static override flags = {
    spec: Flags.string({char: 's', summary: 'Function spec (sai.yaml, or a directory holding one).', default: 'sai.yaml'}),
    output: Flags.string({char: 'o', summary: 'Where it goes: oci:DIR, docker-archive:FILE, registry:HOST/REPO:TAG, or zip:FILE.', required: true}),
    base: Flags.string({summary: "host, or a registry image (default: public.ecr.aws/lambda/nodejs:<the spec's Node major> when pushing to ECR, else host)."}),
    format: Flags.option({summary: 'image (OCI layout, docker-archive or registry) or zip (for a managed nodejs runtime); default: from --output.', options: ['image', 'zip'] as const})(),
    arch: Flags.option({summary: 'Target architecture (default: the spec\'s).', options: ['x86_64', 'arm64'] as const})(),
    'source-date-epoch': Flags.integer({summary: 'Seconds since 1970 for every timestamp in the image.', env: 'SOURCE_DATE_EPOCH', default: 0, min: 0}),
    optimize: Flags.boolean({summary: "onnxruntime's offline graph optimization (level extended: portable across CPUs).", default: false}),
    'model-format': Flags.option({summary: 'With --optimize: ONNX, or ORT format (sessions create faster; warm runs can be slower).', options: ['onnx', 'ort'] as const, default: 'onnx'})(),
    quantize: Flags.option({summary: 'Rewrite the weights: int8 (dynamic, MatMul/Gemm), int8-weight-only, or fp16.', options: ['none', 'int8', 'int8-weight-only', 'fp16'] as const, default: 'none'})(),
    'min-cosine': Flags.custom<number>({summary: 'Accuracy gate: the optimized model\'s outputs must reach this cosine similarity with the original\'s (exit 3 below).', default: 0.99, parse: async (input) => {
      const value = Number(input)
      if (!(value > 0 && value <= 1)) throw new Error(`expected a number in (0, 1], found "${input}"`)
      return value
    }})(),
    bundle: Flags.boolean({summary: "Bundle the handler and what it imports into one module (esbuild); onnxruntime-node stays a package.", default: false}),
    'no-cache': Flags.boolean({summary: 'Build every layer anew instead of reusing unchanged ones (kept in $SAI_CACHE_DIR, default ~/.cache/sai).', default: false}),
    username: Flags.string({summary: 'Registry user (basic auth, or a token login).', env: 'SAI_REGISTRY_USERNAME'}),
    password: Flags.string({summary: 'Registry password or token.', env: 'SAI_REGISTRY_PASSWORD', dependsOn: ['username']}),
  }

  async run(): Promise<PackageResult> {
    const {flags} = await this.parse(Package)
    const result = await packageFunction({
      specPath: flags.spec,
      base: flags.base,
      architecture: flags.arch,
      output: parseOutput(flags.format === 'zip' && !flags.output.startsWith('zip:') ? `zip:${flags.output}` : flags.output, flags.format),
      sourceDateEpoch: flags['source-date-epoch'],
      optimize: flags.optimize ? {format: flags['model-format']} : undefined,
      quantize: flags.quantize === 'none' ? undefined : flags.quantize === 'int8' ? 'int8-dynamic' : flags.quantize,
      minCosine: flags['min-cosine'],
      cacheDir: flags['no-cache'] ? undefined : defaultCacheDir(),
      bundle: flags.bundle,
      credentials: flags.username ? {username: flags.username, password: flags.password ?? ''} : undefined,
      onProgress: (message) => this.progress(message),
    })
    if (!this.jsonEnabled()) process.stderr.write(formatPackageResult(result) + '\n')
    return result
  }
}
