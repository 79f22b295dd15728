import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {durationFlag, durationListFlag, integerListFlag, percentFlag, positiveNumberFlag} from '../cli/flags.js'
import {benchTables} from '../bench/report/tables.js'
import {SaiError} from '../errors/sai-error.js'
import {EXIT} from '../errors/codes.js'
import {bench, parseTarget, writeBenchOutputs} from '../services/bench.js'
import {BudgetSyntaxError, parseBudgetFlag} from '../spec/budgets.js'
import {LAMBDA_LIMITS} from '../spec/limits.js'
import {formatTables, ProgressBar} from '../ui/bench-output.js'

export default class Bench extends BaseCommand {
  static override summary = 'Measure cold and warm latency under bursts and load, sweep memory and batch size, and gate CI on budgets.'

  static override description = `Starts the emulator in this process and runs the phases you select against your function, with requests from its events/*.json (or --payload):

  burst (--burst N): N concurrent invokes from zero environments, then N again warm
  cold-start series (--cold-samples K): K cold starts, one after another
  idle gaps (--idle-gaps 1s,30s,5m): is the next invoke cold after each gap?
  closed load (--connections C --duration D): autocannon, C clients back to back
  open load (--rate R, or --trace FILE): requests at their own times; latency from the intended send time

With no phase selected: --cold-samples 5 and a 10 s closed load on 1 connection. --memory and --batch repeat the phases for each size.

--target lambda:NAME runs the same phases against a function already deployed on AWS Lambda (or on sai emulate: --endpoint-url) through @aws-sdk/client-lambda, instead of starting the emulator. REPORT lines from each response's log tail give the figures; cold starts are forced by changing an environment variable of $LATEST (put back at the end), so a --qualifier other than $LATEST gets warm phases only. Credentials and region come from the standard AWS chain.

Latencies go into HDR histograms at microsecond resolution, cold and warm kept apart, with bootstrap 95% confidence intervals for p50 and p99. Budgets (sai.yaml "budgets:" or --budget) and --baseline regressions are gates: any breach exits with code 3. Ctrl-C stops the run, stops every environment, and still writes what was measured (exit code 130).`

  static override examples = [
    {description: 'Cold starts under a burst of 10, then 30 s of warm load on 4 connections', command: '<%= config.bin %> bench --spec fixtures/ocr-det --burst 10 --connections 4 --duration 30s'},
    {description: 'Memory sweep with an HTML report', command: '<%= config.bin %> bench --memory 512,1024,2048,3008 --html report.html'},
    {description: 'Open model: 20 req/s Poisson arrivals for a minute', command: '<%= config.bin %> bench --rate 20 --arrival poisson --duration 1m'},
    {description: 'A deployed function: 10 forced cold starts, then 30 s of warm load on 4 connections', command: '<%= config.bin %> bench --target lambda:my-function --region eu-west-1 --cold-samples 10 --connections 4 --duration 30s'},
    {description: 'CI gate: budgets and a baseline; JUnit for the CI system', command: '<%= config.bin %> bench --burst 5 --budget cold.p99=1500ms --budget warm.p95=50ms --baseline main.json --json run.json --junit junit.xml'},
  ]

  static override enableJsonFlag = false

  static override flags = {
    spec: Flags.string({char: 's', summary: 'Function spec (sai.yaml, or a directory holding one).', default: 'sai.yaml'}),
    image: Flags.string({summary: 'Bench an image built by `sai package` (OCI layout directory, docker-archive, or registry HOST/REPO:TAG) instead of the spec: the bytes that ship.', exclusive: ['zip']}),
    zip: Flags.string({summary: 'Bench a zip built by `sai package --output zip:FILE` instead of the spec.'}),
    backend: Flags.option({summary: 'Where execution environments run: child processes, or Docker containers of the packaged image (Lambda\'s memory, CPU, pids, nofile, read-only root).', options: ['process', 'docker'] as const, default: 'process'})(),
    freeze: Flags.boolean({summary: 'Freeze environments between invokes, as Lambda does: background work stops (SIGSTOP, or the container\'s freezer cgroup).', default: false}),
    'docker-network': Flags.string({summary: 'Docker backend: the network containers join (default: host, so the Runtime API stays on 127.0.0.1).'}),
    burst: Flags.integer({summary: 'Burst phase: N concurrent invokes from zero environments, then N warm.', min: 1, max: LAMBDA_LIMITS.accountConcurrency, helpGroup: 'PHASES'}),
    'cold-samples': Flags.integer({summary: 'Cold-start series: K cold starts one after another.', min: 1, helpGroup: 'PHASES'}),
    'idle-gaps': durationListFlag({summary: 'Idle-gap probes, e.g. 1s,30s,5m: is the next invoke cold after each gap?', helpGroup: 'PHASES'}),
    connections: Flags.integer({char: 'c', summary: 'Warm load: concurrent connections (closed model), or environments warmed before an open model.', min: 1, helpGroup: 'PHASES'}),
    duration: durationFlag({char: 'd', summary: 'Warm load: how long, e.g. 30s or 2m (default 10s).', helpGroup: 'PHASES'}),
    rate: positiveNumberFlag({char: 'r', summary: 'Open model: requests per second.', exclusive: ['trace'], helpGroup: 'PHASES'}),
    arrival: Flags.option({summary: 'Open model: evenly spaced or Poisson arrivals.', options: ['constant', 'poisson'] as const, default: 'constant', helpGroup: 'PHASES'})(),
    ramp: Flags.boolean({summary: 'Open model: rise linearly from 0 to --rate over --duration.', dependsOn: ['rate'], helpGroup: 'PHASES'}),
    trace: Flags.string({summary: 'Open model: replay a CSV of request timestamps (see README).', helpGroup: 'PHASES'}),
    'max-in-flight': Flags.integer({summary: 'Open model: requests outstanding at most; a send beyond it is dropped and counted.', default: 256, min: 1, helpGroup: 'PHASES'}),
    seed: Flags.integer({summary: 'Seed of the Poisson arrivals (the same seed, the same schedule).', default: 1, helpGroup: 'PHASES'}),
    memory: integerListFlag(LAMBDA_LIMITS.memoryMb)({summary: 'Memory sweep: sizes in MB, e.g. 512,1024,2048,3008.', helpGroup: 'SWEEPS'}),
    batch: integerListFlag({min: 1, max: 4096})({summary: 'Batch sweep: items per invoke, e.g. 1,2,4,8,16,32 (sent as {"batch": [...]}).', helpGroup: 'SWEEPS'}),
    payload: Flags.string({summary: 'The request: inline JSON or @file (default: the events/*.json next to the spec).'}),
    'keep-alive': durationFlag({summary: 'How long an idle environment stays warm: seconds, or e.g. 10m, 500ms.', default: 600_000, defaultHelp: async () => '10m'}),
    'provisioned-concurrency': Flags.integer({summary: 'Provisioned environments, initialized before measuring and never reaped (default: the spec\'s provisionedConcurrency).', min: 0}),
    budget: Flags.string({summary: 'A budget, metric=limit, e.g. cold.p99=1500ms, warm.p95=50ms, errors=0.1%; repeatable.', multiple: true, multipleNonGreedy: true, helpGroup: 'GATES'}),
    baseline: Flags.string({summary: 'An earlier --json result: a significant regression above the threshold fails.', helpGroup: 'GATES'}),
    'regression-threshold': percentFlag({summary: 'Smallest regression that fails the baseline gate.', default: 0.1, defaultHelp: async () => '10%', helpGroup: 'GATES'}),
    json: Flags.string({summary: 'Write the full result as JSON to this file ("-" for stdout).', helpGroup: 'OUTPUT'}),
    html: Flags.string({summary: 'Write a self-contained HTML report with charts.', helpGroup: 'OUTPUT'}),
    junit: Flags.string({summary: 'Write JUnit XML, one test case per budget.', helpGroup: 'OUTPUT'}),
    'no-cgroups': Flags.boolean({summary: 'Enforce memory by watching RSS even where cgroups are available.', default: false}),
    target: Flags.string({
      summary: 'Bench a deployed function instead of the spec: lambda:<function-name> (or its ARN), on AWS Lambda or on sai emulate (--endpoint-url).',
      // The emulator's own settings mean nothing for a function that runs elsewhere.
      exclusive: ['spec', 'image', 'zip', 'backend', 'freeze', 'docker-network', 'no-cgroups', 'keep-alive', 'provisioned-concurrency'],
      helpGroup: 'TARGET',
    }),
    region: Flags.string({summary: 'With --target: the AWS region (default: the standard chain, e.g. AWS_REGION).', dependsOn: ['target'], helpGroup: 'TARGET'}),
    'endpoint-url': Flags.string({summary: "With --target: another Lambda API endpoint, e.g. sai emulate's http://127.0.0.1:9001.", dependsOn: ['target'], helpGroup: 'TARGET'}),
    qualifier: Flags.string({summary: 'With --target: a version or alias to invoke (cold starts and --memory need $LATEST).', dependsOn: ['target'], helpGroup: 'TARGET'}),
  }

  /** `--json -` puts the result, or the error, on stdout. */
  override jsonEnabled(): boolean {
    const at = this.argv.findIndex((a) => a === '--json' || a.startsWith('--json='))
    return at >= 0 && (this.argv[at] === '--json=-' || this.argv[at + 1] === '-')
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Bench)
    const budgets = (flags.budget ?? []).map((text) => {
      try {
        return {...parseBudgetFlag(text), source: 'flag' as const}
      } catch (error) {
        if (!(error instanceof BudgetSyntaxError)) throw error
        throw new SaiError('SAI_BUDGET_INVALID', `--budget ${text}: ${error.message}`, {hint: 'write metric=limit, e.g. --budget cold.p99=1500ms; the README lists every metric'})
      }
    })
    const anyPhase = flags.burst !== undefined || flags['cold-samples'] !== undefined || flags['idle-gaps'] !== undefined
    const wantsLoad = flags.connections !== undefined || flags.duration !== undefined || flags.rate !== undefined || flags.trace !== undefined
    // A published version cannot be made cold: its default is the load alone.
    const qualifier = flags.target === undefined ? undefined : (flags.qualifier ?? parseTarget(flags.target).qualifier ?? '$LATEST')
    const defaultColdSamples = qualifier === undefined || qualifier === '$LATEST' ? 5 : undefined
    const controller = new AbortController()
    const progress = new ProgressBar()
    const quiet = this.jsonEnabled()
    let interrupts = 0
    const onSignal = (name: NodeJS.Signals) => {
      // A second Ctrl-C must not kill sai halfway: environments would be left behind.
      if (interrupts++ > 0) return progress.log(`${name}: still stopping environments, one moment...`)
      progress.log(`${name}: stopping — in-flight invokes finish, environments stop, and what was measured is written.`)
      controller.abort()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    let result
    try {
      result = await bench({
        specPath: flags.spec,
        imagePath: flags.image ?? flags.zip,
        backend: flags.backend,
        burst: flags.burst,
        target: flags.target === undefined ? undefined : {target: flags.target, qualifier: flags.qualifier, region: flags.region, endpointUrl: flags['endpoint-url']},
        coldSamples: flags['cold-samples'] ?? (anyPhase || wantsLoad ? undefined : defaultColdSamples),
        idleGapsMs: flags['idle-gaps'],
        keepAliveSeconds: flags['keep-alive'] / 1000,
        provisionedConcurrency: flags['provisioned-concurrency'],
        load:
          wantsLoad || !anyPhase
            ? {
                connections: flags.connections ?? 1,
                durationMs: flags.duration ?? 10_000,
                rate: flags.rate,
                arrival: flags.arrival,
                ramp: flags.ramp ?? false,
                tracePath: flags.trace,
                maxInFlight: flags['max-in-flight'],
                seed: flags.seed,
              }
            : undefined,
        memorySizes: flags.memory,
        batchSizes: flags.batch,
        payload: flags.payload,
        budgets,
        baselinePath: flags.baseline,
        regressionThreshold: flags['regression-threshold'],
        cgroups: !flags['no-cgroups'],
        dockerNetwork: flags['docker-network'],
        freeze: flags.freeze,
        signal: controller.signal,
        onProgress: quiet ? undefined : (update) => progress.update(update),
        onNote: quiet ? undefined : (message) => progress.log(message),
      })
    } finally {
      progress.stop()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    const written = writeBenchOutputs(result, {json: flags.json, html: flags.html, junit: flags.junit, stepSummary: process.env.GITHUB_STEP_SUMMARY})
    if (quiet) process.stdout.write(JSON.stringify(result, null, 2) + '\n')
    else {
      process.stderr.write(formatTables(benchTables(result)) + '\n\n')
      for (const file of written) this.progress(`wrote ${file}`)
      const failed = result.budgets.filter((b) => !b.passed).length + (result.baseline?.checks.filter((c) => c.failed).length ?? 0)
      if (result.interrupted) this.progress('interrupted: the results above are partial.')
      else if (failed > 0) this.progress(`${failed} gate(s) failed: exit code ${EXIT.gate}.`)
    }
    if (result.interrupted) process.exitCode = 130
    else if (!result.passed) process.exitCode = EXIT.gate
  }
}
