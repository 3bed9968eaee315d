/**
 * What must hold after every cross-DC scenario, read straight from each DC's SQLite file (read-only,
 * while the apps run): both event stores hold the same streams, each DC's read models equal a
 * rebuild from its own store, and every acknowledged send is stored once at its acked seq.
 */
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { conversationStream } from '../../src/domain/streams.js';
import { checkProjections, countLost, recordStored, type TimelineReport } from '../crash/verify.js';
import { DC_IDS, type DcId, type MultiDc } from '../support/multidc.js';
import { eventually } from '../support/waits.js';

export interface StoredEvent {
  revision: number;
  eventId: string;
  type: string;
  data: unknown;
  metadata: unknown;
}

/** Every stream of a DC's event store, events in revision order. */
export function readStreams(dataDir: string): Map<string, StoredEvent[]> {
  const db = new Database(join(dataDir, 'chat.db'), { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare('SELECT stream_id, revision, event_id, type, data, metadata FROM events ORDER BY stream_id, revision')
      .all() as { stream_id: string; revision: number; event_id: string; type: string; data: string; metadata: string }[];
    const streams = new Map<string, StoredEvent[]>();
    for (const r of rows) {
      const events = streams.get(r.stream_id) ?? [];
      events.push({ revision: r.revision, eventId: r.event_id, type: r.type, data: JSON.parse(r.data), metadata: JSON.parse(r.metadata) });
      streams.set(r.stream_id, events);
    }
    return streams;
  } finally {
    db.close();
  }
}

/** One line per stream that differs between the two stores (missing, shorter, or another event at a revision). */
export function streamDifferences(a: Map<string, StoredEvent[]>, b: Map<string, StoredEvent[]>): string[] {
  const differences: string[] = [];
  for (const streamId of new Set([...a.keys(), ...b.keys()])) {
    const left = a.get(streamId) ?? [];
    const right = b.get(streamId) ?? [];
    const at = left.findIndex((e, i) => !isDeepStrictEqual(e, right[i]));
    if (at >= 0 || left.length !== right.length) {
      const revision = at >= 0 ? at : Math.min(left.length, right.length);
      differences.push(
        `${streamId}: ${left.length} vs ${right.length} events, first difference at revision ${revision}: ` +
          `${JSON.stringify(left[revision])?.slice(0, 300)} vs ${JSON.stringify(right[revision])?.slice(0, 300)}`,
      );
    }
  }
  return differences;
}

/**
 * Waits until dc1 and dc2 hold the same streams, event for event, and answers the streams that
 * still differ when the wait gives up (none once replication converged).
 */
export async function converge(stack: MultiDc): Promise<string[]> {
  const differences = () => streamDifferences(readStreams(stack.dc.dc1.dataDir), readStreams(stack.dc.dc2.dataDir));
  try {
    await eventually('dc1 and dc2 to hold the same streams', async () => differences(), (d) => d.length === 0);
  } catch {
    // The differences themselves are the report; the caller asserts on them.
  }
  return differences();
}

/** The read models of each DC that differ from a fresh rebuild from that DC's own event store. */
export async function readModelMismatches(stack: MultiDc, inboxPullThreshold: number): Promise<string[]> {
  const mismatches = await Promise.all(
    DC_IDS.map(async (id) => (await checkProjections(stack.dc[id].dataDir, inboxPullThreshold, stack.masterKey)).map((model) => `${id}: ${model}`)),
  );
  return mismatches.flat();
}

export interface AckedSend {
  conversationId: string;
  senderId: string;
  clientMsgId: string;
  messageId: string;
  seq: number;
}

const messageSent = z.object({ messageId: z.string(), senderId: z.string(), clientMsgId: z.string() });

/**
 * Checks one DC's store against the acks: every conversation's revisions run 0, 1, 2, … without a
 * gap, each (sender, clientMsgId) is stored once, and each acked send sits at its acked seq with its
 * acked messageId.
 */
export function checkHistory(streams: Map<string, StoredEvent[]>, conversationIds: Iterable<string>, acked: AckedSend[]): TimelineReport {
  const report: TimelineReport = { lost: 0, duplicated: 0, gaps: 0, problems: [] };
  const stored = new Map<string, { seq: number; messageId: string }>();
  for (const conversationId of conversationIds) {
    for (const [index, event] of (streams.get(conversationStream(conversationId)) ?? []).entries()) {
      if (event.revision !== index) {
        report.gaps++;
        report.problems.push(`${conversationId}: seq ${event.revision} where ${index} was due`);
      }
      if (event.type === 'MessageSent') recordStored(stored, report, conversationId, event.revision, messageSent.parse(event.data));
    }
  }
  countLost(stored, acked, report);
  return report;
}

export interface Verdict {
  acked: number;
  lost: number;
  duplicated: number;
  diverged: number;
  gaps: number;
  readModelMismatches: number;
  problems: string[];
}

/**
 * Everything this lane promises after a scenario: both DCs converged, each DC's read models equal
 * a rebuild, and every acked send is in both DCs exactly once at its seq. Prints the one-line summary.
 */
export async function verify(stack: MultiDc, conversationIds: string[], acked: AckedSend[], inboxPullThreshold: number): Promise<Verdict> {
  const differences = await converge(stack);
  const histories = DC_IDS.map((id: DcId) => {
    const report = checkHistory(readStreams(stack.dc[id].dataDir), conversationIds, acked);
    return { ...report, problems: report.problems.map((p) => `${id}: ${p}`) };
  });
  const mismatches = await readModelMismatches(stack, inboxPullThreshold);
  const worst = (pick: (r: TimelineReport) => number) => Math.max(...histories.map(pick));
  const verdict: Verdict = {
    acked: acked.length,
    lost: worst((r) => r.lost),
    duplicated: worst((r) => r.duplicated),
    diverged: differences.length,
    gaps: worst((r) => r.gaps),
    readModelMismatches: mismatches.length,
    problems: [...differences, ...histories.flatMap((r) => r.problems), ...mismatches.map((m) => `read model differs from a rebuild: ${m}`)],
  };
  console.log(`acked ${verdict.acked}, lost ${verdict.lost}, duplicated ${verdict.duplicated}, diverged ${verdict.diverged}`);
  return verdict;
}
