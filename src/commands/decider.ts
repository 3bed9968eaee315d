/**
 * An aggregate as three pure pieces. One generic handler (commandHandler.ts) loads, decides,
 * appends with the expected revision and retries; it is written once for every aggregate.
 */
export interface Decider<State, Command, Event> {
  initialState(id: string): State;
  decide(state: State, command: Command): Event[];
  evolve(state: State, event: Event, seq: number, at: string): State;
}
