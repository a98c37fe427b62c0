// Library entry point.
export { UserError } from './errors.ts';
