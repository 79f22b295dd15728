declare module 'madge' {
  interface MadgeResult {
    obj(): Record<string, string[]>
    circular(): string[][]
  }
  export default function madge(path: string, config?: Record<string, unknown>): Promise<MadgeResult>
}
