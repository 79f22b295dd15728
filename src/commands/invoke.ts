import {Args, Flags} from '@oclif/core'
import {DEFAULT_ENDPOINT, invokeFunction, type InvokeOutput} from '../services/invoke.js'
import {BaseCommand} from '../cli/base-command.js'

export default class Invoke extends BaseCommand {
  static override summary = 'Invoke a function through the Lambda Invoke API (the emulator by default, or AWS).'

  static override description = `Calls Invoke with the AWS SDK, exactly as an application would, and prints the response payload on stdout. With --log-type Tail (the default here), the last 4 KB of the invoke's log (START, the function's lines, END, REPORT) is decoded and printed on stderr.

A function error (X-Amz-Function-Error) is printed but is not a failure of this command, as with \`aws lambda invoke\`.`

  static override examples = [
    {description: 'Invoke the function "det" in a running `sai emulate`', command: "<%= config.bin %> invoke det --payload '{\"inputs\": {}}'"},
    {description: 'Send a file as the event', command: '<%= config.bin %> invoke det --payload @events/sample.json'},
    {description: 'Queue an asynchronous invoke', command: '<%= config.bin %> invoke det --invocation-type Event --payload @events/sample.json'},
  ]

  static override args = {
    name: Args.string({description: 'Function name, name:qualifier, or ARN.', required: true}),
  }

  static override flags = {
    payload: Flags.string({summary: 'The event: inline JSON, or @file.', default: '{}'}),
    'endpoint-url': Flags.string({summary: 'Lambda API endpoint.', default: DEFAULT_ENDPOINT, env: 'SAI_ENDPOINT_URL'}),
    region: Flags.string({summary: 'AWS region (default: AWS_REGION, else us-east-1).'}),
    'invocation-type': Flags.option({summary: 'Synchronous, queued, or a permission check.', options: ['RequestResponse', 'Event', 'DryRun'] as const, default: 'RequestResponse'})(),
    'log-type': Flags.option({summary: 'Tail returns the last 4 KB of the log.', options: ['None', 'Tail'] as const, default: 'Tail'})(),
    qualifier: Flags.string({summary: 'Version or alias.'}),
    'client-context': Flags.string({summary: 'A JSON object passed to the function as context.clientContext.'}),
  }

  async run(): Promise<InvokeOutput> {
    const {args, flags} = await this.parse(Invoke)
    const output = await invokeFunction({
      functionName: args.name,
      payload: flags.payload,
      endpointUrl: flags['endpoint-url'],
      region: flags.region,
      invocationType: flags['invocation-type'],
      logType: flags['log-type'],
      qualifier: flags.qualifier,
      clientContext: flags['client-context'],
    })
    if (!this.jsonEnabled()) {
      if (output.log) process.stderr.write(output.log.endsWith('\n') ? output.log : output.log + '\n')
      const status = `StatusCode: ${output.statusCode}${output.executedVersion ? `, ExecutedVersion: ${output.executedVersion}` : ''}${output.functionError ? `, FunctionError: ${output.functionError}` : ''} (${output.durationMs.toFixed(1)} ms)`
      process.stderr.write(status + '\n')
      if (output.payload !== undefined) process.stdout.write((typeof output.payload === 'string' ? output.payload : JSON.stringify(output.payload, null, 2)) + '\n')
    }
    return output
  }
}
