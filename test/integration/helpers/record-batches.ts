/**
 * Reads a partition's record batches as the broker stores and serves them, over a raw Fetch
 * request (v4, plain TCP), without any Kafka client: their compression codec (the batch's
 * attributes) and size are what the producer sent, which no client's decoded messages show.
 * Plaintext brokers only (the suite's local Kafka).
 */
import { connect } from 'node:net';
import { within } from '../../../src/adapters/deadline.js';

export const batchCodecs = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

export interface RecordBatchInfo {
  baseOffset: bigint;
  /** Records in the batch. */
  records: number;
  codec: (typeof batchCodecs)[number];
  /** The whole batch as stored, header included. */
  bytes: number;
}

const fetchApiKey = 1;
const fetchVersion = 4;

function fetchRequest(correlationId: number, topic: string, partition: number, offset: bigint): Buffer {
  const clientId = Buffer.from('fleetview-batch-reader');
  const topicName = Buffer.from(topic);
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length + 4 + 4 + 4 + 4 + 1 + 4 + 2 + topicName.length + 4 + 4 + 8 + 4);
  let at = 0;
  at = body.writeInt16BE(fetchApiKey, at);
  at = body.writeInt16BE(fetchVersion, at);
  at = body.writeInt32BE(correlationId, at);
  at = body.writeInt16BE(clientId.length, at);
  at += clientId.copy(body, at);
  at = body.writeInt32BE(-1, at); // replica id: a consumer
  at = body.writeInt32BE(100, at); // max wait ms
  at = body.writeInt32BE(1, at); // min bytes
  at = body.writeInt32BE(64 * 1024 * 1024, at); // max bytes
  at = body.writeInt8(0, at); // isolation: read uncommitted
  at = body.writeInt32BE(1, at); // one topic
  at = body.writeInt16BE(topicName.length, at);
  at += topicName.copy(body, at);
  at = body.writeInt32BE(1, at); // one partition
  at = body.writeInt32BE(partition, at);
  at = body.writeBigInt64BE(offset, at);
  body.writeInt32BE(16 * 1024 * 1024, at); // partition max bytes
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/** One request, one response frame (size-prefixed), within `timeoutMs`. */
async function roundTrip(broker: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
  const [host, port] = [broker.slice(0, broker.lastIndexOf(':')), Number(broker.slice(broker.lastIndexOf(':') + 1))];
  const socket = connect({ host, port });
  try {
    return await within(
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let received = 0;
        let frameBytes: number | undefined; // the size prefix, once its 4 bytes are in
        socket.on('error', reject);
        socket.on('close', () => reject(new Error(`${broker} closed the connection before answering the Fetch`)));
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          received += chunk.length;
          if (frameBytes === undefined && received >= 4) frameBytes = Buffer.concat(chunks).readInt32BE(0);
          if (frameBytes !== undefined && received >= 4 + frameBytes) resolve(Buffer.concat(chunks).subarray(4, 4 + frameBytes));
        });
        socket.write(request);
      }),
      timeoutMs,
      `a raw Fetch from ${broker}`,
    );
  } finally {
    socket.destroy();
  }
}

/** Every record batch of `topic`'s `partition` up to its high watermark, in offset order. */
export async function readRecordBatches(broker: string, topic: string, partition = 0, timeoutMs = 30_000): Promise<RecordBatchInfo[]> {
  const deadline = Date.now() + timeoutMs;
  const batches: RecordBatchInfo[] = [];
  let offset = 0n;
  for (let correlationId = 1; ; correlationId++) {
    if (Date.now() > deadline) throw new Error(`reading the record batches of ${topic}/${partition} took over ${timeoutMs} ms`);
    const response = await roundTrip(broker, fetchRequest(correlationId, topic, partition, offset), Math.max(1, deadline - Date.now()));
    // correlation id, throttle ms, 1 topic (name), 1 partition: index, error, high watermark,
    // last stable offset, aborted transactions (nullable array), records (nullable bytes).
    let at = 4 + 4 + 4;
    at += 2 + response.readInt16BE(at);
    at += 4 + 4;
    const errorCode = response.readInt16BE(at);
    if (errorCode !== 0) throw new Error(`Fetch of ${topic}/${partition} at offset ${offset}: Kafka error code ${errorCode}`);
    const highWatermark = response.readBigInt64BE(at + 2);
    at += 2 + 8 + 8;
    const aborted = response.readInt32BE(at);
    at += 4 + Math.max(0, aborted) * 16;
    const recordsLength = response.readInt32BE(at);
    at += 4;
    const end = at + Math.max(0, recordsLength);
    // Batches: base offset (8), length (4), leader epoch (4), magic (1), crc (4), attributes (2),
    // last offset delta (4) ...; the last one may be cut short by the fetch size.
    while (at + 12 <= end) {
      const length = response.readInt32BE(at + 8);
      if (at + 12 + length > end) break;
      const baseOffset = response.readBigInt64BE(at);
      const magic = response.readInt8(at + 16);
      if (magic !== 2) throw new Error(`record batch at offset ${baseOffset}: magic ${magic}, expected 2`);
      const codec = batchCodecs[response.readInt16BE(at + 21) & 0x7];
      if (codec === undefined) throw new Error(`record batch at offset ${baseOffset}: unknown compression ${response.readInt16BE(at + 21) & 0x7}`);
      const lastOffsetDelta = response.readInt32BE(at + 23);
      // ... first timestamp (8), max timestamp (8), producer id (8), epoch (2), base sequence (4), records count (4).
      batches.push({ baseOffset, records: response.readInt32BE(at + 57), codec, bytes: 12 + length });
      offset = baseOffset + BigInt(lastOffsetDelta) + 1n;
      at += 12 + length;
    }
    if (offset >= highWatermark) return batches;
  }
}
