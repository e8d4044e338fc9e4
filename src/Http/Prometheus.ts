import type { MetricPair } from "effect"
import { MetricState } from "effect"

// No @effect/* package renders Prometheus text, so this does: counters, gauges, histograms.

const name = (raw: string) => raw.replace(/[^a-zA-Z0-9_:]/g, "_")
const escapeText = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')
const labels = (
  tags: ReadonlyArray<{ readonly key: string; readonly value: string }>,
  extra?: readonly [string, string],
) => {
  const all = extra
    ? [...tags.map((t) => [t.key, t.value] as const), extra]
    : tags.map((t) => [t.key, t.value] as const)
  return all.length === 0 ? "" : `{${all.map(([k, v]) => `${name(k)}="${escapeText(v)}"`).join(",")}}`
}
const num = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN")

export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, { type: string; help: string; lines: Array<string> }>()
  const family = (metric: string, type: string, help: string | undefined) => {
    const f = families.get(metric) ?? { type, help: help ?? metric, lines: [] }
    families.set(metric, f)
    return f.lines
  }
  for (const { metricKey, metricState } of pairs) {
    const metric = name(metricKey.name)
    const help = metricKey.description._tag === "Some" ? metricKey.description.value : undefined
    if (MetricState.isCounterState(metricState)) {
      // Prometheus names counters *_total (Effect's own fiber counters are not)
      const counter = metric.endsWith("_total") ? metric : `${metric}_total`
      family(counter, "counter", help).push(`${counter}${labels(metricKey.tags)} ${num(Number(metricState.count))}`)
    } else if (MetricState.isGaugeState(metricState)) {
      family(metric, "gauge", help).push(`${metric}${labels(metricKey.tags)} ${num(Number(metricState.value))}`)
    } else if (MetricState.isHistogramState(metricState)) {
      const lines = family(metric, "histogram", help)
      for (const [bound, count] of metricState.buckets) {
        lines.push(`${metric}_bucket${labels(metricKey.tags, ["le", num(bound)])} ${count}`)
      }
      lines.push(`${metric}_bucket${labels(metricKey.tags, ["le", "+Inf"])} ${metricState.count}`)
      lines.push(`${metric}_sum${labels(metricKey.tags)} ${num(metricState.sum)}`)
      lines.push(`${metric}_count${labels(metricKey.tags)} ${metricState.count}`)
    }
  }
  return `${Array.from(families, ([metric, f]) => [`# HELP ${metric} ${escapeText(f.help)}`, `# TYPE ${metric} ${f.type}`, ...f.lines].join("\n")).join("\n")}\n`
}
