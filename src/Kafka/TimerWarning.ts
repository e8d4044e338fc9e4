// kafkajs 2.2.4, its last release, schedules its request-queue check with `throttledUntil - Date.now()`,
// a large negative delay when nothing is throttled. Node 24 and later print a TimeoutNegativeWarning
// for it (tulios/kafkajs#1751) and run the timer after 1 ms, which is what kafkajs meant. Only that
// warning is dropped; every other one is printed as before.
const emitWarning = process.emitWarning.bind(process)

process.emitWarning = ((warning: string | Error, ...rest: Array<unknown>) => {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string } | undefined)?.type
  const name = typeof warning === "string" ? type : warning.name
  if (name === "TimeoutNegativeWarning") return
  ;(emitWarning as (...args: Array<unknown>) => void)(warning, ...rest)
}) as typeof process.emitWarning
