import { json } from '../answers.js';
import * as r from '../responses.js';
import { route } from '../route.js';
import * as s from '../schemas.js';
import type { ApiDeps } from './deps.js';

const ANALYTICS_DEFAULT_DAYS = 7;

/** Operators' endpoints, behind ADMIN_TOKEN. */
export function adminRoutes({ readStore }: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/v1/admin/analytics',
      summary: 'Messages per conversation per hour, daily active senders, busiest conversations (admin token)',
      auth: 'admin',
      query: s.analyticsQuery,
      status: 200,
      responses: { 200: json('The report', r.analytics) },
      async handler({ query }) {
        const since = query.since ?? new Date(Date.now() - ANALYTICS_DEFAULT_DAYS * 24 * 3600 * 1000).toISOString();
        return { body: { since, ...(await readStore.analytics({ since, limit: query.limit })) } };
      },
    }),
  ];
}
