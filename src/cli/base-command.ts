import {Command} from '@oclif/core'
import {renderError} from '../errors/render.js'
import {isSaiError} from '../errors/sai-error.js'

/** Every sai command: `--json` (result on stdout, progress on stderr) and one way of failing. */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  /** Human progress and text: always stderr, so stdout stays the result. */
  protected progress(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(message + '\n')
  }

  override async catch(error: Error & {oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own parse errors (unknown flag, missing argument) keep its rendering and exit code 2.
    if (!isSaiError(error) && error.oclif?.exit !== undefined) return super.catch(error)
    const rendered = renderError(error)
    if (this.jsonEnabled()) process.stdout.write(JSON.stringify(rendered.json, null, 2) + '\n')
    else process.stderr.write(rendered.text + '\n')
    return this.exit(rendered.exitCode)
  }
}
