import { expect } from 'vitest';

/** Runs `fn`, expects it to throw an instance of `type`, and returns that error for further assertions. */
export function thrown<T extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => T): T {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(type);
    return e as T;
  }
  throw new Error(`expected ${type.name} to be thrown`);
}
