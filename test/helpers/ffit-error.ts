import { expect } from 'vitest';
import { FfitError } from '../../src/errors.js';

/** The error `fn` throws or rejects with (fails the test if it returns normally). */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  expect.fail('expected an FfitError, but nothing was thrown');
}

/** Asserts that `fn` throws (or rejects with) an FfitError of `code` whose message contains every fragment. */
export async function expectFfit(fn: () => unknown, code: string, ...fragments: (string | RegExp)[]): Promise<FfitError> {
  const error = await caught(fn);
  expect(error, String(error)).toBeInstanceOf(FfitError);
  const e = error as FfitError;
  expect(e.code, e.message).toBe(code);
  for (const f of fragments) {
    if (typeof f === 'string') expect(e.message).toContain(f);
    else expect(e.message).toMatch(f);
  }
  expect(e.message).not.toMatch(/\n/); // one line
  return e;
}
