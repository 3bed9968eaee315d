import type { LastMessage } from '../domain/conversation.js';
import type { MessageKind } from '../domain/events.js';
import { parseStreamId } from '../domain/streams.js';

/*
 * What an erased account leaves behind. Its personal data is sealed with its own key (sealing.ts),
 * so once the key is gone every reader gets the same stand-ins: the events read as below, and the
 * read models are scrubbed to exactly what projecting those events gives, so a rebuild from
 * position 0 reaches the same documents as the live projections did.
 */

type Data = Record<string, unknown>;

interface PersonalFields {
  /** Whose personal data the fields are: the key that seals them is theirs. */
  owner(streamId: string, data: Data): string | undefined;
  /** The fields sealed in the event log. */
  fields: readonly string[];
  /** What replaces them once the owner is erased. */
  erased(data: Data): Data;
}

const streamOwner = (streamId: string) => {
  const parsed = parseStreamId(streamId);
  return parsed?.kind === 'user' ? parsed.id : undefined;
};
const named = (field: string) => (_streamId: string, data: Data) => data[field] as string | undefined;

/** A message's content emptied, as a recall empties it: only a location message has a location to empty. */
export const emptiedContent = (kind: MessageKind | undefined) => ({
  text: null,
  media: null,
  ...(kind === 'location' ? { location: null } : {}),
});

/** Message text, media and location; names, usernames and avatars; device tokens. Group titles are the group's. */
export const personalFields: Readonly<Record<string, PersonalFields>> = {
  MessageSent: {
    owner: named('senderId'),
    fields: ['text', 'media', 'location'],
    erased: (data) => ({ ...emptiedContent(data.kind as MessageKind | undefined), erased: true }),
  },
  MessageEdited: { owner: named('editorId'), fields: ['text'], erased: () => ({ text: null, erased: true }) },
  UserRegistered: { owner: named('userId'), fields: ['username', 'displayName'], erased: () => ({ username: '', displayName: '' }) },
  // UserErased empties the profile: an erased update changes nothing before it.
  ProfileUpdated: { owner: streamOwner, fields: ['displayName', 'avatar'], erased: () => ({}) },
  UsernameReserved: { owner: named('userId'), fields: ['username'], erased: () => ({ username: '' }) },
  DeviceRegistered: { owner: streamOwner, fields: ['token'], erased: () => ({ token: '' }) },
  DeviceRemoved: { owner: streamOwner, fields: ['token'], erased: () => ({ token: '' }) },
};

/** The user whose personal data an event of this type holds, or undefined when it holds none. */
export function ownerOf(streamId: string, type: string, data: unknown): string | undefined {
  return personalFields[type]?.owner(streamId, data as Data);
}

/** An event's data as it reads once its owner is erased: what is not personal, and the stand-ins. */
export function erasedEventData(type: string, data: Data): Data {
  const personal = personalFields[type];
  if (!personal) return data;
  const kept = Object.fromEntries(Object.entries(data).filter(([field]) => !personal.fields.includes(field) && field !== 'sealed'));
  return { ...kept, ...personal.erased(kept) };
}

/** A conversation list preview of an erased sender's message: its place and kind, nothing of its content. */
export function erasedPreview(preview: LastMessage): LastMessage {
  const { mime: _mime, ...rest } = preview;
  return { ...rest, text: null, erased: true };
}

export { erasedProfile } from '../domain/user.js';
