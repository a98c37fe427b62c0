/** An error caused by the user's input (missing file, bad flag, wrong shape): printed as one line, no stack. */
export class UserError extends Error {
  override name = 'UserError';
}
