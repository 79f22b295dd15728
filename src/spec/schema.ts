import {z} from 'zod'
import {BudgetSyntaxError, parseBudget, type Budget} from './budgets.js'
import {ARCHITECTURES, environmentBytes, LAMBDA_LIMITS, LAMBDA_NODE_RUNTIMES, ROLE_ARN} from './limits.js'

const {memoryMb, timeoutSeconds, ephemeralStorageMb, functionName} = LAMBDA_LIMITS

/** Environment variable names Lambda reserves; a function may not set them (AWS docs configuration-envvars.html). */
export const RESERVED_ENV_KEYS = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
])

/**
 * What each field expects, in words; validation errors quote it next to what was found. The schema
 * below is the single source of the rules, this is their description.
 */
export const FIELD_EXPECTATIONS: Record<string, string> = {
  name: `a function name: 1–${functionName.maxLength} letters, digits, hyphens or underscores`,
  model: 'a path to an .onnx file, relative to the spec file',
  handler: 'a handler as Lambda names it, "<module path>.<export>", e.g. "handler.handler" for handler.mjs exporting `handler`',
  bootstrap: 'a command that runs the function runtime (a custom runtime, like Lambda\'s provided.al2023 `bootstrap`), as a string or a list of arguments',
  memory: `an integer from ${memoryMb.min} to ${memoryMb.max} (MB)`,
  timeout: `an integer from ${timeoutSeconds.min} to ${timeoutSeconds.max} (seconds)`,
  ephemeralStorage: `an integer from ${ephemeralStorageMb.min} to ${ephemeralStorageMb.max} (MB)`,
  architecture: `one of ${ARCHITECTURES.join(', ')}`,
  runtime: `one of ${LAMBDA_NODE_RUNTIMES.join(', ')}`,
  environment: `a map of variable names ([a-zA-Z][a-zA-Z0-9_]*) to string values, at most ${LAMBDA_LIMITS.environmentBytes} bytes in all written as JSON (as Lambda measures them), none of Lambda's reserved names`,
  role: 'an IAM role ARN, arn:aws:iam::<account>:role/<name> (the execution role sai deploy gives the function)',
  reservedConcurrency: 'an integer ≥ 0 (0 throttles every invoke)',
  provisionedConcurrency: 'an integer ≥ 0, not above reservedConcurrency',
  batch: 'an integer ≥ 1: the largest batch one invoke may carry',
  intraOpNumThreads: 'an integer from 1 to 64 (onnxruntime intra-op threads; default: the vCPUs Lambda gives the memory size)',
  budgets: 'a map of metric to limit that `sai bench` enforces, e.g. {cold.p99: 1500ms, warm.p95: 50ms, errors: 0.1%}',
}

const envName = /^[a-zA-Z][a-zA-Z0-9_]*$/

export const functionSpecSchema = z
  .strictObject({
    name: z.string().min(1).max(functionName.maxLength).regex(functionName.pattern),
    model: z.string().min(1).optional(),
    handler: z.string().regex(/^[^\s]+\.[A-Za-z_$][\w$]*$/).optional(),
    bootstrap: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    memory: z.int().min(memoryMb.min).max(memoryMb.max).default(1024),
    timeout: z.int().min(timeoutSeconds.min).max(timeoutSeconds.max).default(30),
    ephemeralStorage: z.int().min(ephemeralStorageMb.min).max(ephemeralStorageMb.max).default(512),
    architecture: z.enum(ARCHITECTURES).default('x86_64'),
    runtime: z.enum(LAMBDA_NODE_RUNTIMES).default('nodejs22.x'),
    environment: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .superRefine((env, ctx) => {
        for (const key of Object.keys(env)) {
          if (!envName.test(key)) ctx.addIssue({code: 'custom', path: [key], message: `expected a variable name ([a-zA-Z][a-zA-Z0-9_]*), not "${key}"`})
          else if (RESERVED_ENV_KEYS.has(key)) ctx.addIssue({code: 'custom', path: [key], message: `expected a name not reserved by Lambda ("${key}" is set by Lambda itself)`})
        }
        const bytes = environmentBytes(env)
        if (bytes > LAMBDA_LIMITS.environmentBytes) {
          ctx.addIssue({code: 'custom', message: `expected at most ${LAMBDA_LIMITS.environmentBytes} bytes written as JSON (Lambda's 4 KB), found ${bytes} bytes in`})
        }
      })
      .default({}),
    role: z.string().regex(ROLE_ARN).optional(),
    reservedConcurrency: z.int().min(0).optional(),
    provisionedConcurrency: z.int().min(0).default(0),
    batch: z.int().min(1).optional(),
    intraOpNumThreads: z.int().min(1).max(64).optional(),
    budgets: z
      .record(z.string(), z.union([z.string(), z.number()]))
      .transform((raw, ctx) => {
        const budgets: Budget[] = []
        for (const [metric, limit] of Object.entries(raw)) {
          try {
            budgets.push(parseBudget(metric, limit))
          } catch (error) {
            if (!(error instanceof BudgetSyntaxError)) throw error
            ctx.addIssue({code: 'custom', path: [metric], message: error.message})
          }
        }
        return budgets
      })
      .default([]),
  })
  .refine((spec) => spec.model !== undefined || spec.handler !== undefined || spec.bootstrap !== undefined, {
    message: 'expected a model, a handler, or a bootstrap (a function needs at least one)',
    path: ['model'],
  })
  .refine((spec) => spec.reservedConcurrency === undefined || spec.provisionedConcurrency <= spec.reservedConcurrency, {
    message: 'expected at most reservedConcurrency (provisioned concurrency cannot exceed reservedConcurrency)',
    path: ['provisionedConcurrency'],
  })

export type ParsedFunctionSpec = z.output<typeof functionSpecSchema>
