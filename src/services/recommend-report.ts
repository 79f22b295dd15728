/**
 * `sai recommend --html FILE`: the bench report the recommendation was made from, with the
 * recommendation as its first section, so the decision and the measurements travel in one file.
 */
import {writeFileSync} from 'node:fs'
import {renderHtmlReport} from '../bench/report/html.js'
import {renderRecommendationSection} from '../bench/report/recommend-html.js'
import type {BenchResult} from '../bench/result.js'
import type {RecommendResult} from '../recommend/result.js'

/** `bench`: the (merged) bench result `result` was decided from. */
export function renderRecommendReport(bench: BenchResult, result: RecommendResult): string {
  return renderHtmlReport(bench, {recommendation: renderRecommendationSection(result)})
}

export function writeRecommendReport(bench: BenchResult, result: RecommendResult, file: string): void {
  writeFileSync(file, renderRecommendReport(bench, result))
}
