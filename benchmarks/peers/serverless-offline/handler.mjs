// No-op Lambda handler used as the benchmark workload.
export const handler = async () => ({ ok: true })
