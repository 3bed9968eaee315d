export { ConversationFeed, type ConversationFeedDeps, type FollowOptions } from './conversationFeed.js';
export { toFeedItem, type ConversationCache, type FeedItem } from './feedItem.js';
export type { FeedConsumer } from './follower.js';
