export type * from './port.js';
export { expectedAfter, satisfiesExpected, type ExpectedRevision } from './expectedRevision.js';
