/** "Did you mean": the candidate nearest to a misspelt word, if it is near enough (edit distance ≤ 3). */
export function closestWord(word: string, candidates: readonly string[]): string | undefined {
  let best: {name: string; d: number} | undefined
  for (const name of candidates) {
    const d = editDistance(word.toLowerCase(), name.toLowerCase())
    if (!best || d < best.d) best = {name, d}
  }
  return best && best.d <= 3 ? best.name : undefined
}

function editDistance(a: string, b: string): number {
  const row = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const saved = row[j]!
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1))
      previous = saved
    }
  }
  return row[b.length]!
}
