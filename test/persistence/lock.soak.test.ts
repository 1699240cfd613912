/**
 * Soak of the store lock race (lock-race.ts): 8 processes, 150 rounds on a store whose owner
 * was SIGKILLed mid-hold (each round starts a process: too slow for the normal suite, which
 * runs 20), and 300 rounds on fresh stores. Run with `npm run test:soak`.
 */
import { describe, expect, it } from 'vitest';
import { freshStoreRounds, killedOwnerRounds, modeNote, RACERS, useRacers } from './lock-race.js';

useRacers();

describe(`store lock soak: ${RACERS} racing processes (${modeNote})`, () => {
  it('150 rounds on a store whose owner was SIGKILLed mid-hold: exactly one owner each round', async () => {
    const { notOne, doubles } = await killedOwnerRounds(150);
    expect(doubles).toEqual([]);
    expect(notOne).toEqual([]);
  }, 600_000);

  it('300 rounds on fresh stores: exactly one owner each round', async () => {
    const { notOne, doubles } = await freshStoreRounds(300);
    expect(doubles).toEqual([]);
    expect(notOne).toEqual([]);
  }, 600_000);
});
