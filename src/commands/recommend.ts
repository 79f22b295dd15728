import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {durationFlag, percentFlag, positiveNumberFlag} from '../cli/flags.js'
import {recommend, type RecommendResult} from '../services/recommend.js'
import {formatRecommendation} from '../ui/recommend-output.js'

export default class Recommend extends BaseCommand {
  static override summary = 'Recommend memory, batch size and provisioned concurrency from sai bench results and a traffic profile, with the cost of each choice.'

  static override description = `Reads one or more \`sai bench --json\` results and projects a month of your traffic through a simulation of Lambda's pool (scale from zero, keep-alive, provisioned environments with spillover, the scaling limit), drawing durations from what bench measured. It decides:

  memory: the cheapest per 1,000 inferences whose end-to-end p99 (cold starts included) meets --slo-p99; sizes that ran out of memory or timed out are rejected, sizes within noise of each other are grouped
  batch size: the largest whose warm p99 meets the SLO, mapped to an SQS event source's BatchSize and MaximumBatchingWindowInSeconds
  provisioned concurrency: the fewest pre-initialized environments that keep the cold-start share under --max-cold-rate (Erlang-B bounds the search, the simulation decides), with Application Auto Scaling settings, a schedule for a periodic profile, and the break-even against on-demand

Costs cover requests, duration by volume tier, INIT on cold starts, provisioned concurrency and ephemeral storage; an always-on fleet sized for the peak is priced for comparison. A decision the results cannot support names the bench flags that would measure it.`

  static override examples = [
    {description: 'A memory and batch sweep, 10 req/s, 500 ms p99', command: '<%= config.bin %> recommend --bench sweep.json --rps 10 --slo-p99 500'},
    {description: 'A mean and a peak, at most 0.5% cold starts, arm64, as JSON', command: '<%= config.bin %> recommend --bench sweep.json --rps 3 --peak-rps 40 --max-cold-rate 0.5 --slo-p99 300 --arch arm64 --json'},
    {description: 'A daily shape (24 hourly rates), and write the settings into sai.yaml', command: '<%= config.bin %> recommend --bench sweep.json --profile diurnal.json --slo-p99 500 --apply'},
    {description: 'Replay real request timestamps, with an HTML report', command: '<%= config.bin %> recommend --bench sweep.json --trace requests.csv --slo-p99 800 --html report.html'},
  ]

  static override flags = {
    bench: Flags.string({summary: 'A sai bench --json result; repeatable (runs are merged).', required: true, multiple: true, multipleNonGreedy: true}),
    rps: positiveNumberFlag({summary: 'Mean requests per second.', helpGroup: 'TRAFFIC'}),
    'peak-rps': positiveNumberFlag({summary: 'Busiest hour\'s requests per second (with --rps; an assumed daily curve peaking at 14:00 UTC).', helpGroup: 'TRAFFIC'}),
    profile: Flags.string({summary: 'A daily shape: JSON of 24 hourly rates in req/s, 00:00–23:00 UTC.', helpGroup: 'TRAFFIC'}),
    trace: Flags.string({summary: 'Request timestamps to replay (the CSV sai bench --trace reads).', helpGroup: 'TRAFFIC'}),
    'slo-p99': positiveNumberFlag({summary: 'p99 latency objective, end to end with cold starts, ms.', required: true, helpGroup: 'OBJECTIVES'}),
    'max-cold-rate': positiveNumberFlag({summary: 'Share of requests that may meet a cold start, percent.', default: 1, helpGroup: 'OBJECTIVES'}),
    'max-error-rate': percentFlag({summary: 'Share of invokes that may time out or run out of memory before a size is rejected, e.g. 0.1%.', default: 0.001, helpGroup: 'OBJECTIVES'}),
    'keep-alive': durationFlag({summary: 'How long Lambda keeps an idle environment, e.g. 5m. AWS does not publish it; observed 5–15 min, so the default is the cautious end.', default: 300_000, defaultHelp: async () => '5m', helpGroup: 'OBJECTIVES'}),
    arch: Flags.option({summary: 'Architecture to price (default: the bench spec\'s).', options: ['x86_64', 'arm64'] as const, helpGroup: 'PRICING'})(),
    region: Flags.string({summary: 'Region to price; us-east-1 is built in, others need --prices.', helpGroup: 'PRICING'}),
    prices: Flags.string({summary: 'A price table JSON (see docs/prices.md).', helpGroup: 'PRICING'}),
    'free-tier': Flags.boolean({summary: 'Subtract the monthly free tier (1M requests, 400,000 GB-s).', default: false, helpGroup: 'PRICING'}),
    apply: Flags.boolean({summary: 'Write the recommended memory, batch and provisioned concurrency into the bench\'s sai.yaml (comments kept).', default: false, helpGroup: 'OUTPUT'}),
    html: Flags.string({summary: 'Write the bench report with a recommendation section (cost vs memory, cold share vs provisioned concurrency).', helpGroup: 'OUTPUT'}),
    seed: Flags.integer({summary: 'Seed of the simulated arrivals (the same seed, the same answer).', default: 1, helpGroup: 'OUTPUT'}),
  }

  async run(): Promise<RecommendResult> {
    const {flags} = await this.parse(Recommend)
    const result = await recommend({
      benchPaths: flags.bench,
      rps: flags.rps,
      peakRps: flags['peak-rps'],
      profilePath: flags.profile,
      tracePath: flags.trace,
      sloP99Ms: flags['slo-p99'],
      maxColdRatePct: flags['max-cold-rate'],
      maxErrorRatePct: 100 * flags['max-error-rate'],
      keepAliveSeconds: flags['keep-alive'] / 1000,
      architecture: flags.arch,
      region: flags.region,
      pricesPath: flags.prices,
      freeTier: flags['free-tier'],
      apply: flags.apply,
      htmlPath: flags.html,
      seed: flags.seed,
    })
    if (!this.jsonEnabled()) process.stderr.write(formatRecommendation(result) + '\n')
    return result
  }
}
