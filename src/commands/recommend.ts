import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {positiveNumberFlag} from '../cli/flags.js'
import {recommend, type RecommendResult} from '../services/recommend.js'
import {formatRecommendation} from '../ui/recommend-output.js'

export default class Recommend extends BaseCommand {
  static override summary = 'Recommend memory, batch size and provisioned concurrency from sai bench results and a traffic profile.'

  static override description = `Reads one or more \`sai bench --json\` results and decides:

  memory: the cheapest per 1,000 inferences whose warm p99 meets --slo-p99 (runs that ran out of memory or timed out are rejected)
  batch size: the largest whose warm p99 meets the SLO, mapped to an SQS event source's BatchSize and MaximumBatchingWindowInSeconds
  provisioned concurrency: the environments that keep the cold-start share under --max-cold-rate (Erlang-B loss model)

A decision the results cannot support names the bench flags that would measure it.`

  static override examples = [
    {description: 'Memory sweep and batch sweep, 10 req/s, 500 ms p99', command: '<%= config.bin %> recommend --bench sweep.json --rps 10 --slo-p99 500'},
    {description: 'Two bench results, arm64 prices, free tier', command: '<%= config.bin %> recommend --bench memory.json --bench batch.json --rps 3 --slo-p99 300 --arch arm64 --free-tier --json'},
  ]

  static override flags = {
    bench: Flags.string({summary: 'A sai bench --json result; repeatable (runs are merged).', required: true, multiple: true, multipleNonGreedy: true}),
    rps: positiveNumberFlag({summary: 'Mean requests per second.', required: true}),
    'slo-p99': positiveNumberFlag({summary: 'p99 latency objective, ms.', required: true}),
    'max-cold-rate': positiveNumberFlag({summary: 'Share of requests that may meet a cold start, percent.', default: 1}),
    arch: Flags.option({summary: 'Architecture to price (default: the bench spec\'s).', options: ['x86_64', 'arm64'] as const})(),
    'free-tier': Flags.boolean({summary: 'Subtract the monthly free tier (1M requests, 400,000 GB-s).', default: false}),
  }

  async run(): Promise<RecommendResult> {
    const {flags} = await this.parse(Recommend)
    const result = recommend({
      benchPaths: flags.bench,
      rps: flags.rps,
      sloP99Ms: flags['slo-p99'],
      maxColdRatePct: flags['max-cold-rate'],
      architecture: flags.arch,
      freeTier: flags['free-tier'],
    })
    if (!this.jsonEnabled()) process.stderr.write(formatRecommendation(result) + '\n')
    return result
  }
}
