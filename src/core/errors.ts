/** Errors shared by every layer: bad user input that names the parameter, the value and the fix. */

/**
 * A user-supplied parameter is invalid. Carries the parameter name and the value so that
 * front ends (the CLI maps this to exit code 2) can tell bad input from runtime failures.
 */
export class ParameterError extends Error {
  readonly parameter: string;
  readonly value: unknown;
  constructor(parameter: string, value: unknown, message: string) {
    super(message);
    this.name = 'ParameterError';
    this.parameter = parameter;
    this.value = value;
  }
}

/** Short, readable rendering of a received value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 77) + '...' : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return `a value of type ${typeof value}`;
}

