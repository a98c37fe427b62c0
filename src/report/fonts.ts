// A font for figure text. @napi-rs/canvas (Skia) scans the system font folders itself but ships no
// font, so a machine without any (a bare Debian image) needs `apt-get install fonts-dejavu-core`, or
// BELLM_FONT=/path/to/font.ttf.
import { existsSync } from 'node:fs';
import { GlobalFonts } from '@napi-rs/canvas';
import { UserError } from '../errors.ts';

const PREFERRED = 'DejaVu Sans';
const ALIAS = 'bellm-report-sans';
const CANDIDATES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', // Debian/Ubuntu fonts-dejavu-core
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',          // Fedora/Alpine
  '/usr/share/fonts/TTF/DejaVuSans.ttf',             // Arch
  '/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf',
  '/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf',
  '/Library/Fonts/Arial.ttf',
  '/System/Library/Fonts/Supplemental/Arial.ttf',
  'C:\\Windows\\Fonts\\arial.ttf',
];

let family: string | null = null;

/** The font family figures use; registers one if Skia found none. Throws a UserError when there is none. */
export function figureFont(): string {
  if (family) return family;
  const env = process.env.BELLM_FONT;
  if (env) {
    if (!existsSync(env) || !GlobalFonts.registerFromPath(env, ALIAS)) throw new UserError(`BELLM_FONT=${env}: not a readable font file; point it at a .ttf/.otf or unset it`);
    return (family = ALIAS);
  }
  if (GlobalFonts.has(PREFERRED)) return (family = PREFERRED);
  for (const p of CANDIDATES) {
    if (existsSync(p) && GlobalFonts.registerFromPath(p, ALIAS)) return (family = ALIAS);
  }
  const any = GlobalFonts.families[0]?.family;
  if (any) return (family = any);
  throw new UserError('figures: no font found to draw text; install one (Debian/Ubuntu: apt-get install fonts-dejavu-core) or set BELLM_FONT=/path/to/font.ttf');
}
