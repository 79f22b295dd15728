import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {defaultCacheDir} from '../services/package.js'
import {deploy, type DeployResult} from '../services/deploy.js'
import {formatDeploy} from '../ui/deploy-output.js'

export default class Deploy extends BaseCommand {
  static override summary = 'Deploy the function to AWS Lambda — or, through the same API, to sai emulate — and make it match the spec.'

  static override description = `Packages the function (as sai package does), pushes the code (an image to ECR, or to --registry for a local endpoint; a zip uploads with the call), then brings Lambda to the spec through @aws-sdk/client-lambda:

  CreateFunction or UpdateFunctionCode / UpdateFunctionConfiguration (memory, timeout, environment, ephemeral storage, architecture, role), waiting until Active and the update Successful
  PublishVersion, then create or move the alias (default live)
  PutFunctionConcurrency (reserved) and PutProvisionedConcurrencyConfig on the alias, waiting for READY
  with --recommendation: the memory, provisioned concurrency and Application Auto Scaling target tracking sai recommend chose

It reads the current state first and changes only what differs: --dry-run prints the plan field by field, and deploying twice with no change does nothing. --require-bench refuses to deploy when that bench broke its budgets (exit 3). Credentials and region come from the standard AWS chain and are never printed; a local --endpoint-url needs none.`

  static override examples = [
    {description: 'Deploy to the local emulator (start it with sai emulate --empty) with a local registry standing in for ECR', command: '<%= config.bin %> deploy --endpoint-url http://127.0.0.1:9001 --registry 127.0.0.1:5000'},
    {description: 'See what would change on AWS, without changing it', command: '<%= config.bin %> deploy --region eu-west-1 --dry-run'},
    {description: 'CI: bench, then deploy only if the budgets held', command: '<%= config.bin %> bench --json bench.json && <%= config.bin %> deploy --require-bench bench.json'},
    {description: 'Deploy what sai recommend chose, with auto scaling', command: '<%= config.bin %> recommend --bench sweep.json --rps 20 --slo-p99 300 --json > rec.json && <%= config.bin %> deploy --recommendation rec.json'},
  ]

  static override flags = {
    spec: Flags.string({char: 's', summary: 'Function spec (sai.yaml, or a directory holding one).', default: 'sai.yaml'}),
    format: Flags.option({summary: 'Package type on Lambda.', options: ['image', 'zip'] as const, default: 'image'})(),
    region: Flags.string({summary: 'AWS region (default: the standard chain, e.g. AWS_REGION).', helpGroup: 'TARGET'}),
    'endpoint-url': Flags.string({summary: 'Another Lambda API endpoint, e.g. sai emulate\'s http://127.0.0.1:9001.', helpGroup: 'TARGET'}),
    registry: Flags.string({summary: 'With a local endpoint: the registry (HOST[:PORT]) that stands in for ECR.', helpGroup: 'TARGET'}),
    alias: Flags.string({summary: 'The alias to create or move to the new version.', default: 'live'}),
    role: Flags.string({summary: 'Execution role ARN (default: role in sai.yaml).', exclusive: ['create-role']}),
    'create-role': Flags.boolean({summary: 'Create a minimal execution role (sai-<function>, basic execution only) when none is given.', default: false}),
    'provisioned-concurrency': Flags.integer({summary: 'Provisioned environments on the alias (default: the spec\'s).', min: 0}),
    recommendation: Flags.string({summary: 'A sai recommend --json result to deploy: memory, provisioned concurrency, auto scaling.'}),
    'require-bench': Flags.string({summary: 'A sai bench --json result; deploy only if it passed its budgets (else exit 3).', helpGroup: 'GATES'}),
    'dry-run': Flags.boolean({summary: 'Print the plan and change nothing (the image is built, not pushed).', default: false}),
    'no-cache': Flags.boolean({summary: 'Build every layer anew instead of reusing unchanged ones ($SAI_CACHE_DIR, default ~/.cache/sai).', default: false}),
    'wait-timeout': Flags.integer({summary: 'Seconds to wait for the function, the version and provisioned concurrency to be ready.', default: 900, min: 1}),
  }

  async run(): Promise<DeployResult> {
    const {flags} = await this.parse(Deploy)
    const result = await deploy({
      specPath: flags.spec,
      format: flags.format,
      region: flags.region,
      endpointUrl: flags['endpoint-url'],
      registry: flags.registry,
      alias: flags.alias,
      role: flags.role,
      createRole: flags['create-role'],
      provisionedConcurrency: flags['provisioned-concurrency'],
      recommendationPath: flags.recommendation,
      requireBenchPath: flags['require-bench'],
      dryRun: flags['dry-run'],
      waitTimeoutSeconds: flags['wait-timeout'],
      cacheDir: flags['no-cache'] ? undefined : defaultCacheDir(),
      onProgress: (message) => this.progress(`sai deploy: ${message}`),
    })
    if (!this.jsonEnabled()) process.stderr.write(formatDeploy(result) + '\n')
    return result
  }
}
