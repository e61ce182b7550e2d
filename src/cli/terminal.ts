// Terminal safety for text that came from a guest binary or a trace file (symbol names, argv,
// paths, fetched strings, task names, SQL values, error messages that quote them).
// Guarantees:
// - escapeControls() is THE escaping function of every message and table the tools print
//   themselves (the HTML report has its own markup escaping); guest stdout/stderr never go
//   through it: they pass through unchanged, as they would natively.
// - Its output contains no C0 control (U+0000..U+001F), no DEL, no C1 control (U+0080..U+009F,
//   which some terminals read as CSI/OSC), no line or paragraph separator and no bidirectional
//   override, so a hostile name can neither move the cursor, retitle the window, forge a line
//   nor reorder what is shown. Each such character becomes a visible `\xHH` (`\uHHHH` above
//   U+00FF), the way `ls -b` and systemd show untrusted names. Backslashes are kept, so the
//   function is idempotent and JSON or C strings quoted in messages stay readable.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;

function escapeOne(ch: string): string {
  const c = ch.charCodeAt(0);
  return c <= 0xff ? `\\x${c.toString(16).padStart(2, '0')}` : `\\u${c.toString(16).padStart(4, '0')}`;
}

/** `s` with every control character shown as `\xHH` (see the header); '\n' is escaped too. */
export function escapeControls(s: string): string {
  return s.replace(UNSAFE, escapeOne);
}

/** Escapes each line of a multi-line message of the tool's own (its line breaks are kept). */
export function escapeLines(s: string): string {
  return s.split('\n').map(escapeControls).join('\n');
}

/** Whether `s` holds a character escapeControls() would escape (tests and assertions). */
export function hasControls(s: string): boolean {
  UNSAFE.lastIndex = 0;
  const r = UNSAFE.test(s);
  UNSAFE.lastIndex = 0;
  return r;
}
