// Reads a V8 heap snapshot (as `node --heapsnapshot-signal` writes it) and answers where the memory
// is: bytes retained per constructor and the single objects that retain the most, from the dominator
// tree, as the Summary and Containment views of Chrome's DevTools do. It reads the file as bytes, so a
// snapshot of a heap far larger than the longest string V8 can hold still parses.
import { readFileSync } from "node:fs"

export interface HeapGraph {
  readonly nodeCount: number
  /** per node: type index, name (string index), self size, first edge */
  readonly type: Uint8Array
  readonly name: Uint32Array
  readonly selfSize: Float64Array
  readonly firstEdge: Uint32Array
  /** per edge: target node, and whether it is weak (not retaining) */
  readonly edgeTo: Uint32Array
  readonly edgeWeak: Uint8Array
  readonly nodeTypes: ReadonlyArray<string>
  readonly strings: ReadonlyArray<string>
}

/** The non-negative integers of a JSON array starting at `from` (just after its `[`). */
const readIntegers = (bytes: Buffer, from: number, count: number): Float64Array => {
  const out = new Float64Array(count)
  let i = from
  for (let n = 0; n < count; n++) {
    while (bytes[i]! < 48 || bytes[i]! > 57) i++
    let value = 0
    while (bytes[i]! >= 48 && bytes[i]! <= 57) value = value * 10 + (bytes[i++]! - 48)
    out[n] = value
  }
  return out
}

const sectionStart = (bytes: Buffer, key: string): number => {
  const at = bytes.indexOf(`"${key}":[`)
  if (at < 0) throw new Error(`not a V8 heap snapshot: no "${key}" section`)
  return at + key.length + 4
}

export const readHeapSnapshot = (path: string): HeapGraph => {
  const bytes = readFileSync(path)
  const header = JSON.parse(`${bytes.subarray(0, bytes.indexOf('"nodes":[')).toString().replace(/,\s*$/, "")}}`)
  const meta = header.snapshot.meta
  const nodeFields: Array<string> = meta.node_fields
  const edgeFields: Array<string> = meta.edge_fields
  const nodeCount: number = header.snapshot.node_count
  const edgeCount: number = header.snapshot.edge_count
  const nodes = readIntegers(bytes, sectionStart(bytes, "nodes"), nodeCount * nodeFields.length)
  const edges = readIntegers(bytes, sectionStart(bytes, "edges"), edgeCount * edgeFields.length)
  const strings: Array<string> = JSON.parse(
    bytes.subarray(sectionStart(bytes, "strings") - 1, bytes.lastIndexOf("]") + 1).toString(),
  )
  const nf = nodeFields.length
  const ef = edgeFields.length
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ["type", "name", "self_size", "edge_count"].map((f) =>
    nodeFields.indexOf(f),
  ) as [number, number, number, number]
  const [edgeTypeAt, toAt] = ["type", "to_node"].map((f) => edgeFields.indexOf(f)) as [number, number]
  const weak = (meta.edge_types[0] as Array<string>).indexOf("weak")
  const type = new Uint8Array(nodeCount)
  const name = new Uint32Array(nodeCount)
  const selfSize = new Float64Array(nodeCount)
  const firstEdge = new Uint32Array(nodeCount + 1)
  let edge = 0
  for (let n = 0; n < nodeCount; n++) {
    type[n] = nodes[n * nf + typeAt]!
    name[n] = nodes[n * nf + nameAt]!
    selfSize[n] = nodes[n * nf + sizeAt]!
    firstEdge[n] = edge
    edge += nodes[n * nf + edgeCountAt]!
  }
  firstEdge[nodeCount] = edge
  const edgeTo = new Uint32Array(edgeCount)
  const edgeWeak = new Uint8Array(edgeCount)
  for (let e = 0; e < edgeCount; e++) {
    edgeTo[e] = edges[e * ef + toAt]! / nf
    edgeWeak[e] = edges[e * ef + edgeTypeAt] === weak ? 1 : 0
  }
  return { nodeCount, type, name, selfSize, firstEdge, edgeTo, edgeWeak, nodeTypes: meta.node_types[0], strings }
}

/**
 * The immediate dominator of every node reachable from the root (node 0) over retaining edges, and
 * the nodes in DFS postorder (Cooper, Harvey and Kennedy's iterative algorithm).
 */
export const dominators = (g: HeapGraph): { readonly idom: Int32Array; readonly postorder: Uint32Array } => {
  const { nodeCount, firstEdge, edgeTo, edgeWeak } = g
  const order = new Int32Array(nodeCount).fill(-1) // postorder number
  const postorder = new Uint32Array(nodeCount)
  let visited = 0
  const stack = new Uint32Array(nodeCount)
  const cursor = new Uint32Array(nodeCount)
  const seen = new Uint8Array(nodeCount)
  let top = 0
  stack[top++] = 0
  seen[0] = 1
  cursor[0] = firstEdge[0]!
  while (top > 0) {
    const n = stack[top - 1]!
    if (cursor[n]! < firstEdge[n + 1]!) {
      const e = cursor[n]!++
      const to = edgeTo[e]!
      if (edgeWeak[e] === 0 && seen[to] === 0) {
        seen[to] = 1
        cursor[to] = firstEdge[to]!
        stack[top++] = to
      }
    } else {
      top--
      order[n] = visited
      postorder[visited++] = n
    }
  }
  // predecessors of each reachable node, over retaining edges
  const predCount = new Uint32Array(nodeCount + 1)
  for (let n = 0; n < nodeCount; n++) {
    if (seen[n] === 0) continue
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (edgeWeak[e] === 0) predCount[edgeTo[e]! + 1]!++
  }
  for (let n = 0; n < nodeCount; n++) predCount[n + 1]! += predCount[n]!
  const preds = new Uint32Array(predCount[nodeCount]!)
  const fill = predCount.slice(0, nodeCount)
  for (let n = 0; n < nodeCount; n++) {
    if (seen[n] === 0) continue
    for (let e = firstEdge[n]!; e < firstEdge[n + 1]!; e++) if (edgeWeak[e] === 0) preds[fill[edgeTo[e]!]!++] = n
  }
  const idom = new Int32Array(nodeCount).fill(-1)
  idom[0] = 0
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (order[a]! < order[b]!) a = idom[a]!
      while (order[b]! < order[a]!) b = idom[b]!
    }
    return a
  }
  for (let changed = true; changed; ) {
    changed = false
    for (let i = visited - 2; i >= 0; i--) {
      const n = postorder[i]!
      let next = -1
      for (let p = predCount[n]!; p < predCount[n + 1]!; p++) {
        const pred = preds[p]!
        if (idom[pred] === -1) continue
        next = next === -1 ? pred : intersect(pred, next)
      }
      if (next !== idom[n]) {
        idom[n] = next
        changed = true
      }
    }
  }
  return { idom, postorder: postorder.subarray(0, visited) }
}

/** What DevTools calls a node's constructor: the class of an object, otherwise its kind. */
export const className = (g: HeapGraph, n: number): string => {
  const kind = g.nodeTypes[g.type[n] ?? 0]!
  if (kind === "object" || kind === "native") return g.strings[g.name[n] ?? 0]!
  if (kind.endsWith("string")) return "(string)"
  return `(${kind})`
}

export interface HeapSummary {
  readonly totalBytes: number
  /** per constructor: instances, their own bytes, and what they retain (nested instances counted once) */
  readonly classes: ReadonlyArray<{ name: string; count: number; selfBytes: number; retainedBytes: number }>
  /** the objects that retain the most, each with the objects that retain it */
  readonly largest: ReadonlyArray<{ name: string; retainedBytes: number; path: string }>
}

export const summarize = (g: HeapGraph, top = 25): HeapSummary => {
  const { idom, postorder } = dominators(g)
  const retained = new Float64Array(g.nodeCount)
  for (const n of postorder) {
    retained[n]! += g.selfSize[n]!
    if (n !== 0) retained[idom[n]!]! += retained[n]!
  }
  // class of every node, as a small integer
  const classIds = new Map<string, number>()
  const classNames: Array<string> = []
  const classOf = new Uint32Array(g.nodeCount)
  for (const n of postorder) {
    const name = className(g, n)
    let id = classIds.get(name)
    if (id === undefined) {
      id = classNames.length
      classIds.set(name, id)
      classNames.push(name)
    }
    classOf[n] = id
  }
  const count = new Float64Array(classNames.length)
  const selfBytes = new Float64Array(classNames.length)
  const retainedBytes = new Float64Array(classNames.length)
  // walk the dominator tree from the root, counting an instance's retained bytes only when no
  // instance of its class dominates it (nested instances are counted once)
  const childStart = new Uint32Array(g.nodeCount + 1)
  for (const n of postorder) if (n !== 0) childStart[idom[n]! + 1]!++
  for (let n = 0; n < g.nodeCount; n++) childStart[n + 1]! += childStart[n]!
  const children = new Uint32Array(postorder.length)
  const fill = childStart.slice(0, g.nodeCount)
  for (const n of postorder) if (n !== 0) children[fill[idom[n]!]!++] = n
  const open = new Uint32Array(classNames.length)
  const stack: Array<number> = [0]
  while (stack.length > 0) {
    const entry = stack.pop()!
    if (entry < 0) {
      open[classOf[~entry]!]!--
      continue
    }
    const c = classOf[entry]!
    count[c]!++
    selfBytes[c]! += g.selfSize[entry]!
    if (open[c] === 0 && entry !== 0) retainedBytes[c]! += retained[entry]!
    open[c]!++
    stack.push(~entry)
    for (let i = childStart[entry]!; i < childStart[entry + 1]!; i++) stack.push(children[i]!)
  }
  const classes = classNames.map((name, c) => ({
    name,
    count: count[c]!,
    selfBytes: selfBytes[c]!,
    retainedBytes: retainedBytes[c]!,
  }))
  const nameOf = (n: number) => classNames[classOf[n] ?? 0]!
  const synthetic = g.nodeTypes.indexOf("synthetic")
  const candidates = [...postorder]
    .filter((n) => n !== 0 && g.type[n] !== synthetic)
    .sort((a, b) => retained[b]! - retained[a]!)
  const largest = candidates.slice(0, top).map((n) => {
    const chain: Array<string> = []
    for (let d = idom[n]!; d !== 0 && chain.length < 6; d = idom[d]!) chain.push(nameOf(d))
    return { name: nameOf(n), retainedBytes: retained[n]!, path: chain.join(" ← ") }
  })
  return {
    totalBytes: retained[0]!,
    classes: classes.sort((a, b) => b.retainedBytes - a.retainedBytes).slice(0, top),
    largest,
  }
}
