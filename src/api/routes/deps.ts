import type { ChatService } from '../../commands/service.js';
import type { Homes } from '../../datacenters/index.js';
import type { EventStore } from '../../eventstore/port.js';
import type { MediaLibrary } from '../../media/index.js';
import type { AnalyticsStore, ContactQueries, ConversationQueries, InboxQueries } from '../../projections/ports.js';
import type { TokenService } from '../auth.js';

/** What the routes are given. */
export interface ApiDeps {
  service: ChatService;
  store: EventStore;
  readStore: ConversationQueries & InboxQueries & Pick<ContactQueries, 'sharesConversation'> & Pick<AnalyticsStore, 'analytics'>;
  tokens: TokenService;
  presence: PresenceReader;
  media: MediaLibrary;
  /** Which datacenter each user belongs to: logging in elsewhere answers `wrong_dc`. */
  homes: Pick<Homes, 'misplaced'>;
}

/** Presence as the gateway tracks it. */
export interface PresenceReader {
  view(userId: string): Promise<{ online: boolean; lastSeenAt: string | null }>;
}
