/**
 * A concurrent cross-DC workload: three people registered in each DC, each talking through their
 * own DC (REST or WebSocket) in direct conversations and groups homed in both DCs. Every send is
 * retried with the same clientMsgId until it is acked, and every ack is recorded.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as pause } from 'node:timers/promises';
import { RestSender, WsSender, type Sender } from '../crash/senders.js';
import { DC_IDS, type DcId, type MultiDc } from '../support/multidc.js';
import { eventually } from '../support/waits.js';
import type { AckedSend } from './checks.js';

export interface Person {
  name: string;
  dc: DcId;
  userId: string;
  username: string;
  token: string;
}

export interface Conversation {
  conversationId: string;
  home: DcId;
  members: Person[];
}

/** Between two attempts of one send: the fault lasts seconds, so tens of retries per send are plenty. */
const RETRY_PAUSE_MS = 100;

const isHomeUnavailable = (error: unknown) => /home_dc_unavailable/.test(String(error));

/** Registers and logs in at the person's own DC. */
export async function register(stack: MultiDc, dc: DcId, name: string): Promise<Person> {
  const user = await stack.dc[dc].api.user(name);
  return { name, dc, ...user };
}

/** Resolves once `dc` knows `person` (their registration replicated there). */
export async function known(stack: MultiDc, dc: DcId, person: Person): Promise<void> {
  await eventually(
    `${person.name} (${person.dc}) known in ${dc}`,
    () => stack.dc[dc].api.request('GET', `/v1/users?username=${encodeURIComponent(person.username)}`, { token: person.token }),
    (res) => res.status === 200,
  );
}

/** The home of a direct conversation: the home of the lower of its two user ids. */
export const directHome = (a: Person, b: Person): DcId => (a.userId < b.userId ? a : b).dc;

/** Creates a conversation through the creator's own DC (forwarded when its home is the other DC). */
export async function createConversation(stack: MultiDc, creator: Person, others: Person[], title?: string): Promise<Conversation> {
  for (const other of others) await known(stack, creator.dc, other);
  const body = title ? { kind: 'group', title, memberIds: others.map((o) => o.userId) } : { kind: 'direct', memberId: others[0]!.userId };
  const res = await stack.dc[creator.dc].api.request('POST', '/v1/conversations', { token: creator.token, body });
  if (res.status !== 201 && res.status !== 200) throw new Error(`create conversation at ${creator.dc}: ${res.status} ${JSON.stringify(res.body)}`);
  return { conversationId: res.body.conversationId, home: title ? creator.dc : directHome(creator, others[0]!), members: [creator, ...others] };
}

export interface Workload {
  people: Person[];
  conversations: Conversation[];
  acked: AckedSend[];
  /** Sends answered 503 home_dc_unavailable (then retried), by the sender's DC. */
  homeUnavailable: Record<DcId, number>;
  /** Resolves once `count` more sends were acked than when it was called. */
  progress(count: number): Promise<void>;
  /** Stops starting new sends, waits until every send in flight was acked, and closes the sockets. */
  stop(): Promise<void>;
  /** Gives up at once, sends in flight included: for a test that already failed. */
  abandon(): void;
}

/** Six people, five conversations (three direct across DCs, a group homed in each DC). */
export async function setUpConversations(stack: MultiDc): Promise<{ people: Person[]; conversations: Conversation[] }> {
  const people = await Promise.all(DC_IDS.flatMap((dc) => [1, 2, 3].map((n) => register(stack, dc, `${dc}p${n}`))));
  const [a1, a2, a3, b1, b2, b3] = people as [Person, Person, Person, Person, Person, Person];
  const conversations = [
    await createConversation(stack, a1, [b1]),
    await createConversation(stack, b2, [a2]),
    await createConversation(stack, a3, [b3]),
    await createConversation(stack, a1, [a2, b1, b2], 'homed in dc1'),
    await createConversation(stack, b1, [b3, a1, a3], 'homed in dc2'),
  ];
  return { people, conversations };
}

/** Starts every person sending, each through their own DC, round-robin over their conversations. */
export function startWorkload(stack: MultiDc, people: Person[], conversations: Conversation[]): Workload {
  const acked: AckedSend[] = [];
  const homeUnavailable: Record<DcId, number> = { dc1: 0, dc2: 0 };
  let stopping = false;
  let abandoned = false;

  const sendUntilAcked = async (sender: Sender, person: Person, conversationId: string, text: string) => {
    const clientMsgId = randomUUID();
    while (!abandoned) {
      try {
        const ack = await sender.send({ conversationId, clientMsgId, text });
        acked.push({ conversationId, senderId: person.userId, clientMsgId, ...ack });
        return;
      } catch (error) {
        if (isHomeUnavailable(error)) homeUnavailable[person.dc]++;
        await pause(RETRY_PAUSE_MS);
      }
    }
  };

  const senders: Sender[] = [];
  const loops = people.map(async (person, index) => {
    const dc = stack.dc[person.dc];
    // Every other person sends over WebSocket, the rest over REST: both paths forward.
    const sender = index % 2 ? new WsSender(dc.wsUrl, person.token) : new RestSender(dc.url, person.token);
    senders.push(sender);
    const own = conversations.filter((c) => c.members.includes(person));
    for (let n = 0; !stopping; n++) {
      await sendUntilAcked(sender, person, own[n % own.length]!.conversationId, `${person.name} #${n}`);
    }
  });

  return {
    people,
    conversations,
    acked,
    homeUnavailable,
    async progress(count) {
      const target = acked.length + count;
      await eventually(`${count} more acked sends`, async () => acked.length, (n) => n >= target);
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
      for (const sender of senders) sender.close();
    },
    abandon() {
      stopping = abandoned = true;
      for (const sender of senders) sender.close();
    },
  };
}
