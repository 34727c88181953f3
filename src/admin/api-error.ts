/** Stable machine codes of the admin API's problem+json errors; clients branch on these, never on text. */
export const API_ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, title: 'The request is not valid' },
  MALFORMED_JSON: { status: 400, title: 'The body is not valid JSON' },
  MALFORMED_REQUEST: { status: 400, title: 'The request is not valid HTTP' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request took too long to arrive' },
  CONFLICT: { status: 409, title: 'Conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The body must be application/json' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  SSRF_BLOCKED: { status: 422, title: 'The webhook URL is not allowed' },
  INTERNAL: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, { readonly status: number; readonly title: string }>;

export type ApiErrorCode = keyof typeof API_ERROR_CODES;

export interface FieldProblem {
  /** Dotted path of the field, e.g. `body.url` or `query.limit`. */
  readonly field: string;
  readonly message: string;
}

/** An admin API error; rendered as application/problem+json by the router, the one place that does. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly fields: readonly FieldProblem[];
  constructor(code: ApiErrorCode, detail: string, fields: readonly FieldProblem[] = []) {
    super(detail);
    this.code = code;
    this.status = API_ERROR_CODES[code].status;
    this.fields = fields;
  }
}

export function problemBody(error: ApiError, instance?: string): Record<string, unknown> {
  return {
    type: `https://bucketbell.dev/problems/${error.code.toLowerCase().replaceAll('_', '-')}`,
    title: API_ERROR_CODES[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.message,
    ...(instance === undefined ? {} : { instance }),
    ...(error.fields.length > 0 ? { errors: error.fields } : {}),
  };
}
