/**
 * The parts of a deploy only AWS has: the ECR repository an image goes to, a minimal execution role,
 * and Application Auto Scaling for provisioned concurrency. Clients take credentials and region from
 * the standard AWS chain (AWS_ENDPOINT_URL_<SERVICE> redirects them, as every AWS SDK honours).
 */
import type {AutoScalingSetting} from './plan.js'

// Each client loads when its step runs: a deploy to a local endpoint never loads ECR, IAM or Auto Scaling.

interface Step {
  dryRun?: boolean
  progress(message: string): void
}

/** The repository URI (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`), created when missing. */
export async function ensureEcrRepository(name: string, region: string, step: Step): Promise<string> {
  const {CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient} = await import('@aws-sdk/client-ecr')
  const ecr = new ECRClient({region})
  try {
    try {
      const found = await ecr.send(new DescribeRepositoriesCommand({repositoryNames: [name]}))
      return found.repositories![0]!.repositoryUri!
    } catch (error) {
      if ((error as Error).name !== 'RepositoryNotFoundException') throw error
    }
    if (step.dryRun) return `<account>.dkr.ecr.${region}.amazonaws.com/${name}`
    step.progress(`creating the ECR repository ${name}`)
    const created = await ecr.send(new CreateRepositoryCommand({repositoryName: name, imageTagMutability: 'MUTABLE'}))
    return created.repository!.repositoryUri!
  } finally {
    ecr.destroy()
  }
}

const TRUST_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{Effect: 'Allow', Principal: {Service: 'lambda.amazonaws.com'}, Action: 'sts:AssumeRole'}],
})
/** Logs to CloudWatch, nothing else: what a function needs to run and be observed. */
const BASIC_EXECUTION = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'

/** `--create-role`: `sai-<function>`, trusted by Lambda, with basic execution only; reused when it exists. */
export async function ensureRole(functionName: string, region: string, step: Step): Promise<string> {
  const roleName = `sai-${functionName}`.slice(0, 64)
  const {AttachRolePolicyCommand, CreateRoleCommand, GetRoleCommand, IAMClient} = await import('@aws-sdk/client-iam')
  const iam = new IAMClient({region})
  try {
    try {
      return (await iam.send(new GetRoleCommand({RoleName: roleName}))).Role!.Arn!
    } catch (error) {
      if ((error as Error).name !== 'NoSuchEntityException') throw error
    }
    if (step.dryRun) return `arn:aws:iam::<account>:role/${roleName}`
    step.progress(`creating the execution role ${roleName}`)
    const created = await iam.send(new CreateRoleCommand({RoleName: roleName, AssumeRolePolicyDocument: TRUST_POLICY, Description: `Execution role of ${functionName}, created by sai deploy`}))
    await iam.send(new AttachRolePolicyCommand({RoleName: roleName, PolicyArn: BASIC_EXECUTION}))
    return created.Role!.Arn!
  } finally {
    iam.destroy()
  }
}

const target = (functionName: string, alias: string) => ({
  ServiceNamespace: 'lambda' as const,
  ResourceId: `function:${functionName}:${alias}`,
  ScalableDimension: 'lambda:function:ProvisionedConcurrency' as const,
})
const policyName = (functionName: string, alias: string) => `sai-${functionName}-${alias}-utilization`

export async function autoScalingState(functionName: string, alias: string, region: string): Promise<AutoScalingSetting | undefined> {
  const {ApplicationAutoScalingClient, DescribeScalableTargetsCommand, DescribeScalingPoliciesCommand} = await import('@aws-sdk/client-application-auto-scaling')
  const client = new ApplicationAutoScalingClient({region})
  try {
    const t = target(functionName, alias)
    const targets = await client.send(new DescribeScalableTargetsCommand({ServiceNamespace: t.ServiceNamespace, ResourceIds: [t.ResourceId], ScalableDimension: t.ScalableDimension}))
    const registered = targets.ScalableTargets?.[0]
    if (!registered) return undefined
    const policies = await client.send(new DescribeScalingPoliciesCommand({...t, PolicyNames: [policyName(functionName, alias)]}))
    const value = policies.ScalingPolicies?.[0]?.TargetTrackingScalingPolicyConfiguration?.TargetValue
    if (value === undefined) return undefined
    return {targetValue: value, minCapacity: registered.MinCapacity!, maxCapacity: registered.MaxCapacity!}
  } finally {
    client.destroy()
  }
}

/** Target tracking on LambdaProvisionedConcurrencyUtilization, as sai recommend sized it. */
export async function putAutoScaling(functionName: string, alias: string, setting: AutoScalingSetting, region: string): Promise<void> {
  const {ApplicationAutoScalingClient, PutScalingPolicyCommand, RegisterScalableTargetCommand} = await import('@aws-sdk/client-application-auto-scaling')
  const client = new ApplicationAutoScalingClient({region})
  try {
    const t = target(functionName, alias)
    await client.send(new RegisterScalableTargetCommand({...t, MinCapacity: setting.minCapacity, MaxCapacity: setting.maxCapacity}))
    await client.send(
      new PutScalingPolicyCommand({
        ...t,
        PolicyName: policyName(functionName, alias),
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {TargetValue: setting.targetValue, PredefinedMetricSpecification: {PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization'}},
      }),
    )
  } finally {
    client.destroy()
  }
}
