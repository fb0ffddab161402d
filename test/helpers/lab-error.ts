// The LabError a promise rejects with; anything else (a resolve, a plain Error) fails the test.
import { expect } from 'vitest';
import { LabError } from '../../electron/common/errors';

export async function rejection(promise: Promise<unknown>): Promise<LabError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(LabError);
    return error as LabError;
  }
  throw new Error('expected a rejection');
}
