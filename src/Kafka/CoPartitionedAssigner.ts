import { AssignerProtocol, type PartitionAssigner } from "kafkajs"

/**
 * Gives partition p of every subscribed topic to the same member: one order's created, cancelled
 * and fulfilled messages (keyed by the order id, with the same partition count) are decided by one
 * instance at a time, and that instance's fence for partition p covers all three.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: "CoPartitionedAssigner",
  version: 0,
  async assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort()
    const partitionsOf = (topic: string) => cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId)
    const numbers = [...new Set(topics.flatMap(partitionsOf))].sort((a, b) => a - b)
    const owner = new Map(numbers.map((p, i) => [p, memberIds[i % memberIds.length]!]))
    return memberIds.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: Object.fromEntries(
          topics.map((topic) => [topic, partitionsOf(topic).filter((p) => owner.get(p) === memberId)]),
        ),
        userData: Buffer.alloc(0),
      }),
    }))
  },
  protocol({ topics }) {
    return {
      name: "CoPartitionedAssigner",
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    }
  },
})
