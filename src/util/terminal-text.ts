// Text we read from files and archives (manifest fields, cache labels, tar entry names, settings
// values) is printed only through terminalText: a control character or escape sequence in it
// would otherwise act on the user's terminal (clear it, move the cursor, retitle the window).

export interface TerminalTextOptions {
  /** keep line feeds (text whose lines are all data, e.g. a file's contents); default: escape them */
  multiline?: boolean;
}

// C0 controls, DEL, C1 controls, and the Unicode line separators and bidirectional overrides
// that reorder or break what a reader sees
// eslint-disable-next-line no-control-regex -- matching control characters is this function's job
const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character shown as visible `\xNN` or `\uNNNN` text; tab stays, a line feed stays only when multiline. */
export function terminalText(text: string, options: TerminalTextOptions = {}): string {
  return text.replace(unsafe, (ch) => (ch === '\t' || (ch === '\n' && options.multiline) ? ch : escapeChar(ch)));
}
