/**
 * An error caused by the user's input (missing file, bad flag, wrong shape): printed as one line, no
 * stack. Line breaks in the message (say, from a parser quoting the user's bad text) become spaces, so
 * it stays one line whatever it quotes.
 */
export class UserError extends Error {
  override name = 'UserError';
  constructor(message: string) {
    super(message.replace(/[\r\n\u2028\u2029]+/g, ' '));
  }
}
