// An answer of wangge's API that was not a success, with the fields of its JSON error
// (docs/api.md "Errors"). Shared by the dashboard and the field app; each serves it as its
// own file.
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
  }
}
