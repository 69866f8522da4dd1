/** A coded error as the API reports it (no registry, no validator: the CLI's error output needs only this). */
import type { FractalError } from '../core/errors.js';
import type { ErrorInfo } from './types.js';

/** A coded error as plain data: code, exit code, message, hint, and where (file:line:col) when a param caused it. */
export function errorInfo(err: FractalError): ErrorInfo {
  return {
    code: err.code,
    exit_code: err.exitCode,
    message: err.message,
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err.location ? { location: err.location } : {}),
  };
}
