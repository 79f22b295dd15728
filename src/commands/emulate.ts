import {Flags} from '@oclif/core'
import {startEmulation} from '../services/emulate.js'
import {formatEmulatorBanner, printEmulatorEvents} from '../ui/emulator-output.js'
import {BaseCommand} from '../cli/base-command.js'
import {durationFlag} from '../cli/flags.js'

export default class Emulate extends BaseCommand {
  static override summary = 'Serve functions locally behind the Lambda Invoke API, as AWS Lambda runs them.'

  static override description = `Starts a local emulator of AWS Lambda: the Invoke API the AWS SDK and CLI speak (POST /2015-03-31/functions/{name}/invocations), and for every execution environment the Lambda Runtime API. Environments start from zero on the first invoke (a cold start), are reused while warm, are reaped after --keep-alive idle seconds, and are limited to the function's memory (an environment over it is killed with Runtime.OutOfMemory). Every invoke prints Lambda's START / END / REPORT lines, with a measured Init Duration and Max Memory Used.

The same port serves the part of the Lambda control plane a deploy tool uses (CreateFunction, UpdateFunctionCode/Configuration, PublishVersion, aliases, provisioned and reserved concurrency, DeleteFunction, ListFunctions), with Lambda's states: functions created from a zip built by \`sai package --output zip:FILE\` or an image it pushed to a registry start Pending and become Active. With --empty the emulator starts with no functions and waits for CreateFunction.

Runs until Ctrl-C (SIGINT) or SIGTERM, then stops every environment it started. With --json, events stream to stdout as JSON lines.`

  static override examples = [
    {description: 'Serve the function in ./sai.yaml on http://127.0.0.1:9001', command: '<%= config.bin %> emulate'},
    {description: 'Serve two functions; environments are reaped after 60 idle seconds', command: '<%= config.bin %> emulate --spec det/sai.yaml --spec rec/sai.yaml --keep-alive 60'},
    {description: 'Invoke it from another terminal with the AWS CLI', command: 'aws lambda invoke --endpoint-url http://127.0.0.1:9001 --function-name det --payload fileb://events/sample.json out.json'},
    {description: 'Start with no functions, waiting for CreateFunction on the control plane', command: '<%= config.bin %> emulate --empty'},
    {description: 'Then create one from a zip built by `sai package --output zip:det.zip`', command: 'aws lambda create-function --endpoint-url http://127.0.0.1:9001 --function-name det --role arn:aws:iam::000000000000:role/det --runtime nodejs22.x --handler sai-handler.handler --zip-file fileb://det.zip'},
  ]

  static override flags = {
    spec: Flags.string({char: 's', summary: 'Function spec (sai.yaml, or a directory holding one); repeat to serve several functions. Default: ./sai.yaml, unless --image or --zip is given.', multiple: true, multipleNonGreedy: true}),
    image: Flags.string({summary: 'An image built by `sai package` (OCI layout directory, docker-archive, or registry HOST/REPO:TAG): runs the packaged bytes; repeatable.', multiple: true, multipleNonGreedy: true}),
    zip: Flags.string({summary: 'A zip built by `sai package --output zip:FILE`, run as the managed runtime would; repeatable.', multiple: true, multipleNonGreedy: true}),
    empty: Flags.boolean({summary: 'Start with no functions (not even ./sai.yaml): they are created through the control plane (CreateFunction).', default: false, exclusive: ['spec', 'image', 'zip']}),
    host: Flags.string({summary: 'Address the Invoke API listens on.', default: '127.0.0.1', env: 'SAI_HOST'}),
    port: Flags.integer({char: 'p', summary: 'Port of the Invoke API (0 picks a free one).', default: 9001, min: 0, max: 65535, env: 'SAI_PORT'}),
    backend: Flags.option({summary: 'Where execution environments run: child processes, or Docker containers of the packaged image (Lambda\'s memory, CPU, pids, nofile, read-only root).', options: ['process', 'docker'] as const, default: 'process'})(),
    freeze: Flags.boolean({summary: 'Freeze environments between invokes, as Lambda does: background work stops (SIGSTOP, or the container\'s freezer cgroup).', default: false}),
    'docker-network': Flags.string({summary: 'Docker backend: the network containers join (default: host, so the Runtime API stays on 127.0.0.1).'}),
    'keep-alive': durationFlag({summary: 'How long an idle environment stays warm before it is reaped: seconds, or e.g. 10m, 500ms (0: every invoke is a cold start).', default: 600_000, defaultHelp: async () => '10m'}),
    'account-concurrency': Flags.integer({summary: "Account concurrency limit shared by functions without reserved concurrency (Lambda's default is 1000).", default: 1000, min: 1}),
    'no-cgroups': Flags.boolean({summary: 'Enforce memory by watching RSS even where cgroups are available.', default: false}),
    quiet: Flags.boolean({char: 'q', summary: 'Do not print function logs and REPORT lines.', default: false}),
  }

  // With --json the output is a stream of JSON lines (one event each), ending with a "stopped" event.
  async run(): Promise<void> {
    const {flags} = await this.parse(Emulate)
    const json = this.jsonEnabled()
    const running = await startEmulation({
      specPaths: flags.spec,
      empty: flags.empty,
      imagePaths: [...(flags.image ?? []), ...(flags.zip ?? [])],
      host: flags.host,
      port: flags.port,
      backend: flags.backend,
      keepAliveSeconds: flags['keep-alive'] / 1000,
      accountConcurrency: flags['account-concurrency'],
      cgroups: !flags['no-cgroups'],
      dockerNetwork: flags['docker-network'],
      freeze: flags.freeze,
    })
    const {emulator, endpoint} = running
    if (json) process.stdout.write(JSON.stringify({event: 'listening', url: endpoint.url, sessionId: emulator.sessionId, backend: emulator.backend.capabilities}) + '\n')
    else process.stderr.write(formatEmulatorBanner(emulator, endpoint.url, flags['keep-alive'] / 1000) + '\n')
    const stopPrinting = printEmulatorEvents(emulator, {json, quiet: flags.quiet})
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      let received: NodeJS.Signals | undefined
      const onSignal = (name: NodeJS.Signals) => {
        // A second Ctrl-C must not kill sai halfway: environments and cgroups would be left behind.
        if (received) return void process.stderr.write(`${name}: still stopping environments, one moment...\n`)
        received = name
        resolve(name)
      }
      process.on('SIGINT', onSignal)
      process.on('SIGTERM', onSignal)
    })
    this.progress(`\n${signal}: stopping ${emulator.functionSpecs().reduce((n, f) => n + emulator.environments(f.name).length, 0)} environment(s)...`)
    const dropped = emulator.pendingEvents
    await running.close()
    stopPrinting()
    if (dropped > 0) this.progress(`${dropped} queued Event invoke(s) were not run.`)
    this.progress('stopped.')
    if (json) process.stdout.write(JSON.stringify({event: 'stopped', signal, droppedEvents: dropped}) + '\n')
  }
}
