// Errors cross every process boundary as plain data; LabError is the in-process form.

export const errorCodes = [
  'BAD_REQUEST',
  'UNKNOWN_METHOD',
  'FORBIDDEN',
  'NOT_FOUND',
  'TOOL_MISSING',
  'PORT_BUSY',
  'CANCELLED',
  'TIMEOUT',
  'IO',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

export interface LabErrorData {
  code: ErrorCode;
  message: string;
  /** What the user can do about it, e.g. the command that installs a missing tool. */
  hint: string | null;
}

export type Result<T> = { ok: true; result: T } | { ok: false; error: LabErrorData };

export class LabError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | null;

  constructor(code: ErrorCode, message: string, hint: string | null = null) {
    super(message);
    this.name = 'LabError';
    this.code = code;
    this.hint = hint;
  }

  toData(): LabErrorData {
    return { code: this.code, message: this.message, hint: this.hint };
  }

  static fromData(data: LabErrorData): LabError {
    return new LabError(data.code, data.message, data.hint);
  }
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'CancelledError');
}

/** Turns anything thrown into error data; unknown errors keep their message but say they are internal. */
export function toErrorData(error: unknown): LabErrorData {
  if (error instanceof LabError) return error.toData();
  if (isAbortError(error)) return { code: 'CANCELLED', message: 'The operation was cancelled.', hint: null };
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: 'INTERNAL',
    message,
    hint: 'This is a kdlab bug; the job log has the details. Please report it.',
  };
}

export function isLabErrorData(value: unknown): value is LabErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.code === 'string' &&
    (errorCodes as readonly string[]).includes(v.code) &&
    typeof v.message === 'string' &&
    (v.hint === null || typeof v.hint === 'string')
  );
}
