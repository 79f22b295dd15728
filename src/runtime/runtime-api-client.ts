/**
 * The client side of the Lambda Runtime API, in plain Node (no native code), so the same file runs
 * in `sai emulate` and on AWS Lambda. One keep-alive socket carries every call.
 */
import {HttpConnection, type HttpResponse} from './http-connection.js'

export interface Invocation {
  requestId: string
  deadlineMs: number
  invokedFunctionArn: string
  traceId?: string
  clientContext?: string
  cognitoIdentity?: string
  body: Buffer
}

export interface ErrorBody {
  errorType: string
  errorMessage: string
  trace: string[]
}

const API_VERSION = '2018-06-01'

export class RuntimeApiClient {
  private readonly connection: HttpConnection
  /** Sent once, on the first /next: when this process and its runtime code started (sai's cold-start phases; Lambda ignores them). */
  private firstNextHeaders?: Record<string, string>

  /**
   * @param outputBytes what the process has written to stdout and stderr so far, sent with every
   *   answer (Sai-Output-Bytes): a backend whose output travels separately (a container's) knows how
   *   much to wait for before the invoke's log is complete. Lambda ignores the header.
   * @param socketPath the same API on a Unix socket (sai's process backend offers one through
   *   SAI_RUNTIME_API_SOCKET: cheaper than TCP on loopback); absent on Lambda.
   */
  constructor(endpoint: string, firstNextHeaders?: Record<string, string>, socketPath?: string, private readonly outputBytes?: () => number) {
    this.firstNextHeaders = firstNextHeaders
    const separator = endpoint.lastIndexOf(':')
    const host = endpoint.slice(0, separator).replace(/^\[|\]$/g, '')
    this.connection = new HttpConnection(socketPath ? {path: socketPath} : {host, port: Number(endpoint.slice(separator + 1))}, endpoint)
  }

  /** Long-polls for the next event; never times out, as the Runtime API requires. */
  async nextInvocation(): Promise<Invocation> {
    const extra = this.firstNextHeaders
    this.firstNextHeaders = undefined
    const {status, headers, body} = await this.connection.request('GET', `/${API_VERSION}/runtime/invocation/next`, extra)
    if (status !== 200) throw new Error(`Runtime API /next answered ${status}: ${body.toString()}`)
    const header = (name: string): string | undefined => headers[name]
    return {
      requestId: header('lambda-runtime-aws-request-id') ?? '',
      deadlineMs: Number(header('lambda-runtime-deadline-ms') ?? Date.now() + 3000),
      invokedFunctionArn: header('lambda-runtime-invoked-function-arn') ?? '',
      traceId: header('lambda-runtime-trace-id'),
      clientContext: header('lambda-runtime-client-context'),
      cognitoIdentity: header('lambda-runtime-cognito-identity'),
      body,
    }
  }

  async postResponse(requestId: string, body: string): Promise<void> {
    const result = await this.post(`/${API_VERSION}/runtime/invocation/${requestId}/response`, body)
    if (result.status === 413) {
      // The response was too large: Lambda turns this into Function.ResponseSizeTooLarge itself.
      return
    }
    this.expectAccepted(result, 'response')
  }

  async postError(requestId: string, error: ErrorBody): Promise<void> {
    const result = await this.post(`/${API_VERSION}/runtime/invocation/${requestId}/error`, JSON.stringify(error), {
      'Lambda-Runtime-Function-Error-Type': error.errorType,
    })
    this.expectAccepted(result, 'error')
  }

  async postInitError(error: ErrorBody): Promise<void> {
    const result = await this.post(`/${API_VERSION}/runtime/init/error`, JSON.stringify(error), {
      'Lambda-Runtime-Function-Error-Type': error.errorType,
    })
    this.expectAccepted(result, 'init error')
  }

  private expectAccepted(result: HttpResponse, what: string): void {
    if (result.status !== 202) throw new Error(`Runtime API refused the ${what} (${result.status}): ${result.body.toString()}`)
  }

  private post(path: string, body: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    const output = this.outputBytes?.()
    const extra: Record<string, string> = output === undefined ? {} : {'Sai-Output-Bytes': String(output)}
    return this.connection.request('POST', path, {...headers, ...extra, 'Content-Type': 'application/json'}, body)
  }
}
